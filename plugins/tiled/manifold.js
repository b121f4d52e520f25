/*
 * manifold.js - Tiled extension: upscale or regenerate a tileset with manifold.
 *
 * manifold learns a compact code for pixel-art tiles and renders every tile again at any
 * resolution. This extension runs its command line tool on the current tileset file:
 *
 *     manifold upscale TILESET.tsx --res N -o TILESET-N.tsx --quiet --json [extra arguments]
 *
 * and opens the tileset it writes (TILESET-N.tsx plus TILESET-N.png, beside the input).
 *
 * Actions, in the Tileset menu (tileset editor) and the Map menu (map editor, where they act
 * on the tileset shown in the Tilesets view):
 *
 *   Upscale tileset with manifold...   asks for the resolution (64, or 64x48 for W x H)
 *   Regenerate tileset...              renders at the tileset's own tile size: a round trip
 *                                      through the model (asks for confirmation)
 *   manifold settings...               path of the manifold executable and extra arguments
 *
 * Which executable runs, first match wins:
 *   1. the custom property "manifold.path" on the tileset, or on the map in the map editor
 *   2. the path saved with "manifold settings..." (in manifold.json beside Tiled's
 *      extensions folder, e.g. ~/.config/tiled/manifold.json)
 *   3. "manifold" found on PATH
 * Extra arguments (for example --model DIR or --device cpu) come from the property
 * "manifold.args" or from the settings, split at spaces ("double quotes" keep spaces).
 *
 * Errors are reported in Tiled's Console and Issues views: the CLI's own one-line
 * "error: ..." message when it fails, or why it could not be started.
 *
 * Needs Tiled 1.8 or newer (Process, TextFile, File, FileInfo). Install: copy this file into
 * the extensions folder (Edit > Preferences > Plugins > Open).
 */

/* global tiled, Process, TextFile, File, FileInfo */

var manifoldExtension = (function () {
    "use strict";

    var SETTINGS_NAME = "manifold.json";

    // Everything that talks to the user goes through here, so a script (or a test driver)
    // can replace a dialog with a function that answers it.
    var ui = {
        prompt: function (label, text, title) { return tiled.prompt(label, text, title); },
        confirm: function (text, title) { return tiled.confirm(text, title); },
        log: function (text) { tiled.log(text); },
        error: function (text) { tiled.error(text, function () {}); }
    };

    // What the last run did, for scripts and tests: {action, command, exitCode, output, error, opened}.
    var last = null;

    function settingsPath() {
        return FileInfo.joinPaths(FileInfo.path(tiled.extensionsPath), SETTINGS_NAME);
    }

    function readSettings() {
        var path = settingsPath();
        if (!File.exists(path))
            return {};
        try {
            var file = new TextFile(path, TextFile.ReadOnly);
            var text = file.readAll();
            file.close();
            var parsed = JSON.parse(text);
            return parsed && typeof parsed === "object" ? parsed : {};
        } catch (e) {
            ui.error("manifold: ignoring " + path + ": " + e);
            return {};
        }
    }

    function writeSettings(settings) {
        var file = new TextFile(settingsPath(), TextFile.WriteOnly);
        file.write(JSON.stringify(settings, null, 2) + "\n");
        file.commit();
    }

    // "--model 'a b'" style strings -> ["--model", "a b"]; arrays pass through.
    function splitArgs(value) {
        if (Array.isArray(value))
            return value.map(String);
        if (value === undefined || value === null)
            return [];
        var args = [], current = "", quote = null, started = false;
        var text = String(value);
        for (var i = 0; i < text.length; i++) {
            var c = text[i];
            if (quote) {
                if (c === quote) quote = null; else current += c;
            } else if (c === '"' || c === "'") {
                quote = c; started = true;
            } else if (/\s/.test(c)) {
                if (started) { args.push(current); current = ""; started = false; }
            } else {
                current += c; started = true;
            }
        }
        if (started)
            args.push(current);
        return args;
    }

    function joinArgs(args) {
        return args.map(function (a) { return /[\s"']/.test(a) || a === "" ? '"' + a + '"' : a; }).join(" ");
    }

    function expandHome(path) {
        if (path === "~" || path.indexOf("~/") === 0)
            return new Process().getEnv("HOME") + path.substring(1);
        return path;
    }

    function stringProperty(objects, name) {
        for (var i = 0; i < objects.length; i++) {
            var value = objects[i] ? objects[i].property(name) : undefined;
            if (value !== undefined && value !== null && String(value).trim() !== "")
                return String(value).trim();
        }
        return null;
    }

    // The executable and extra arguments for this tileset (see the header).
    function commandFor(owners) {
        var settings = readSettings();
        var path = stringProperty(owners, "manifold.path") || settings.path || "manifold";
        var extra = stringProperty(owners, "manifold.args");
        return { path: expandHome(String(path)), args: splitArgs(extra !== null ? extra : settings.args) };
    }

    // The tileset the user is working on and the assets whose properties apply to it.
    function currentTileset() {
        var asset = tiled.activeAsset;
        if (!asset)
            return { error: "open a tileset (or a map) first" };
        if (asset.isTileset)
            return { tileset: asset, owners: [asset] };
        if (asset.isTileMap) {
            var tileset = tiled.mapEditor.tilesetsView.currentTileset;
            if (!tileset)
                return { error: "the map has no tileset selected in the Tilesets view" };
            return { tileset: tileset, owners: [tileset, asset] };
        }
        return { error: "the current document is not a tileset or a map" };
    }

    function checkTilesetFile(tileset) {
        var fileName = tileset.fileName || "";
        if (!fileName || !/\.tsx$/i.test(fileName))
            return "tileset '" + tileset.name + "' is not saved as a .tsx file" +
                (fileName ? " (" + FileInfo.fileName(fileName) + ")" : "") +
                "; export it as .tsx first (Export As...)";
        if (tileset.modified)
            return "tileset '" + tileset.name + "' has unsaved changes; save it first";
        if (!File.exists(fileName))
            return fileName + ": no such file";
        return null;
    }

    // "64" -> {w: 64, h: 64, text: "64"}; "64x48" -> {w: 64, h: 48, text: "64x48"}; else null.
    function parseResolution(text) {
        var m = /^\s*(\d+)\s*(?:[x\u00d7*,]\s*(\d+))?\s*$/i.exec(String(text));
        if (!m)
            return null;
        var w = parseInt(m[1], 10), h = m[2] !== undefined ? parseInt(m[2], 10) : w;
        if (w < 1 || h < 1 || w > 4096 || h > 4096)
            return null;
        return { w: w, h: h, text: w === h ? String(w) : w + "x" + h };
    }

    function outputFor(fileName, res) {
        return FileInfo.joinPaths(FileInfo.path(fileName),
                                  FileInfo.completeBaseName(fileName) + "-" + res.text + ".tsx");
    }

    // The CLI's one-line error: its last line starting with "error:", else its last line.
    function cliError(stderr, stdout, exitCode) {
        var lines = (stderr + "\n" + stdout).replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").split(/\r?\n/)
            .map(function (l) { return l.trim(); }).filter(function (l) { return l !== ""; });
        for (var i = lines.length - 1; i >= 0; i--)
            if (/^error:/i.test(lines[i]))
                return lines[i].replace(/^error:\s*/i, "");
        return lines.length ? lines[lines.length - 1] : "exited with code " + exitCode;
    }

    function parseSummary(stdout) {
        var lines = stdout.split(/\r?\n/);
        for (var i = lines.length - 1; i >= 0; i--) {
            var line = lines[i].trim();
            if (line.charAt(0) !== "{")
                continue;
            try { return JSON.parse(line); } catch (e) { /* not the summary */ }
        }
        return null;
    }

    function openResult(fileName) {
        var assets = tiled.openAssets;
        for (var i = 0; i < assets.length; i++) {
            if (assets[i].fileName === fileName) {
                // Already open from an earlier run: the CLI has rewritten it.
                var reloaded = tiled.reload(assets[i]);
                if (reloaded)
                    tiled.activeAsset = reloaded;
                return reloaded;
            }
        }
        return tiled.open(fileName);
    }

    function fail(record, message) {
        record.error = message;
        last = record;
        ui.error("manifold: " + message);
        return record;
    }

    function newRecord(actionName, resolution) {
        return { action: actionName, resolution: resolution === undefined ? null : String(resolution),
                 command: null, exitCode: null, output: null, error: null, opened: null, summary: null };
    }

    // Runs the CLI on the tileset at the given resolution ("64" or "64x48") and opens the result.
    function upscale(resolution, actionName) {
        var record = newRecord(actionName || "upscale", resolution);
        var current = currentTileset();
        if (current.error)
            return fail(record, current.error);
        var tileset = current.tileset;
        var problem = checkTilesetFile(tileset);
        if (problem)
            return fail(record, problem);
        var res = parseResolution(resolution);
        if (!res)
            return fail(record, "'" + resolution + "' is not a resolution; give a size like 64 or 64x48");
        record.resolution = res.text;

        var input = tileset.fileName;
        var output = outputFor(input, res);
        var command = commandFor(current.owners);
        var args = ["upscale", input, "--res", res.text, "-o", output, "--quiet", "--json"].concat(command.args);
        record.command = [command.path].concat(args);
        record.output = output;
        ui.log("manifold: " + joinArgs(record.command));

        var proc = new Process();
        proc.workingDirectory = FileInfo.path(input);
        var exitCode;
        try {
            exitCode = proc.exec(command.path, args, false);
        } catch (e) {
            exitCode = -1;
        }
        var stdout = proc.readStdOut(), stderr = proc.readStdErr();
        proc.close();
        record.exitCode = exitCode;
        if (exitCode === -1 && stdout === "" && stderr === "")
            return fail(record, "could not run '" + command.path + "' (not found or not executable); " +
                        "set its path with 'manifold settings...' or the custom property manifold.path");
        if (exitCode !== 0)
            return fail(record, cliError(stderr, stdout, exitCode));
        if (!File.exists(output))
            return fail(record, "the CLI finished but wrote no " + output);

        record.summary = parseSummary(stdout);
        var opened = openResult(output);
        if (!opened)
            return fail(record, "could not open " + output);
        record.opened = opened.fileName;
        var tiles = record.summary && record.summary.tiles !== undefined ? record.summary.tiles + " tiles " : "";
        ui.log("manifold: " + tiles + "-> " + output);
        last = record;
        return record;
    }

    function upscaleAction() {
        var current = currentTileset();
        if (current.error)
            return fail(newRecord("upscale"), current.error);
        var tileset = current.tileset;
        var w = tileset.tileWidth * 2, h = tileset.tileHeight * 2;
        var suggestion = w === h ? String(w) : w + "x" + h;
        var answer = ui.prompt("Resolution of the new tiles (64, or 64x48 for width x height):",
                               suggestion, "Upscale tileset with manifold");
        if (answer === undefined || answer === null || String(answer).trim() === "")
            return null;  // cancelled
        return upscale(String(answer), "upscale");
    }

    function regenerateAction() {
        var current = currentTileset();
        if (current.error)
            return fail(newRecord("regenerate"), current.error);
        var tileset = current.tileset;
        var res = tileset.tileWidth === tileset.tileHeight ? String(tileset.tileWidth)
                                                           : tileset.tileWidth + "x" + tileset.tileHeight;
        var question = "Render every tile of '" + tileset.name + "' again at its own size (" +
            tileset.tileWidth + "x" + tileset.tileHeight + ") through the manifold model?\n\n" +
            "Writes " + FileInfo.completeBaseName(tileset.fileName || tileset.name) + "-" + res +
            ".tsx and .png beside the tileset; the tileset itself is not changed.";
        if (!ui.confirm(question, "Regenerate tileset"))
            return null;
        return upscale(res, "regenerate");
    }

    function settingsAction() {
        var settings = readSettings();
        var path = ui.prompt("Path of the manifold executable (empty: manifold on PATH):",
                             settings.path || "", "manifold settings");
        if (path === undefined || path === null)
            return null;
        var args = ui.prompt("Extra arguments for manifold upscale (e.g. --model DIR --device cpu):",
                             joinArgs(splitArgs(settings.args)), "manifold settings");
        if (args === undefined || args === null)
            return null;
        settings.path = String(path).trim();
        if (!settings.path)
            delete settings.path;
        settings.args = splitArgs(args);
        writeSettings(settings);
        ui.log("manifold: settings saved to " + settingsPath());
        return settings;
    }

    var actions = [
        { id: "ManifoldUpscaleTileset", text: "Upscale tileset with manifold...", run: upscaleAction },
        { id: "ManifoldRegenerateTileset", text: "Regenerate tileset...", run: regenerateAction },
        { id: "ManifoldSettings", text: "manifold settings...", run: settingsAction }
    ];
    actions.forEach(function (a) {
        var action = tiled.registerAction(a.id, function () {
            try {
                a.run();
            } catch (e) {
                ui.error("manifold: " + e);
            }
        });
        action.text = a.text;
    });
    var menuItems = [{ separator: true }].concat(actions.map(function (a) { return { action: a.id }; }));
    tiled.extendMenu("Tileset", menuItems);
    tiled.extendMenu("Map", menuItems);

    return {
        ui: ui,
        upscale: upscale,
        regenerate: regenerateAction,
        settingsPath: settingsPath,
        readSettings: readSettings,
        parseResolution: parseResolution,
        splitArgs: splitArgs,
        lastRun: function () { return last; }
    };
})();
