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
 *   Generate transitions...            a terrain transition set (a Wang set for the terrain brush)
 *                                      of two tiles selected in the tileset, or of two image files:
 *                                        manifold transitions A B --res N --wang corner|edge|blob
 *                                          --variants V -o A-B.tsx --quiet --json [extra arguments]
 *                                      (a tile is passed as TILESET.tsx#ID); opens A-B.tsx and, in
 *                                      the map editor, adds it to the map
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
 * Before the CLI starts, the Console says what runs on how many tiles; Tiled does not respond
 * while it runs (Process.exec blocks, and the CLI's progress is not shown there), so a run
 * estimated to take longer than LONG_RUN_S asks first. Errors are reported in Tiled's Console
 * and Issues views: the CLI's own one-line "error: ..." message when it fails, "not found" when
 * the executable does not exist, and "stopped before finishing" (with what it wrote to stderr)
 * when it crashed or was killed, e.g. for lack of memory.
 *
 * Works with Tiled 1.8 to 1.12. Tested in Tiled 1.8.2 (Debian's tiled, offscreen); every API
 * name it uses is checked against the scripting definitions (docs/scripting-doc/index.d.ts) of
 * Tiled 1.8.2 and 1.12.2 (tests/plugins/tiled_api_names.txt). Install: copy this file into the
 * extensions folder (Edit > Preferences > Plugins > Open).
 */

/* global tiled, Process, TextFile, File, FileInfo */

var manifoldExtension = (function () {
    "use strict";

    var SETTINGS_NAME = "manifold.json";
    // About 500,000 output pixels a second with the default model on the 2-core CPU of
    // BENCHMARKS.md (138 to 266 tiles/s at 64 px, 55 at 128 px, plus 0.26 s to start).
    var PIXELS_PER_S = 500000, START_S = 0.5;
    var LONG_RUN_S = 20;

    // Everything that talks to the user goes through here, so a script (or a test driver)
    // can replace a dialog with a function that answers it.
    var ui = {
        prompt: function (label, text, title) { return tiled.prompt(label, text, title); },
        confirm: function (text, title) { return tiled.confirm(text, title); },
        log: function (text) { tiled.log(text); },
        error: function (text) { tiled.error(text, function () {}); }
    };

    // The platform and the environment, replaceable like `ui` (the tests play Windows with it).
    var system = {
        platform: function () { return tiled.platform; },
        getEnv: function (name) { var proc = new Process(); var value = proc.getEnv(name); proc.close(); return value; }
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

    // ~ is the home folder: $HOME, or %USERPROFILE% on Windows, where HOME is usually unset.
    function expandHome(path) {
        if (path !== "~" && path.indexOf("~/") !== 0 && path.indexOf("~\\") !== 0)
            return path;
        var home = system.platform() === "windows" ? (system.getEnv("USERPROFILE") || system.getEnv("HOME"))
                                                   : system.getEnv("HOME");
        if (!home)
            return path;
        return home + path.substring(1);
    }

    // The file that would run for `program` (a path, or a name looked up on PATH, with PATHEXT
    // on Windows), or null. QProcess starts it the same way.
    function findExecutable(program) {
        var windows = system.platform() === "windows";
        var exts = [""];
        if (windows)
            exts = exts.concat((system.getEnv("PATHEXT") || ".COM;.EXE;.BAT;.CMD").split(";"));
        function existing(path) {
            for (var i = 0; i < exts.length; i++)
                if (File.exists(path + exts[i]))
                    return path + exts[i];
            return null;
        }
        if (/[\\/]/.test(program))
            return existing(program);
        var dirs = (system.getEnv("PATH") || "").split(windows ? ";" : ":");
        for (var i = 0; i < dirs.length; i++) {
            if (!dirs[i])
                continue;
            var found = existing(FileInfo.joinPaths(dirs[i], program));
            if (found)
                return found;
        }
        return null;
    }

    function lastLines(text, count) {
        var lines = String(text).replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").split(/\r?\n/)
            .map(function (l) { return l.trim(); }).filter(function (l) { return l !== ""; });
        return lines.slice(-count).join(" / ");
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

    // "64" -> {w: 64, h: 64, text: "64"}; "64x48" -> {w: 64, h: 48, text: "64x48"}; with a tileset,
    // a factor: "2x" -> twice its tile size, rounded half up as the CLI's --res 2x; else null.
    function parseResolution(text, tileset) {
        var factor = /^\s*(\d+(?:\.\d+)?)\s*[x\u00d7]\s*$/i.exec(String(text));
        if (factor && tileset) {
            var k = parseFloat(factor[1]);
            if (!(k > 0 && k <= 16))
                return null;
            return parseResolution(Math.max(1, Math.floor(tileset.tileWidth * k + 0.5)) + "x" +
                                   Math.max(1, Math.floor(tileset.tileHeight * k + 0.5)));
        }
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
    // confirmLong: ask first when the run is estimated to take longer than LONG_RUN_S (the menu
    // actions do; a script calling upscale() decides for itself).
    function upscale(resolution, actionName, confirmLong) {
        var record = newRecord(actionName || "upscale", resolution);
        var current = currentTileset();
        if (current.error)
            return fail(record, current.error);
        var tileset = current.tileset;
        var problem = checkTilesetFile(tileset);
        if (problem)
            return fail(record, problem);
        var res = parseResolution(resolution, tileset);
        if (!res)
            return fail(record, "'" + resolution + "' is not a resolution; give a size like 64 or 64x48, or a " +
                        "factor like 2x");
        record.resolution = res.text;

        var input = tileset.fileName;
        var output = outputFor(input, res);
        var command = commandFor(current.owners);
        var args = ["upscale", input, "--res", res.text, "-o", output, "--quiet", "--json"].concat(command.args);
        record.command = [command.path].concat(args);
        record.output = output;
        var notFound = "could not run '" + command.path + "': not found; set its path with " +
            "'manifold settings...' or the custom property manifold.path";
        if (!findExecutable(command.path))
            return fail(record, notFound);

        var tiles = tileset.tileCount;
        var seconds = Math.round(START_S + tiles * res.w * res.h / PIXELS_PER_S);
        record.estimateSeconds = seconds;
        if (confirmLong && seconds > LONG_RUN_S) {
            var question = "manifold will render " + tiles + " tiles of '" + tileset.name + "' at " +
                res.w + "x" + res.h + ": about " + seconds + " s on a 2-core CPU (less with a GPU), " +
                "during which Tiled does not respond.\n\nRun it?";
            if (!ui.confirm(question, "Upscale tileset with manifold")) {
                record.error = "cancelled: estimated " + seconds + " s";
                last = record;
                return record;
            }
        }
        ui.log("manifold: rendering " + tiles + " tiles of '" + tileset.name + "' at " + res.w + "x" + res.h +
               " (about " + seconds + " s; Tiled waits until it is done): " + joinArgs(record.command));

        if (!runAndOpen(record, command, args, FileInfo.path(input), notFound, output))
            return record;
        var done = record.summary && record.summary.tiles !== undefined ? record.summary.tiles + " tiles " : "";
        ui.log("manifold: " + done + "-> " + output);
        last = record;
        return record;
    }

    // runCli, then the output opened in Tiled (record.opened): the asset, or null after fail().
    function runAndOpen(record, command, args, workingDirectory, notFound, output) {
        if (!runCli(record, command, args, workingDirectory, notFound))
            return null;
        var opened = openResult(output);
        if (!opened) {
            fail(record, "could not open " + output);
            return null;
        }
        record.opened = opened.fileName;
        return opened;
    }

    // Runs the CLI for `record` (its command and output set) and waits; false (after fail()) when it
    // did not finish with exit code 0 and its output file; true with record.summary filled in.
    function runCli(record, command, args, workingDirectory, notFound) {
        var proc = new Process();
        proc.workingDirectory = workingDirectory;
        var exitCode;
        try {
            exitCode = proc.exec(command.path, args, false);
        } catch (e) {
            exitCode = -1;
        }
        var stdout = proc.readStdOut(), stderr = proc.readStdErr();
        proc.close();
        record.exitCode = exitCode;
        // Process.exec gives -1 both when the program could not start and when it crashed
        // (src/tiled/scriptprocess.cpp: m_process->error() != UnknownError), with what it read.
        if (exitCode === -1) {
            if (!findExecutable(command.path)) {
                fail(record, notFound);
                return false;
            }
            var said = lastLines(stderr, 3);
            fail(record, "'" + command.path + "' stopped before finishing: it crashed or was killed " +
                 "(for example for lack of memory), or could not be started" + (said ? "; it wrote: " + said : ""));
            return false;
        }
        if (exitCode !== 0) {
            fail(record, cliError(stderr, stdout, exitCode));
            return false;
        }
        if (!File.exists(record.output)) {
            fail(record, "the CLI finished but wrote no " + record.output);
            return false;
        }
        record.summary = parseSummary(stdout);
        return true;
    }

    // "corner", "edge 2", "blob 1" -> {kind: "blob", variants: 1}; else null.
    function parseWangSet(text) {
        var m = /^\s*(corner|edge|blob)\s*(\d+)?\s*$/i.exec(String(text));
        if (!m)
            return null;
        var variants = m[2] !== undefined ? parseInt(m[2], 10) : 0;
        if (variants > 15)
            return null;
        return { kind: m[1].toLowerCase(), variants: variants, tiles: { corner: 16, edge: 16, blob: 47 }[m[1].toLowerCase()] };
    }

    // A terrain as the CLI names it: "TILESET.tsx#ID" for a tile, or an image file; and its short name.
    function terrainName(terrain) {
        var m = /^(.*\.tsx)#(\d+)$/i.exec(terrain);
        return m ? FileInfo.completeBaseName(m[1]) + "-" + m[2] : FileInfo.completeBaseName(terrain);
    }

    function terrainFile(terrain) {
        var m = /^(.*\.tsx)#(\d+)$/i.exec(terrain);
        return m ? m[1] : terrain;
    }

    // Runs `manifold transitions` on two terrains (tiles as TILESET.tsx#ID, or image files), opens the new
    // tileset and adds it to the map when one is open in the map editor. `set`: "corner", "edge 2", ...
    function transitions(first, second, resolution, set, confirmLong) {
        var record = newRecord("transitions", resolution);
        var asset = tiled.activeAsset;
        var map = asset && asset.isTileMap ? asset : null;
        var res = parseResolution(resolution);
        if (!res)
            return fail(record, "'" + resolution + "' is not a resolution; give a size like 64 or 64x48");
        record.resolution = res.text;
        var wang = parseWangSet(set === undefined ? "corner" : set);
        if (!wang)
            return fail(record, "'" + set + "' is not a Wang set; give corner, edge or blob, and optionally the " +
                        "number of variants of each tile (0 to 15), like corner 2");
        for (var i = 0; i < 2; i++) {
            var terrain = [first, second][i];
            if (!File.exists(terrainFile(terrain)))
                return fail(record, terrainFile(terrain) + ": no such file");
        }
        var output = FileInfo.joinPaths(FileInfo.path(terrainFile(first)),
                                        terrainName(first) + "-" + terrainName(second) + ".tsx");
        var owners = asset ? [asset] : [];
        var command = commandFor(owners);
        var args = ["transitions", first, second, "--res", res.text, "--wang", wang.kind, "--variants",
                    String(wang.variants), "-o", output, "--quiet", "--json"].concat(command.args);
        record.command = [command.path].concat(args);
        record.output = output;
        var notFound = "could not run '" + command.path + "': not found; set its path with " +
            "'manifold settings...' or the custom property manifold.path";
        if (!findExecutable(command.path))
            return fail(record, notFound);

        var tiles = wang.tiles * (wang.variants + 1);
        var seconds = Math.round(START_S + tiles * res.w * res.h / PIXELS_PER_S);
        record.estimateSeconds = seconds;
        if (confirmLong && seconds > LONG_RUN_S) {
            var question = "manifold will render " + tiles + " transition tiles at " + res.w + "x" + res.h +
                ": about " + seconds + " s on a 2-core CPU (less with a GPU), during which Tiled does not " +
                "respond.\n\nRun it?";
            if (!ui.confirm(question, "Generate transitions")) {
                record.error = "cancelled: estimated " + seconds + " s";
                last = record;
                return record;
            }
        }
        ui.log("manifold: rendering the " + wang.kind + " set of " + terrainName(first) + " and " +
               terrainName(second) + " (" + tiles + " tiles) at " + res.w + "x" + res.h + " (about " + seconds +
               " s; Tiled waits until it is done): " + joinArgs(record.command));
        var opened = runAndOpen(record, command, args, FileInfo.path(output), notFound, output);
        if (!opened)
            return record;
        if (map) {
            var present = false;
            var tilesets = map.tilesets;
            for (var t = 0; t < tilesets.length; t++)
                if (tilesets[t].fileName === opened.fileName)
                    present = true;
            if (!present)
                map.addTileset(opened);
            tiled.activeAsset = map;
            record.addedTo = map.fileName;
        }
        ui.log("manifold: " + (record.summary && record.summary.tiles !== undefined ? record.summary.tiles + " tiles " : "") +
               "-> " + output + (map ? " (added to the map's tilesets: paint with the Terrain Sets view)" : ""));
        last = record;
        return record;
    }

    function transitionsAction() {
        var asset = tiled.activeAsset;
        if (!asset)
            return fail(newRecord("transitions"), "open a tileset (or a map) first");
        var map = asset.isTileMap ? asset : null;
        var current = currentTileset();
        var tileset = current.error ? null : current.tileset;
        var selected = [];
        if (tileset)
            selected = map ? tiled.mapEditor.tilesetsView.selectedTiles : tileset.selectedTiles;
        var first, second;
        var size = tileset ? { w: tileset.tileWidth, h: tileset.tileHeight } : { w: 64, h: 64 };
        if (selected && selected.length === 2) {
            var problem = checkTilesetFile(tileset);
            if (problem)
                return fail(newRecord("transitions"), problem);
            var ids = [];
            for (var i = 0; i < selected.length; i++)
                ids.push(selected[i].id);
            first = tileset.fileName + "#" + ids[0];
            second = tileset.fileName + "#" + ids[1];
        } else {
            // tiled.prompt gives "" on Cancel (see settingsAction): an empty answer cancels.
            first = ui.prompt("Select two tiles in the tileset, or give two terrain images. First terrain (image file):",
                              "", "Generate transitions");
            if (first === undefined || first === null || String(first).trim() === "")
                return null;
            second = ui.prompt("Second terrain (image file, the same size):", "", "Generate transitions");
            if (second === undefined || second === null || String(second).trim() === "")
                return null;
            first = expandHome(String(first).trim());
            second = expandHome(String(second).trim());
        }
        if (map)
            size = { w: map.tileWidth, h: map.tileHeight };  // the new tiles fit the map's grid
        var answer = ui.prompt("Size of the new tiles (64, or 64x48 for width x height):",
                               size.w === size.h ? String(size.w) : size.w + "x" + size.h, "Generate transitions");
        if (answer === undefined || answer === null || String(answer).trim() === "")
            return null;
        var set = ui.prompt("Wang set: corner (16 tiles), edge (16) or blob (47), then how many variants of each " +
                            "tile (for example corner 2):", "corner 0", "Generate transitions");
        if (set === undefined || set === null || String(set).trim() === "")
            return null;
        return transitions(first, second, String(answer), String(set), true);
    }

    function upscaleAction() {
        var current = currentTileset();
        if (current.error)
            return fail(newRecord("upscale"), current.error);
        var tileset = current.tileset;
        var w = tileset.tileWidth * 2, h = tileset.tileHeight * 2;
        var suggestion = w === h ? String(w) : w + "x" + h;
        // tiled.prompt gives "" on Cancel, never null (QInputDialog::getText in
        // src/tiled/scriptmodule.cpp); an empty answer cannot be a resolution anyway.
        var answer = ui.prompt("Resolution of the new tiles (64, 64x48 for width x height, or 2x for twice " +
                               "the size):",
                               suggestion, "Upscale tileset with manifold");
        if (answer === undefined || answer === null || String(answer).trim() === "")
            return null;  // cancelled
        return upscale(String(answer), "upscale", true);
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
        return upscale(res, "regenerate", true);
    }

    // tiled.prompt returns "" on Cancel, never null (QInputDialog::getText gives a null QString,
    // src/tiled/scriptmodule.cpp ScriptModule::prompt), the same as OK on an empty field. So an
    // empty answer is Cancel and nothing is saved; "manifold" means the one on PATH and "-" no
    // extra arguments.
    function settingsAction() {
        var settings = readSettings();
        var path = ui.prompt("Path of the manifold executable (manifold: the one on PATH):",
                             settings.path || "manifold", "manifold settings");
        if (path === undefined || path === null || String(path).trim() === "")
            return null;
        var currentArgs = joinArgs(splitArgs(settings.args));
        var args = ui.prompt("Extra arguments for manifold (e.g. --model DIR --device cpu; - for none):",
                             currentArgs || "-", "manifold settings");
        if (args === undefined || args === null || String(args).trim() === "")
            return null;
        settings.path = String(path).trim();
        if (settings.path === "manifold")
            delete settings.path;
        settings.args = String(args).trim() === "-" ? [] : splitArgs(args);
        writeSettings(settings);
        ui.log("manifold: settings saved to " + settingsPath());
        return settings;
    }

    var actions = [
        { id: "ManifoldUpscaleTileset", text: "Upscale tileset with manifold...", run: upscaleAction },
        { id: "ManifoldRegenerateTileset", text: "Regenerate tileset...", run: regenerateAction },
        { id: "ManifoldGenerateTransitions", text: "Generate transitions...", run: transitionsAction },
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
        system: system,
        upscale: upscale,
        transitions: transitions,
        parseWangSet: parseWangSet,
        expandHome: expandHome,
        findExecutable: findExecutable,
        regenerate: regenerateAction,
        settingsPath: settingsPath,
        readSettings: readSettings,
        parseResolution: parseResolution,
        splitArgs: splitArgs,
        lastRun: function () { return last; }
    };
})();
