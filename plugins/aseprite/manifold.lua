-- manifold.lua - Aseprite extension: upscale a sprite, a tile sheet or a tileset with manifold.
--
-- manifold learns a compact code for pixel-art tiles and renders every tile again at any
-- resolution. This extension adds "Upscale with manifold..." to the Sprite menu (next to
-- Sprite Size). The command:
--
--   1. asks for the resolution of the new tiles (64, or 64x48 for width x height), the tile
--      size when the sprite is a sheet of tiles, and where the manifold executable is;
--   2. saves a PNG to the temporary folder: the tileset of the active layer when it is a
--      tilemap layer (its tiles laid out as a sheet), else the active frame of the sprite;
--   3. runs  manifold upscale IN.png --res N [--tile-size T] -o OUT.png --quiet --json [extra]
--   4. opens OUT.png as a new sprite (with its grid set to the new tile size for sheets), or
--      shows the CLI's one-line error message.
--
-- The executable path and extra arguments (for example --model DIR or --device cpu) are kept
-- in the extension's preferences. Needs Aseprite 1.2.18+ (plugins), tilemap layers need 1.3.
-- Tested with Lua 5.4 against a recording fake of the `app` API (tests/plugins/), not in a
-- real Aseprite.

local M = {}

local is_windows = package.config:sub(1, 1) == "\\"

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

-- One argument quoted for the shell that os.execute uses (sh, or cmd.exe on Windows).
function M.quote(arg)
  if is_windows then
    return '"' .. arg:gsub('"', '""') .. '"'
  end
  if arg:match("^[%w%./_%-=:,+@]+$") then return arg end
  return "'" .. arg:gsub("'", "'\\''") .. "'"
end

function M.command_line(argv, stdout_path, stderr_path)
  local parts = {}
  for i, a in ipairs(argv) do parts[i] = M.quote(a) end
  local line = table.concat(parts, " ") .. " >" .. M.quote(stdout_path) .. " 2>" .. M.quote(stderr_path)
  if is_windows then line = '"' .. line .. '"' end  -- cmd /c strips one outer pair of quotes
  return line
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local text = f:read("a") or ""
  f:close()
  return text
end

-- The CLI's one-line error: its last line starting with "error:", else its last line.
function M.cli_error(stderr, stdout, code)
  local last, err
  for line in (stderr .. "\n" .. stdout):gsub("\27%[[%d;]*%a", ""):gmatch("[^\r\n]+") do
    line = line:match("^%s*(.-)%s*$")
    if line ~= "" then
      last = line
      if line:lower():match("^error:") then err = line:gsub("^[Ee][Rr][Rr][Oo][Rr]:%s*", "") end
    end
  end
  return err or last or ("exited with code " .. tostring(code))
end

local function temp_base()
  local stamp = os.date("%Y%m%d-%H%M%S") .. "-" .. tostring(math.random(100000, 999999))
  return app.fs.joinPath(app.fs.tempPath, "manifold-" .. stamp)
end

-- The image to upscale: the active layer's tileset laid out as a sheet, or the active frame.
-- Returns {image=Image, tile=size or nil, what=string, columns=n} or nil, error.
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
      sheet:drawImage(tileset:getTile(i), Point(x, y))
    end
    return { image = sheet, tile = { w = size.width, h = size.height,
             text = (size.width == size.height) and tostring(size.width) or (size.width .. "x" .. size.height) },
             what = "tileset of layer '" .. layer.name .. "' (" .. count .. " tiles)", columns = columns }
  end
  local image = Image(sprite.spec)
  image:drawSprite(sprite, frame)
  local tile = nil
  if tostring(tile_size_text or ""):match("%S") then
    tile = M.parse_size(tile_size_text)
    if not tile then return nil, "'" .. tile_size_text .. "' is not a tile size; give a size like 16 or 16x8" end
  end
  return { image = image, tile = tile, what = tile and "sheet" or "sprite" }
end

-- Runs the CLI; returns the path of the upscaled PNG, or nil and the error message.
function M.upscale(options)
  local sprite = options.sprite
  local res = M.parse_size(options.resolution)
  if not res then
    return nil, "'" .. tostring(options.resolution) .. "' is not a resolution; give a size like 64 or 64x48"
  end
  local source, problem = M.source_image(sprite, options.layer, options.frame, options.tile_size)
  if not source then return nil, problem end

  local base = temp_base()
  local input, output = base .. "-in.png", base .. "-" .. res.text .. ".png"
  local stdout_path, stderr_path = base .. "-stdout.txt", base .. "-stderr.txt"
  source.image:saveAs{ filename = input, palette = sprite.palettes and sprite.palettes[1] or nil }

  local exe = options.executable
  if not exe or not exe:match("%S") then exe = "manifold" end
  local argv = { exe, "upscale", input, "--res", res.text }
  if source.tile then
    argv[#argv + 1] = "--tile-size"
    argv[#argv + 1] = source.tile.text
  end
  for _, a in ipairs({ "-o", output, "--quiet", "--json" }) do argv[#argv + 1] = a end
  for _, a in ipairs(M.split_args(options.extra_args)) do argv[#argv + 1] = a end

  local ok, how, code = os.execute(M.command_line(argv, stdout_path, stderr_path))
  local stdout, stderr = read_file(stdout_path), read_file(stderr_path)
  os.remove(input)
  os.remove(stdout_path)
  os.remove(stderr_path)
  M.last = { argv = argv, exit = code, how = how, input = input, output = output, source = source.what }

  if not ok then
    if how == "exit" and (code == 127 or code == 9009) then
      return nil, "could not run '" .. exe .. "' (not found or not executable); set its path in this dialog"
    end
    return nil, M.cli_error(stderr, stdout, code)
  end
  if not app.fs.isFile(output) then return nil, "manifold finished but wrote no " .. output end
  return output, nil, source, res
end

local function ask(plugin, sprite, layer)
  local prefs = plugin.preferences
  local tilemap = layer and layer.isTilemap and layer.tileset
  local tile_w, tile_h = sprite.width, sprite.height
  local grid = sprite.gridBounds
  if tilemap then
    tile_w, tile_h = layer.tileset.grid.tileSize.width, layer.tileset.grid.tileSize.height
  elseif grid and grid.width > 0 and grid.height > 0 and grid.width < sprite.width
      and sprite.width % grid.width == 0 and sprite.height % grid.height == 0 then
    tile_w, tile_h = grid.width, grid.height
  end
  local is_sheet = not tilemap and (tile_w ~= sprite.width or tile_h ~= sprite.height)
  local suggestion = (tile_w == tile_h) and tostring(tile_w * 2) or (tile_w * 2 .. "x" .. tile_h * 2)

  local dlg = Dialog("Upscale with manifold")
  dlg:label{ id = "what", label = "Input:", text = tilemap and ("tileset of layer '" .. layer.name .. "'")
             or (is_sheet and "sprite as a tile sheet" or "sprite (one tile)") }
  dlg:entry{ id = "resolution", label = "New tile size:", text = suggestion, focus = true }
  if not tilemap then
    dlg:entry{ id = "tile_size", label = "Sheet tile size (empty: one tile):", text = is_sheet and
               ((tile_w == tile_h) and tostring(tile_w) or (tile_w .. "x" .. tile_h)) or "" }
  end
  dlg:entry{ id = "executable", label = "manifold executable:", text = prefs.executable or "manifold" }
  dlg:entry{ id = "extra_args", label = "Extra arguments:", text = prefs.extra_args or "" }
  dlg:button{ id = "ok", text = "&OK", focus = true }
  dlg:button{ id = "cancel", text = "&Cancel" }
  dlg:show()
  local data = dlg.data
  if not data.ok then return nil end
  prefs.executable = data.executable
  prefs.extra_args = data.extra_args
  return data
end

-- The command: dialog, CLI, new sprite. Returns the new sprite (or nil).
function M.run(plugin)
  local sprite = app.activeSprite
  if not sprite then
    app.alert{ title = "manifold", text = "Open a sprite first." }
    return nil
  end
  local layer, frame = app.activeLayer, app.activeFrame
  local data = ask(plugin, sprite, layer)
  if not data then return nil end

  local output, err, source, res = M.upscale{
    sprite = sprite, layer = layer, frame = frame, resolution = data.resolution,
    tile_size = data.tile_size, executable = data.executable, extra_args = data.extra_args,
  }
  if not output then
    app.alert{ title = "manifold", text = { "manifold could not upscale:", err } }
    return nil
  end
  local result = app.open(output)
  if not result then
    app.alert{ title = "manifold", text = "Could not open " .. output }
    return nil
  end
  if source.tile then
    result.gridBounds = Rectangle(0, 0, res.w, res.h)  -- a sheet: every cell is now res.w x res.h
  end
  return result
end

function init(plugin)
  plugin:newCommand{
    id = "ManifoldUpscale",
    title = "Upscale with manifold...",
    group = "sprite_size",
    onclick = function() M.run(plugin) end,
    onenabled = function() return app.activeSprite ~= nil end,
  }
end

function exit(plugin)
end

return M
