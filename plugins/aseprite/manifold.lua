-- manifold.lua - Aseprite extension: upscale a sprite, a tile sheet or a tileset with manifold, or
-- make variants of a tile.
--
-- manifold learns a compact code for pixel-art tiles and renders every tile again at any
-- resolution. This extension adds three commands to the Sprite menu, right after Canvas Size
-- (the "sprite_size" group of Aseprite's data/gui.xml, which Canvas Size ends):
--
--   * "Upscale with manifold..." (ManifoldUpscale) asks, in a dialog, for the resolution of the
--     new tiles (64, 64x48 for width x height, or a factor of the tile's size: 2x, 1.5x), the tile
--     size when the sprite is a sheet of
--     tiles, and where the manifold executable is; then does the work below.
--   * "Upscale with manifold again" (ManifoldUpscaleAgain) does the work without a question,
--     with the last run's settings: the one to bind to a key (Edit > Keyboard Shortcuts).
--   * "Variants of this tile..." (ManifoldVariants) asks how many variants, their strength, seed
--     and size, runs `manifold variants IN.png -n N --strength S --seed K --res R -o OUT.png` on the
--     active frame (one tile), and opens the variants side by side as a new sprite, its grid set to
--     the tile size, named TITLE-variants.png beside the original.
--
-- The work (M.work, the same for both):
--
--   1. saves a PNG to the temporary folder: the tileset of the active layer when it is a
--      tilemap layer (its tiles laid out as a sheet), else the active frame of the sprite;
--   2. runs, as one command through io.popen (its output comes back through the pipe):
--        manifold upscale IN.png --res N [--tile-size T] -o OUT.png --quiet --json [extra]
--      after deleting the previous run's two temporary files;
--   3. opens OUT.png as a new sprite (with its grid set to the new tile size for sheets) and
--      names it TITLE-N.png beside the original, so that Save puts it there; or shows the CLI's
--      one-line error message.
--
-- Scripts and batch mode: without a UI (aseprite -b) there is no dialog, and both commands run
-- with the options in app.params, which `--script-param resolution=64` fills (the names are in
-- M.OPTIONS), else the last run's settings:
--   aseprite -b art.png --script-param resolution=64 --script run.lua
-- where run.lua calls app.command.ManifoldUpscaleAgain() and saves app.sprite, the result.
-- Aseprite does not pass the table of app.command.ManifoldUpscaleAgain{...} on to an
-- extension's command, so a script sets app.params.resolution etc. before the call instead.
-- Messages go to the terminal (print) when there is no UI.
--
-- Needs Aseprite 1.3 or newer: tilemap layers, Tileset:tile() (v1.3-rc1), app.sprite/layer/frame
-- (v1.3-rc3; aseprite/api Changes.md). Older versions get a message saying so.
--
-- Permissions (aseprite/aseprite src/app/script/security.cpp): Aseprite asks before a script
-- writes a file (Image:saveAs), runs a command (io.popen; from 1.3.7) or reads a file (app.open),
-- one dialog per call, unless "Don't show this specific alert again for this script" was ticked
-- for that kind of access. This extension makes exactly those three calls per run and no others:
-- no os.remove (a sandbox error before 1.3.14, and one more question after), no io.open. A
-- refusal ends the run with the extension's own alert. Its temporary files are deleted by the
-- next run's command.
--
-- Windows: Aseprite converts file names to UTF-16 when it opens files, but hands the text of
-- io.popen/os.execute to _popen/system() unchanged, where cmd.exe reads it in the ANSI code
-- page. So the command line is kept ASCII: a non-ASCII path (C:\Users\Jörg\...) is written with
-- the environment variable it starts with (%TMP%, %LOCALAPPDATA%, %APPDATA%, %USERPROFILE%),
-- which cmd.exe expands in Unicode; other non-ASCII arguments are refused with a message.
--
-- The executable path, extra arguments (for example --model DIR or --device cpu) and the last
-- resolution are kept in the extension's preferences. tests/plugins/test_aseprite_real.py runs
-- it in a real Aseprite (1.3.18.2) in batch mode when one is at hand (the work, both commands,
-- the errors); test_aseprite_extension.py runs it with Lua 5.4 against a fake of the `app` API
-- (fake_aseprite.lua) for what batch mode cannot reach: the dialog, the permission questions,
-- Windows and Aseprite 1.3.0.

local M = {}

-- Aseprite v1.3: app.apiVersion 26 (src/app/script/api_version.h at tag v1.3).
M.MIN_API_VERSION = 26
M.MIN_VERSION_TEXT = "1.3"

function M.supported()
  return (app.apiVersion or 0) >= M.MIN_API_VERSION
end

-- app.os exists from Aseprite 1.3.7 (Changes.md); before, `app` (a table) gives nil for it.
function M.is_windows()
  local info = app.os
  if info ~= nil then return info.windows == true end
  return package.config:sub(1, 1) == "\\"
end

-- Text for the user: an alert, or the console/terminal when there is no UI (batch mode,
-- where app.alert shows nothing: src/app/script/app_object.cpp App_alert).
local function notify(lines)
  if type(lines) == "string" then lines = { lines } end
  if app.isUIAvailable == false then
    print("manifold: " .. table.concat(lines, " "))
    return
  end
  app.alert{ title = "manifold", text = lines }
end

-- "64" -> {w=64, h=64, text="64"}; "64x48" -> {w=64, h=48, text="64x48"}; anything else -> nil.
function M.parse_size(text)
  text = tostring(text or "")
  local w, h = text:match("^%s*(%d+)%s*[xX%*]%s*(%d+)%s*$")
  if not w then
    w = text:match("^%s*(%d+)%s*$")
    h = w
  end
  if not w then return nil end
  w, h = tonumber(w), tonumber(h)
  if w < 1 or h < 1 or w > 4096 or h > 4096 then return nil end
  return { w = w, h = h, text = (w == h) and tostring(w) or (w .. "x" .. h) }
end

local function size_text(w, h) return (w == h) and tostring(w) or (w .. "x" .. h) end

-- "2x", "1.5x" -> 2, 1.5 (a factor of the tile's own size, as the CLI's --res 2x); anything else -> nil.
function M.parse_factor(text)
  local f = tonumber(tostring(text or ""):match("^%s*(%d+%.?%d*)%s*[xX]%s*$") or "")
  if not f or f <= 0 or f > 16 then return nil end
  return f
end

-- A size `factor` times {w, h}, each side rounded half up (at least 1) as the CLI rounds; nil past 4096.
function M.scaled_size(base, factor)
  local w = math.max(1, math.floor(base.w * factor + 0.5))
  local h = math.max(1, math.floor(base.h * factor + 0.5))
  return M.parse_size(size_text(w, h))
end

-- Splits extra arguments at spaces; "double" or 'single' quotes keep spaces inside one argument.
function M.split_args(text)
  local args, current, quote, started = {}, "", nil, false
  for c in tostring(text or ""):gmatch(".") do
    if quote then
      if c == quote then quote = nil else current = current .. c end
    elseif c == '"' or c == "'" then
      quote, started = c, true
    elseif c:match("%s") then
      if started then args[#args + 1] = current; current, started = "", false end
    else
      current, started = current .. c, true
    end
  end
  if started then args[#args + 1] = current end
  return args
end

-- Command lines ---------------------------------------------------------------------------------

-- One argument for /bin/sh (what io.popen runs on Linux and macOS).
function M.quote_sh(arg)
  if arg:match("^[%w%./_%-=:,+@]+$") then return arg end
  return "'" .. arg:gsub("'", "'\\''") .. "'"
end

-- One argument for a Windows command line: cmd.exe must see it inside quotes (so & | < > ^ ( )
-- are plain text; it toggles its quote state at every "), and the program's C runtime must split
-- it back out (learn.microsoft.com "Parsing C command-line arguments": 2n backslashes before a "
-- give n backslashes; "" inside quotes gives one "). So: backslashes before a quote and at the end
-- are doubled, quotes are doubled. Returns nil, why for what cannot be passed.
function M.quote_windows(arg)
  if arg:find("%c") then return nil, "it contains a control character" end
  if arg:find("[\128-\255]") then return nil, "it has non-ASCII characters" end
  local body = arg:gsub('(\\*)"', function(bs) return bs .. bs .. '""' end):gsub("(\\+)$", "%1%1")
  return '"' .. body .. '"'
end

-- A Windows environment variable value as os.getenv gives it (ANSI: a non-ASCII character is one
-- byte >= 128, or "?") matched against the start of a UTF-8 path; returns the length of the
-- matched part of `path` when `value` is a whole leading folder of it, else nil.
local function env_prefix_length(path, value)
  value = value:gsub("[\\/]+$", "")
  local i, j = 1, 1
  while j <= #value do
    local pc, vc = path:byte(i), value:byte(j)
    if not pc then return nil end
    if pc >= 0x80 then
      if vc < 0x80 and vc ~= 63 then return nil end  -- 63: "?"
      i = i + 1
      while (path:byte(i) or 0) >= 0x80 and (path:byte(i) or 0) < 0xC0 do i = i + 1 end  -- UTF-8 continuation bytes
      j = j + 1
    else
      if vc >= 0x80 then return nil end
      local a, b = string.char(pc):lower(), string.char(vc):lower()
      if a ~= b and not (a:match("[\\/]") and b:match("[\\/]")) then return nil end
      i, j = i + 1, j + 1
    end
  end
  local after = path:sub(i, i)
  if after ~= "" and after ~= "\\" and after ~= "/" then return nil end
  return i - 1
end

M.PATH_VARIABLES = { "TMP", "TEMP", "LOCALAPPDATA", "APPDATA", "USERPROFILE" }

-- How a command line names `path` on Windows: itself when ASCII, else %VAR% plus the rest when
-- one of M.PATH_VARIABLES holds the non-ASCII part (the longest such variable wins). nil if none.
function M.windows_command_path(path)
  if not path:find("[\128-\255]") then return path end
  local best, best_len
  for _, name in ipairs(M.PATH_VARIABLES) do
    local value = os.getenv(name)
    if value and value ~= "" then
      local len = env_prefix_length(path, value)
      if len and (not best_len or len > best_len) and not path:sub(len + 1):find("[\128-\255]") then
        best, best_len = name, len
      end
    end
  end
  if not best then return nil end
  return "%" .. best .. "%" .. path:sub(best_len + 1)
end

-- The whole command: delete `cleanup` (quietly), then run argv with its stderr on stdout.
-- Returns the command line, or nil and the argument that cannot be written plus why.
function M.command_line(argv, cleanup, windows)
  if windows then
    local function arg(a)
      local named = M.windows_command_path(a)
      if not named then
        return nil, "it has non-ASCII characters, which Aseprite cannot pass to a command on Windows"
      end
      return M.quote_windows(named)
    end
    local parts = {}
    if #cleanup > 0 then
      local files = {}
      for _, p in ipairs(cleanup) do
        local q = arg(p)
        if q then files[#files + 1] = q end
      end
      if #files > 0 then parts[#parts + 1] = "del /f /q " .. table.concat(files, " ") .. " 2>nul &" end
    end
    local words = {}
    for _, a in ipairs(argv) do
      local q, why = arg(a)
      if not q then return nil, a, why end
      words[#words + 1] = q
    end
    parts[#parts + 1] = table.concat(words, " ") .. " 2>&1"
    -- cmd /c strips the first and the last quote of its command line when there are more than
    -- two (cmd /?), so the whole line goes inside one more pair.
    return '"' .. table.concat(parts, " ") .. '"'
  end
  local parts = {}
  if #cleanup > 0 then
    local files = {}
    for i, p in ipairs(cleanup) do files[i] = M.quote_sh(p) end
    parts[#parts + 1] = "rm -f -- " .. table.concat(files, " ") .. " 2>/dev/null;"
  end
  local words = {}
  for i, a in ipairs(argv) do words[i] = M.quote_sh(a) end
  parts[#parts + 1] = table.concat(words, " ") .. " 2>&1"
  return table.concat(parts, " ")
end

-- The CLI's one-line error: its last line starting with "error:", else its last line.
function M.cli_error(output, code)
  local last, err
  for line in tostring(output or ""):gsub("\27%[[%d;]*%a", ""):gmatch("[^\r\n]+") do
    line = line:match("^%s*(.-)%s*$")
    if line ~= "" then
      last = line
      if line:lower():match("^error:") then err = line:gsub("^[Ee][Rr][Rr][Oo][Rr]:%s*", "") end
    end
  end
  return err or last or ("exited with code " .. tostring(code))
end

-- Files and names -------------------------------------------------------------------------------

local function join(dir, name, windows)
  local last = dir:sub(-1)
  if last == "/" or (windows and last == "\\") then return dir .. name end
  return dir .. (windows and "\\" or "/") .. name
end

local function has_separator(path, windows)
  return path:find("/") ~= nil or (windows and path:find("\\") ~= nil)
end

-- The executable to run: a path must name an existing file (app.fs.isFile asks no permission;
-- on Windows "manifold" may mean "manifold.exe"); a bare name is looked up on PATH by the shell.
-- Returns the path, or nil and why.
function M.find_executable(exe, windows)
  if exe:sub(1, 2) == "~/" and not windows then
    local home = os.getenv("HOME")
    if home and home ~= "" then exe = home .. exe:sub(2) end
  end
  if not has_separator(exe, windows) then return exe end
  if windows and exe:find("%%") then return exe end  -- %VAR% paths: cmd.exe expands them
  if app.fs.isFile(exe) then return exe end
  if windows then
    for _, ext in ipairs({ ".exe", ".cmd", ".bat" }) do
      if app.fs.isFile(exe .. ext) then return exe .. ext end
    end
  end
  return nil, "'" .. exe .. "' does not exist; give the full path of the manifold executable"
end

-- A short ASCII name for this run's temporary files.
local function new_run_id()
  return string.format("%x%03x", os.time() % 0x1000000, math.random(0, 0xfff))
end

-- Only our own names are ever deleted: plain file names from the preferences.
local function cleanup_paths(prefs, temp, windows)
  local paths = {}
  for name in tostring(prefs.cleanup or ""):gmatch("[^|]+") do
    if name:match("^manifold%-[%w%-]+%.png$") then paths[#paths + 1] = join(temp, name, windows) end
  end
  return paths
end

-- Permission refusals raise Lua errors with these words (security.cpp, image_class.cpp,
-- app_object.cpp).
local function refused(err)
  return tostring(err):find("doesn't have access", 1, true) ~= nil
end

local function refusal_text(what)
  -- The dialog's words: data/strings/en.ini [script_access] (the same in v1.3 and v1.3.18.2).
  return "Aseprite did not allow the extension to " .. what .. ". Run it again and answer " ..
         "'Allow ... Access' in Aseprite's Security dialog; tick \"Don't show this specific alert " ..
         "again for this script\" to stop that question."
end

-- Layers, grids and images ----------------------------------------------------------------------

local function tilemap_layers(layers, found)
  for _, layer in ipairs(layers or {}) do
    if layer.isTilemap then
      found[#found + 1] = layer
    elseif layer.isGroup then
      tilemap_layers(layer.layers, found)
    end
  end
  return found
end

-- The grid a new sprite gets: app.preferences.document(nil).grid.bounds (api/app_preferences.md;
-- Changes.md v1.2.16.3), 16x16 unless changed in Edit > Preferences > Grid (api/sprite.md).
function M.default_grid()
  local ok, bounds = pcall(function() return app.preferences.document(nil).grid.bounds end)
  if ok and bounds then return bounds end
  return { x = 0, y = 0, width = 16, height = 16 }
end

-- The tile size to offer for a sheet: the tile size of the sprite's tilemap layers, or the
-- sprite's grid when the user set one (a grid equal to the default one is just the default, not
-- a statement that the sprite is a sheet). nil: the sprite is one tile.
function M.sheet_tile(sprite)
  local w, h
  local tilemaps = tilemap_layers(sprite.layers, {})
  if #tilemaps > 0 then
    local size = tilemaps[1].tileset.grid.tileSize
    w, h = size.width, size.height
  else
    local grid, default = sprite.gridBounds, M.default_grid()
    if grid.x == default.x and grid.y == default.y and grid.width == default.width
        and grid.height == default.height then
      return nil
    end
    if grid.x ~= 0 or grid.y ~= 0 then return nil end
    w, h = grid.width, grid.height
  end
  if w < 1 or h < 1 or sprite.width % w ~= 0 or sprite.height % h ~= 0 then return nil end
  if w == sprite.width and h == sprite.height then return nil end
  return { w = w, h = h, text = size_text(w, h) }
end

-- The image to upscale: the active layer's tileset laid out as a sheet, or the active frame.
-- Returns {image=Image, tile=size or nil, what=string} or nil, error.
function M.source_image(sprite, layer, frame, tile_size_text)
  if layer and layer.isTilemap and layer.tileset then
    local tileset = layer.tileset
    local size = tileset.grid.tileSize
    local count = #tileset - 1  -- tile 0 is the empty tile
    if count < 1 then return nil, "the tileset of layer '" .. layer.name .. "' has no tiles" end
    local columns = math.ceil(math.sqrt(count))
    local rows = math.ceil(count / columns)
    local spec = sprite.spec  -- a copy: keeps the colour mode and transparent colour
    spec.width, spec.height = columns * size.width, rows * size.height
    local sheet = Image(spec)
    sheet:clear()
    for i = 1, count do
      local x = ((i - 1) % columns) * size.width
      local y = ((i - 1) // columns) * size.height
      -- Tileset:tile(i).image, not the superseded getTile(i) (api/tileset.md)
      sheet:drawImage(tileset:tile(i).image, Point(x, y))
    end
    return { image = sheet, tile = { w = size.width, h = size.height, text = size_text(size.width, size.height) },
             what = "tileset of layer '" .. layer.name .. "' (" .. count .. " tiles)", columns = columns }
  end
  local image = Image(sprite.spec)
  image:drawSprite(sprite, frame and frame.frameNumber or 1)
  local tile = nil
  if tostring(tile_size_text or ""):match("%S") then
    tile = M.parse_size(tile_size_text)
    if not tile then return nil, "'" .. tile_size_text .. "' is not a tile size; give a size like 16 or 16x8" end
  end
  return { image = image, tile = tile, what = tile and "sheet" or "sprite" }
end

local function ascii_title(sprite)
  local title = app.fs.fileTitle(sprite.filename or "")
  title = title:gsub("[^%w_%-]+", "-"):gsub("^%-+", ""):gsub("%-+$", ""):sub(1, 40)
  return title ~= "" and title or "sprite"
end

-- The run -----------------------------------------------------------------------------------------

-- Saves the image, runs the CLI; returns the path of the upscaled PNG, or nil and the error.
-- options: sprite, layer, frame, resolution, tile_size, executable, extra_args, prefs.
function M.upscale(options)
  local sprite = options.sprite
  local prefs = options.prefs or {}
  local windows = M.is_windows()
  local factor = M.parse_factor(options.resolution)
  local res = M.parse_size(options.resolution)
  if not res and not factor then
    return nil, "'" .. tostring(options.resolution) .. "' is not a resolution; give a size like 64 or 64x48, " ..
      "or a factor like 2x"
  end
  local source, problem = M.source_image(sprite, options.layer, options.frame, options.tile_size)
  if not source then return nil, problem end
  if factor then  -- of a tile (the tileset's, the sheet's) or of the whole frame
    local base = source.tile or { w = source.image.width, h = source.image.height }
    res = M.scaled_size(base, factor)
    if not res then
      return nil, tostring(options.resolution) .. " of " .. base.w .. "x" .. base.h .. " px is more than 4096 px a side"
    end
  end

  local exe = options.executable
  if not exe or not exe:match("%S") then exe = "manifold" end
  exe = exe:match("^%s*(.-)%s*$")
  local program, missing = M.find_executable(exe, windows)
  if not program then return nil, missing end

  local argv = { program, "upscale", M.INPUT, "--res", res.text }
  if source.tile then
    argv[#argv + 1] = "--tile-size"
    argv[#argv + 1] = source.tile.text
  end
  for _, a in ipairs({ "-o", M.OUTPUT, "--quiet", "--json" }) do argv[#argv + 1] = a end
  for _, a in ipairs(M.split_args(options.extra_args)) do argv[#argv + 1] = a end
  local output, err = M.run_cli{ sprite = sprite, image = source.image, argv = argv, tag = res.text, prefs = prefs,
                                 what = source.what, program = program, windows = windows }
  if not output then return nil, err end
  return output, nil, source, res
end

-- Markers in an argv for run_cli: the temporary input PNG and the result's name (tables, so no text a
-- user types can be taken for them).
M.INPUT, M.OUTPUT = {}, {}

-- The work every command shares: saves `image` as a PNG in the temporary folder, runs `argv` (its
-- M.INPUT and M.OUTPUT replaced by that PNG and the result's name, manifold-ID-TAG.png) as one command
-- through io.popen, after deleting the previous run's temporary files. Returns the result's path, or
-- nil and why (the CLI's own error line, a refused permission, a crash).
function M.run_cli(spec)
  local prefs, windows, program = spec.prefs, spec.windows, spec.program
  local temp = app.fs.tempPath
  local id = new_run_id()
  local in_name, out_name = "manifold-" .. id .. ".png", "manifold-" .. id .. "-" .. spec.tag .. ".png"
  local input, output = join(temp, in_name, windows), join(temp, out_name, windows)
  local argv = {}
  for i, a in ipairs(spec.argv) do argv[i] = (a == M.INPUT and input) or (a == M.OUTPUT and output) or a end

  local cleanup = cleanup_paths(prefs, temp, windows)
  local command, bad_arg, why = M.command_line(argv, cleanup, windows)
  M.last = { argv = argv, command = command, input = input, output = output, source = spec.what }
  if not command then
    return nil, "cannot pass '" .. bad_arg .. "' to manifold: " .. why ..
                ". Use a folder with an ASCII name, or one under %USERPROFILE%, %APPDATA% or %LOCALAPPDATA%."
  end

  -- 1. write: the image for the CLI (Image:saveAs asks for write access).
  local ok, saved = pcall(function()
    return spec.image:saveAs{ filename = input, palette = spec.sprite.palettes[1] }
  end)
  if not ok then
    if refused(saved) then return nil, refusal_text("write the image for manifold to " .. input) end
    return nil, "could not save " .. input .. ": " .. tostring(saved)
  end
  if saved == false then return nil, "could not save " .. input end
  -- This run's files are deleted by the next run's command; until a command has run, the
  -- earlier ones are still to be deleted too.
  local earlier = prefs.cleanup
  prefs.cleanup = in_name .. "|" .. out_name .. (earlier and earlier ~= "" and ("|" .. earlier) or "")

  -- 2. execute: one command (io.popen asks for execute access from 1.3.7).
  local output_text, status
  local ran, err = pcall(function()
    local pipe = io.popen(command, "r")
    if not pipe then error("io.popen failed") end
    output_text = pipe:read("a") or ""
    local _, how, code = pipe:close()
    status = { how = how, code = code }
  end)
  if not ran then
    if refused(err) then return nil, refusal_text("run manifold") end
    return nil, "could not run '" .. program .. "': " .. tostring(err)
  end
  prefs.cleanup = in_name .. "|" .. out_name
  M.last.exit, M.last.how, M.last.output_text = status.code, status.how, output_text

  if status.code ~= 0 then
    local code = status.code
    if status.how == "exit" and ((code == 127 and not windows) or (code == 9009 and windows)) then
      return nil, "could not run '" .. program .. "' (not found on PATH); give its full path as the manifold executable"
    end
    if status.how == "exit" and code == 126 and not windows then  -- the shell found it, exec refused
      return nil, "could not run '" .. program .. "': permission denied (is it an executable file?)"
    end
    if status.how == "signal" or (not windows and code > 128 and code < 160) then
      local signal = status.how == "signal" and code or code - 128
      local said = output_text:gsub("[^\n]*Killed[^\n]*\n?", "")  -- the shell's own report of it
      return nil, "manifold was stopped by signal " .. signal ..
                  (signal == 9 and " (killed: out of memory?)" or "") ..
                  (said:match("%S") and ("; it said: " .. M.cli_error(said, code)) or "")
    end
    return nil, M.cli_error(output_text, code)
  end
  if not app.fs.isFile(output) then return nil, "manifold finished but wrote no " .. output end
  return output
end

-- Variants ----------------------------------------------------------------------------------------

-- The options of "Variants of this tile...", as strings (what the dialog's entries hold and what a
-- script passes in app.params): how many variants, the strength (0 to 1: the share of the tile's
-- inside redrawn), the seed, their size ("" for the tile's own), the executable and extra arguments.
M.VARIANT_OPTIONS = { "count", "strength", "seed", "size", "executable", "extra_args" }

-- `options` with each of `names` that a script set in app.params (a string, as on the command line).
local function with_script_params(options, names)
  local ok, params = pcall(function() return app.params end)
  if ok and type(params) == "table" then
    for _, name in ipairs(names) do
      if params[name] ~= nil then options[name] = tostring(params[name]) end
    end
  end
  return options
end

function M.default_variant_options(prefs)
  return { count = prefs.variants_count or "8", strength = prefs.variants_strength or "0.5",
           seed = prefs.variants_seed or "0", size = prefs.variants_size or "",
           executable = prefs.executable or "manifold", extra_args = prefs.extra_args or "" }
end

function M.script_variant_options(prefs)
  return with_script_params(M.default_variant_options(prefs), M.VARIANT_OPTIONS)
end

-- Saves the active frame (the tile), runs `manifold variants` on it; returns the path of the strip of
-- variants (side by side), the tile size, or nil and the error.
function M.variants(options)
  local sprite, prefs, windows = options.sprite, options.prefs or {}, M.is_windows()
  local count = tonumber(tostring(options.count or ""):match("^%s*(%d+)%s*$") or "")
  if not count or count < 1 or count > 64 then
    return nil, "'" .. tostring(options.count) .. "' is not a number of variants; give 1 to 64"
  end
  local strength = tonumber(tostring(options.strength or ""):match("^%s*([%d%.]+)%s*$") or "")
  if not strength or strength < 0 or strength > 1 then
    return nil, "'" .. tostring(options.strength) .. "' is not a strength; give a share from 0 to 1, like 0.5"
  end
  local seed = tostring(options.seed or ""):match("^%s*(%d+)%s*$")
  if not seed then return nil, "'" .. tostring(options.seed) .. "' is not a seed; give a whole number, like 0" end
  local size = { w = sprite.width, h = sprite.height, text = size_text(sprite.width, sprite.height) }
  if tostring(options.size or ""):match("%S") then
    local factor = M.parse_factor(options.size)  -- 2x: twice the tile (the frame)
    size = factor and M.scaled_size(size, factor) or M.parse_size(options.size)
    if not size then
      return nil, "'" .. options.size .. "' is not a tile size; give a size like 64 or 64x48, or a factor like 2x"
    end
  end
  local exe = options.executable
  if not exe or not exe:match("%S") then exe = "manifold" end
  exe = exe:match("^%s*(.-)%s*$")
  local program, missing = M.find_executable(exe, windows)
  if not program then return nil, missing end

  local image = Image(sprite.spec)
  image:drawSprite(sprite, options.frame and options.frame.frameNumber or 1)
  local argv = { program, "variants", M.INPUT, "-n", tostring(count), "--strength", tostring(strength),
                 "--seed", seed, "--res", size.text, "-o", M.OUTPUT, "--quiet", "--json" }
  for _, a in ipairs(M.split_args(options.extra_args)) do argv[#argv + 1] = a end
  local output, err = M.run_cli{ sprite = sprite, image = image, argv = argv, tag = "variants", prefs = prefs,
                                 what = "sprite", program = program, windows = windows }
  if not output then return nil, err end
  return output, nil, size, count
end

-- Options -----------------------------------------------------------------------------------------

-- The options of one run, as strings (what the dialog's entries hold and what a script passes):
--   resolution  the new tile size, "64" or "64x48"
--   tile_size   the tile size of a sheet, "16" or "16x8"; "" for one tile; ignored when the
--               active layer is a tilemap (its tileset's tiles are the tiles)
--   executable  the manifold program: a path, or a name looked up on PATH
--   extra_args  more arguments for it ("--model DIR --device cpu")
M.OPTIONS = { "resolution", "tile_size", "executable", "extra_args" }

-- What the dialog offers, and what a run without it uses for what it is not given: twice the
-- tile for the resolution, the tilemap's or the user's grid for a sheet, the executable and the
-- extra arguments of the last run.
function M.default_options(prefs, sprite, layer)
  local tile_w, tile_h = sprite.width, sprite.height
  local tile_size = ""
  if layer and layer.isTilemap and layer.tileset then
    local size = layer.tileset.grid.tileSize
    tile_w, tile_h = size.width, size.height
  else
    local sheet = M.sheet_tile(sprite)
    if sheet then tile_w, tile_h, tile_size = sheet.w, sheet.h, sheet.text end
  end
  return { resolution = size_text(tile_w * 2, tile_h * 2), tile_size = tile_size,
           executable = prefs.executable or "manifold", extra_args = prefs.extra_args or "" }
end

-- The options of a run without the dialog: the defaults, the resolution of the last run, then
-- app.params (what `aseprite -b --script-param resolution=64 --script x.lua` gives the script,
-- and what a script may set before app.command.ManifoldUpscaleAgain()). Aseprite does not hand
-- the table of app.command.Name{...} to an extension's command (plugin_class.cpp PluginCommand
-- has no onLoadParams; onclick is called with no arguments), so app.params is the way in.
function M.script_options(prefs, sprite, layer)
  local options = M.default_options(prefs, sprite, layer)
  if prefs.resolution then options.resolution = prefs.resolution end
  return with_script_params(options, M.OPTIONS)
end

local function ask(prefs, sprite, layer)
  local tilemap = layer and layer.isTilemap and layer.tileset
  local offered = M.default_options(prefs, sprite, layer)
  local dlg = Dialog("Upscale with manifold")
  dlg:label{ id = "what", label = "Input:", text = tilemap and ("tileset of layer '" .. layer.name .. "'")
             or (offered.tile_size ~= "" and "sprite as a tile sheet" or "sprite (one tile)") }
  dlg:entry{ id = "resolution", label = "New tile size (or 2x):", text = offered.resolution, focus = true }
  if not tilemap then
    dlg:entry{ id = "tile_size", label = "Sheet tile size (empty: one tile):", text = offered.tile_size }
  end
  dlg:entry{ id = "executable", label = "manifold executable:", text = offered.executable }
  dlg:entry{ id = "extra_args", label = "Extra arguments:", text = offered.extra_args }
  dlg:button{ id = "ok", text = "&OK", focus = true }
  dlg:button{ id = "cancel", text = "&Cancel" }
  dlg:show()
  local data = dlg.data
  if not data.ok then return nil end
  return { resolution = data.resolution, tile_size = data.tile_size, executable = data.executable,
           extra_args = data.extra_args }
end

-- Where Save puts the result: TITLE-N.png beside the original sprite (never over a file that
-- exists); nil for a sprite that was never saved.
local function result_name(sprite, res)
  local folder = app.fs.filePath(sprite.filename or "")
  if folder == "" then return nil end
  local title = app.fs.fileTitle(sprite.filename)
  for n = 1, 99 do
    local name = app.fs.joinPath(folder, title .. "-" .. res.text .. (n > 1 and ("-" .. n) or "") .. ".png")
    if not app.fs.isFile(name) then return name end
  end
  return nil
end

-- The checks both commands start with; returns the active sprite or nil (after saying why).
local function ready()
  if not M.supported() then
    notify("Upscale with manifold needs Aseprite " .. M.MIN_VERSION_TEXT .. " or newer (this is " ..
           tostring(app.version) .. ").")
    return nil
  end
  local sprite = app.sprite
  if not sprite then
    notify("Open a sprite first.")
    return nil
  end
  return sprite
end

-- The work, without any question: write the active sprite (its frame, as one tile or a sheet) or
-- the active tilemap layer's tileset, run manifold, open the result as a new sprite (the active
-- one afterwards). Returns the new sprite, or nil after telling the user why.
-- The sprite manifold wrote, opened (app.open asks for read access), or nil with the reason
-- said to the user.
local function open_result(output)
  local ok, result = pcall(app.open, output)
  if not ok then
    notify(refused(result) and refusal_text("open the result " .. output)
           or ("Could not open " .. output .. ": " .. tostring(result)))
    return nil
  end
  if not result then
    notify("Could not open " .. output)
    return nil
  end
  return result
end

function M.work(plugin, options)
  local sprite = ready()
  if not sprite then return nil end
  local prefs = plugin.preferences
  -- Kept even when the run fails: the next dialog shows what was typed, to correct it.
  prefs.executable, prefs.extra_args = options.executable, options.extra_args
  local output, err, source, res = M.upscale{
    sprite = sprite, layer = app.layer, frame = app.frame, resolution = options.resolution,
    tile_size = options.tile_size, executable = options.executable, extra_args = options.extra_args,
    prefs = prefs,
  }
  if not output then
    notify({ "manifold could not upscale:", err })
    return nil
  end
  -- what "Upscale with manifold again" uses: a factor stays a factor (of the next sprite's size)
  prefs.resolution = M.parse_factor(options.resolution) and options.resolution:match("^%s*(.-)%s*$") or res.text
  -- 3. read: open the result (app.open asks for read access).
  local result = open_result(output)
  if not result then return nil end
  if source.tile then
    result.gridBounds = Rectangle(0, 0, res.w, res.h)  -- a sheet: every cell is now res.w x res.h
  end
  local name = result_name(sprite, res)
  if name then result.filename = name end
  if app.isUIAvailable == false then print("manifold: upscaled the " .. source.what .. " to " .. result.filename) end
  return result
end

-- "Variants of this tile...": the dialog (count, strength, seed, size, executable), then the work:
-- the active frame as one tile, its variants opened as a new sprite, a strip of tiles with its grid
-- set to them, named TITLE-variants.png beside the original. Without a UI: app.params, else the
-- last run's settings.
local function ask_variants(prefs, sprite)
  local offered = M.default_variant_options(prefs)
  local dlg = Dialog("Variants of this tile")
  dlg:label{ id = "what", label = "Tile:", text = "the sprite (" .. size_text(sprite.width, sprite.height) .. ")" }
  dlg:entry{ id = "count", label = "Variants:", text = offered.count, focus = true }
  dlg:entry{ id = "strength", label = "Strength (0 to 1):", text = offered.strength }
  dlg:entry{ id = "seed", label = "Seed:", text = offered.seed }
  dlg:entry{ id = "size", label = "Size (empty: the tile's):", text = offered.size }
  dlg:entry{ id = "executable", label = "manifold executable:", text = offered.executable }
  dlg:entry{ id = "extra_args", label = "Extra arguments:", text = offered.extra_args }
  dlg:button{ id = "ok", text = "&OK", focus = true }
  dlg:button{ id = "cancel", text = "&Cancel" }
  dlg:show()
  local data = dlg.data
  if not data.ok then return nil end
  local options = {}
  for _, name in ipairs(M.VARIANT_OPTIONS) do options[name] = data[name] end
  return options
end

function M.work_variants(plugin, options)
  local sprite = ready()
  if not sprite then return nil end
  local prefs = plugin.preferences
  prefs.executable, prefs.extra_args = options.executable, options.extra_args
  prefs.variants_count, prefs.variants_strength = options.count, options.strength
  prefs.variants_seed, prefs.variants_size = options.seed, options.size
  local output, err, size, count = M.variants{
    sprite = sprite, frame = app.frame, count = options.count, strength = options.strength, seed = options.seed,
    size = options.size, executable = options.executable, extra_args = options.extra_args, prefs = prefs,
  }
  if not output then
    notify({ "manifold could not make variants:", err })
    return nil
  end
  local result = open_result(output)
  if not result then return nil end
  result.gridBounds = Rectangle(0, 0, size.w, size.h)  -- one variant per cell
  local name = result_name(sprite, { text = "variants" })
  if name then result.filename = name end
  if app.isUIAvailable == false then print("manifold: " .. count .. " variants of the sprite in " .. result.filename) end
  return result
end

function M.run_variants(plugin)
  local sprite = ready()
  if not sprite then return nil end
  if app.isUIAvailable == false then
    return M.work_variants(plugin, M.script_variant_options(plugin.preferences))
  end
  local options = ask_variants(plugin.preferences, sprite)
  if not options then return nil end
  return M.work_variants(plugin, options)
end

-- "Upscale with manifold...": the dialog gathers the options, then the work. Without a UI
-- (batch mode: Dialog() is nil, aseprite/api Changes.md v1.2.35) it is the run without questions.
function M.run(plugin)
  local sprite = ready()
  if not sprite then return nil end
  local layer = app.layer
  if app.isUIAvailable == false then
    return M.work(plugin, M.script_options(plugin.preferences, sprite, layer))
  end
  local options = ask(plugin.preferences, sprite, layer)
  if not options then return nil end
  return M.work(plugin, options)
end

-- "Upscale with manifold again": no questions; the last run's settings or a script's app.params.
function M.again(plugin)
  local sprite = ready()
  if not sprite then return nil end
  return M.work(plugin, M.script_options(plugin.preferences, sprite, app.layer))
end

function init(plugin)
  local function enabled() return not M.supported() or app.sprite ~= nil end
  plugin:newCommand{
    id = "ManifoldUpscale",
    title = "Upscale with manifold...",
    group = "sprite_size",  -- data/gui.xml: Sprite Size, Canvas Size; this item follows them
    onclick = function() M.run(plugin) end,
    onenabled = enabled,
  }
  plugin:newCommand{
    id = "ManifoldUpscaleAgain",
    title = "Upscale with manifold again",
    group = "sprite_size",
    onclick = function() M.again(plugin) end,
    onenabled = enabled,
  }
  plugin:newCommand{
    id = "ManifoldVariants",
    title = "Variants of this tile...",
    group = "sprite_size",
    onclick = function() M.run_variants(plugin) end,
    onenabled = enabled,
  }
end

function exit(plugin)
end

return M
