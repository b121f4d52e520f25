-- fake_aseprite.lua - a small recording fake of Aseprite's Lua API, for testing
-- plugins/aseprite/manifold.lua with a plain Lua 5.4 interpreter (Aseprite is not available here).
--
-- It implements only what the extension uses, after the API reference at
-- https://www.aseprite.org/api/ : app (activeSprite, activeLayer, activeFrame, fs, open, alert),
-- Image (spec, clear, drawImage, drawSprite, saveAs, getPixel), Dialog (label, entry, button,
-- show, data), Point, Size, Rectangle, ColorMode, tilemap layers with a Tileset (grid.tileSize,
-- #tileset, getTile). Image:saveAs writes a real RGBA PNG (stored deflate blocks), so the real
-- manifold CLI can read it; app.open reads the PNG header of what the CLI wrote.
-- Every call the extension makes on the fake is appended to fake.calls.
--
-- Usage: local fake = dofile("fake_aseprite.lua")  -- installs the globals

local fake = { calls = {}, answers = {}, dialogs = {} }

local function record(name, args)
  fake.calls[#fake.calls + 1] = { call = name, args = args or {} }
end

-- PNG writing ---------------------------------------------------------------------------------

local crc_table = {}
for n = 0, 255 do
  local c = n
  for _ = 1, 8 do
    if c & 1 == 1 then c = 0xEDB88320 ~ (c >> 1) else c = c >> 1 end
  end
  crc_table[n] = c
end

local function crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do c = crc_table[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8) end
  return c ~ 0xFFFFFFFF
end

local function adler32(s)
  local a, b = 1, 0
  for i = 1, #s do
    a = (a + s:byte(i)) % 65521
    b = (b + a) % 65521
  end
  return (b << 16) | a
end

local function chunk(kind, data)
  return string.pack(">I4", #data) .. kind .. data .. string.pack(">I4", crc32(kind .. data))
end

local function zlib_stored(raw)
  local parts = { "\x78\x01" }
  local pos = 1
  repeat
    local block = raw:sub(pos, pos + 65534)
    pos = pos + #block
    local final = pos > #raw and 1 or 0
    parts[#parts + 1] = string.pack("<BI2I2", final, #block, (~#block) & 0xFFFF) .. block
  until pos > #raw
  parts[#parts + 1] = string.pack(">I4", adler32(raw))
  return table.concat(parts)
end

function fake.write_png(path, width, height, rgba_rows)
  local raw = {}
  for y = 1, height do raw[#raw + 1] = "\0" .. rgba_rows[y] end
  local png = "\x89PNG\r\n\x1a\n"
      .. chunk("IHDR", string.pack(">I4I4BBBBB", width, height, 8, 6, 0, 0, 0))
      .. chunk("IDAT", zlib_stored(table.concat(raw)))
      .. chunk("IEND", "")
  local f = assert(io.open(path, "wb"))
  f:write(png)
  f:close()
end

function fake.png_size(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local head = f:read(24) or ""
  f:close()
  if #head < 24 or head:sub(1, 8) ~= "\x89PNG\r\n\x1a\n" then return nil end
  return string.unpack(">I4I4", head, 17)
end

-- Geometry and modes --------------------------------------------------------------------------

ColorMode = { RGB = 0, GRAYSCALE = 1, INDEXED = 2, TILEMAP = 4 }

function Point(x, y) return { x = x, y = y } end
function Size(w, h) return { width = w, height = h } end
function Rectangle(x, y, w, h) return { x = x, y = y, width = w, height = h } end

-- Image: pixels are 0xAABBGGRR integers, like app.pixelColor.rgba ------------------------------

local Image_mt = {}
Image_mt.__index = Image_mt

function Image(a, b, c)
  local w, h, mode
  if type(a) == "table" then
    w, h, mode = a.width, a.height, a.colorMode
  else
    w, h, mode = a, b, c or ColorMode.RGB
  end
  local img = setmetatable({ width = w, height = h, colorMode = mode, pixels = {} }, Image_mt)
  img.spec = { width = w, height = h, colorMode = mode, transparentColor = 0 }
  for i = 1, w * h do img.pixels[i] = 0 end
  record("Image", { width = w, height = h, colorMode = mode })
  return img
end

function Image_mt:getPixel(x, y) return self.pixels[y * self.width + x + 1] end
function Image_mt:drawPixel(x, y, v) self.pixels[y * self.width + x + 1] = v end

function Image_mt:clear()
  for i = 1, self.width * self.height do self.pixels[i] = 0 end
end

function Image_mt:drawImage(src, p, y)
  local ox, oy = p, y
  if type(p) == "table" then ox, oy = p.x, p.y end
  record("Image:drawImage", { width = src.width, height = src.height, x = ox, y = oy })
  for sy = 0, src.height - 1 do
    for sx = 0, src.width - 1 do
      local dx, dy = ox + sx, oy + sy
      if dx >= 0 and dy >= 0 and dx < self.width and dy < self.height then
        self:drawPixel(dx, dy, src:getPixel(sx, sy))
      end
    end
  end
end

function Image_mt:drawSprite(sprite, frame)
  record("Image:drawSprite", { sprite = sprite.filename, frame = frame and frame.frameNumber })
  self:drawImage(sprite._flat, Point(0, 0))
end

function Image_mt:saveAs(arg)
  local filename = type(arg) == "table" and arg.filename or arg
  record("Image:saveAs", { filename = filename, width = self.width, height = self.height })
  local rows = {}
  for y = 0, self.height - 1 do
    local row = {}
    for x = 0, self.width - 1 do row[#row + 1] = string.pack("<I4", self:getPixel(x, y)) end
    rows[#rows + 1] = table.concat(row)
  end
  fake.write_png(filename, self.width, self.height, rows)
  return true
end

-- An image from a file of raw RGBA bytes (what the pytest side writes as fixtures).
function fake.image_from_rgba(path, w, h)
  local f = assert(io.open(path, "rb"))
  local data = f:read("a")
  f:close()
  assert(#data == w * h * 4, path .. ": expected " .. (w * h * 4) .. " bytes")
  local img = Image(w, h, ColorMode.RGB)
  for i = 1, w * h do img.pixels[i] = string.unpack("<I4", data, (i - 1) * 4 + 1) end
  fake.calls[#fake.calls] = nil  -- fixture set-up, not a call by the extension
  return img
end

-- Sprites, layers, tilesets -------------------------------------------------------------------

function fake.sprite(flat, options)
  options = options or {}
  local s = {
    width = flat.width, height = flat.height, colorMode = ColorMode.RGB, _flat = flat,
    filename = options.filename or "Sprite-0001", palettes = { { fake = "palette" } },
    gridBounds = options.grid or Rectangle(0, 0, 16, 16),
  }
  -- Sprite.spec gives a new ImageSpec on every read, so changing it leaves the sprite alone.
  return setmetatable(s, { __index = function(t, k)
    if k == "spec" then
      return { width = t.width, height = t.height, colorMode = t.colorMode, transparentColor = 0 }
    end
  end })
end

function fake.tileset(tile_w, tile_h, images)
  local empty = Image(tile_w, tile_h, ColorMode.RGB)
  fake.calls[#fake.calls] = nil
  local ts = { grid = { tileSize = Size(tile_w, tile_h), origin = Point(0, 0) }, _tiles = images }
  function ts:getTile(i)
    record("Tileset:getTile", { index = i })
    if i == 0 then return empty end
    return self._tiles[i]
  end
  function ts:tile(i) return { index = i, image = self:getTile(i) } end
  return setmetatable(ts, { __len = function(t) return #t._tiles + 1 end })
end

function fake.layer(name, tileset)
  return { name = name, isTilemap = tileset ~= nil, tileset = tileset, isImage = tileset == nil }
end

-- Dialog: show() answers from fake.answers instead of a user ----------------------------------

local Dialog_mt = {}
Dialog_mt.__index = Dialog_mt

function Dialog(arg)
  local title = type(arg) == "table" and arg.title or arg
  local dlg = setmetatable({ title = title, widgets = {}, data = {} }, Dialog_mt)
  fake.dialogs[#fake.dialogs + 1] = dlg
  record("Dialog", { title = title })
  return dlg
end

local function widget(kind)
  return function(self, t)
    self.widgets[#self.widgets + 1] = { kind = kind, id = t.id, label = t.label, text = t.text }
    if t.id then
      if kind == "button" then self.data[t.id] = false else self.data[t.id] = t.text end
    end
    return self
  end
end
Dialog_mt.label = widget("label")
Dialog_mt.entry = widget("entry")
Dialog_mt.button = widget("button")
Dialog_mt.separator = widget("separator")
Dialog_mt.newrow = function(self) return self end

function Dialog_mt:show()
  record("Dialog:show", { title = self.title })
  local answers = table.remove(fake.answers, 1)
  if answers == nil or answers.cancel then
    self.data.cancel = true
    return self
  end
  for k, v in pairs(answers) do
    if self.data[k] == nil and k ~= "ok" then error("the dialog has no field '" .. k .. "'") end
    self.data[k] = v
  end
  self.data.ok = true
  return self
end

-- app -----------------------------------------------------------------------------------------

app = {
  version = "1.3.7-fake", apiVersion = 27,
  activeSprite = nil, activeLayer = nil, activeFrame = { frameNumber = 1 },
  fs = {
    pathSeparator = "/",
    tempPath = os.getenv("TMPDIR") or "/tmp",
    joinPath = function(...) return table.concat({ ... }, "/") end,
    isFile = function(p)
      local f = io.open(p, "rb")
      if f then f:close() return true end
      return false
    end,
    fileName = function(p) return p:match("([^/]*)$") end,
    filePath = function(p) return p:match("^(.*)/[^/]*$") or "" end,
    fileTitle = function(p) return (p:match("([^/]*)$"):gsub("%.[^.]*$", "")) end,
  },
}

function app.alert(arg)
  local text = arg
  if type(arg) == "table" then
    text = type(arg.text) == "table" and table.concat(arg.text, "\n") or arg.text
  end
  record("app.alert", { text = text, title = type(arg) == "table" and arg.title or nil })
  return 1
end

function app.open(filename)
  local w, h = fake.png_size(filename)
  record("app.open", { filename = filename, width = w, height = h })
  if not w then return nil end
  local sprite = { filename = filename, width = w, height = h, gridBounds = Rectangle(0, 0, 16, 16) }
  fake.opened = sprite
  app.activeSprite = sprite
  return sprite
end

function fake.reset()
  fake.calls, fake.answers, fake.dialogs, fake.opened = {}, {}, {}, nil
end

-- plugin ---------------------------------------------------------------------------------------

function fake.plugin()
  local plugin = { name = "manifold", displayName = "manifold", version = "0.1.0", path = ".",
                   preferences = {}, commands = {} }
  function plugin:newCommand(t)
    record("plugin:newCommand", { id = t.id, title = t.title, group = t.group })
    self.commands[t.id] = t
  end
  return plugin
end

return fake
