/*
 * tiled_driver.js - test driver for plugins/tiled/manifold.js, run inside a real Tiled.
 *
 * tests/plugins/test_tiled_extension.py copies this file and the extension into the extensions
 * folder of a temporary HOME and starts Tiled offscreen. Once Tiled's event loop runs, the driver
 * plays the steps in the JSON file named by $MANIFOLD_TEST_PLAN, writes what happened to the JSON
 * file named by $MANIFOLD_TEST_LOG, and quits Tiled.
 *
 * A plan: {"steps": [{"open": "a.tsx"}, {"answers": ["32"], "trigger": "ManifoldUpscaleTileset"},
 *                    {"select_tileset": "fix"}, ...]}
 * "answers" are given, in order, to the extension's dialogs (prompt and confirm) instead of a user.
 * A prompt answered null is a Cancel, and returns "" as tiled.prompt does (QInputDialog::getText
 * gives a null QString on Cancel: src/tiled/scriptmodule.cpp ScriptModule::prompt); a confirm
 * answered anything but true is No.
 * {"eval": "JS"} runs JS as a function body with `ext` (the extension's object) and stores its
 * value; {"windows": {"USERPROFILE": ...}} makes the extension see Windows and that environment.
 */

/* global tiled, Process, TextFile, Qt, manifoldExtension */

(function () {
    "use strict";

    var env = new Process();
    var logPath = env.getEnv("MANIFOLD_TEST_LOG");
    var planPath = env.getEnv("MANIFOLD_TEST_PLAN");
    if (!logPath || !planPath)
        return;  // not under the test: stay out of the way

    var log = { tiled_version: tiled.version, extensions_path: tiled.extensionsPath, steps: [],
                messages: [], errors: [], dialogs: [], done: false };

    function write() {
        var file = new TextFile(logPath, TextFile.WriteOnly);
        file.write(JSON.stringify(log, null, 1));
        file.commit();
    }

    function describe(asset) {
        if (!asset)
            return null;
        var d = { file: asset.fileName, isTileset: asset.isTileset, isTileMap: asset.isTileMap };
        if (asset.isTileset) {
            d.tileWidth = asset.tileWidth;
            d.tileHeight = asset.tileHeight;
            d.tileCount = asset.tileCount;
            d.image = asset.image;
            d.imageWidth = asset.imageWidth;
            d.imageHeight = asset.imageHeight;
        }
        return d;
    }

    function run() {
        var plan = JSON.parse(new TextFile(planPath, TextFile.ReadOnly).readAll());
        var ext = typeof manifoldExtension !== "undefined" ? manifoldExtension : null;
        log.extension_loaded = ext !== null;
        log.actions = tiled.actions.filter(function (a) { return a.indexOf("Manifold") === 0; });
        if (!ext)
            return;

        var answers = [];
        function answer(kind, text) {
            var value = answers.length ? answers.shift() : null;
            log.dialogs.push({ kind: kind, text: text, answer: value });
            return value;
        }
        ext.ui.prompt = function (label, text) {
            var value = answer("prompt", label + " [" + text + "]");
            return value === null || value === undefined ? "" : String(value);
        };
        ext.ui.confirm = function (text) { return answer("confirm", text) === true; };
        var realLog = ext.ui.log, realError = ext.ui.error;
        ext.ui.log = function (text) { log.messages.push(text); realLog(text); };
        ext.ui.error = function (text) { log.errors.push(text); realError(text); };

        plan.steps.forEach(function (step) {
            var entry = { step: step };
            if (step.open) {
                entry.opened = describe(tiled.open(step.open));
            }
            if (step.windows && ext.system) {
                var winEnv = step.windows;
                ext.system.platform = function () { return "windows"; };
                ext.system.getEnv = function (name) { return winEnv[name] || ""; };
            }
            if (step.eval) {
                entry.value = new Function("ext", step.eval)(ext);
            }
            if (step.select_tileset) {
                var map = tiled.activeAsset;
                map.tilesets.forEach(function (t) {
                    if (t.name === step.select_tileset)
                        tiled.mapEditor.tilesetsView.currentTileset = t;
                });
                var current = tiled.mapEditor.tilesetsView.currentTileset;
                entry.selected = current ? current.name : null;
            }
            if (step.trigger) {
                answers = (step.answers || []).slice();
                var before = ext.lastRun();
                tiled.trigger(step.trigger);
                var after = ext.lastRun();
                entry.run = after !== before ? after : null;
                entry.unused_answers = answers.length;
            }
            entry.active = describe(tiled.activeAsset);
            if (step.trigger === "ManifoldSettings")
                entry.settings = ext.readSettings();
            log.steps.push(entry);
            write();
        });
    }

    // Wait for Tiled's event loop: quitting (or opening windows) while extensions load is too early.
    var timer = Qt.createQmlObject("import QtQml 2.0; Timer { interval: 200; repeat: false }", tiled, "driverTimer");
    timer.triggered.connect(function () {
        try {
            run();
        } catch (e) {
            log.exception = String(e) + (e && e.stack ? "\n" + e.stack : "");
        }
        log.done = true;
        write();
        tiled.trigger("Quit");
    });
    timer.start();
})();
