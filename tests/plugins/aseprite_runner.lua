-- aseprite_runner.lua - runs plugins/aseprite/manifold.lua under lua5.4 against fake_aseprite.lua.
--
--   lua5.4 aseprite_runner.lua PLAN.lua
--
-- PLAN.lua (written by tests/plugins/test_aseprite_extension.py) returns
--   { extension = path, result = path, fake = {version=..., platform=..., batch=..., temp=...,
--     win_root=..., env={...}, default_grid={x, y, w, h}},
--     cases = { {name=..., sprite=..., tilemap=..., answers=..., permissions=..., params=...,
--                command=id (default ManifoldUpscale), call={...} (through app.command)}, ... },
--     probes = { {name=..., lua="return function(M, fake) ... end"}, ... } }
-- Each case sets up the active sprite (and a tilemap layer), answers the dialog and the
-- permission prompts, runs the extension's command like a click in the Sprite menu would, and
-- records what the extension did. The preferences and the permissions granted with "Don't show
-- this again" carry over from case to case, as in one Aseprite session. Probes call the
-- extension's functions directly. The results go to the JSON file `result`.

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local fake = dofile(here .. "/fake_aseprite.lua")
local plan = dofile(assert(arg[1], "usage: lua5.4 aseprite_runner.lua PLAN.lua"))
local real_open = fake.real.io_open

-- JSON out ------------------------------------------------------------------------------------

local function json(v)
  local t = type(v)
  if t == "nil" then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if v == math.floor(v) then return string.format("%d", v) end
    return string.format("%.17g", v)
  end
  if t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c)
      local named = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
      return named[c] or string.format("\\u%04x", c:byte())
    end) .. '"'
  end
  if t == "table" and getmetatable(v) == nil then
    if next(v) == nil then return "[]" end
    if v[1] ~= nil then
      local items = {}
      for i = 1, #v do items[i] = json(v[i]) end
      return "[" .. table.concat(items, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do
      if type(k) == "string" and not k:match("^_") then keys[#keys + 1] = k end
    end
    table.sort(keys)
    local items = {}
    for _, k in ipairs(keys) do items[#items + 1] = json(k) .. ":" .. json(v[k]) end
    return "{" .. table.concat(items, ",") .. "}"
  end
  return json(tostring(v))
end

-- Set up the fake, then load the extension the way Aseprite does: run the script, call init ----

local options = plan.fake or {}
if options.default_grid then options.default_grid = Rectangle(table.unpack(options.default_grid)) end
fake.setup(options)

local M = dofile(plan.extension)
local plugin = fake.plugin()
init(plugin)
local registration = fake.calls
assert(plugin.commands["ManifoldUpscale"], "the extension registered no ManifoldUpscale command")

local modes = { rgb = ColorMode.RGB, indexed = ColorMode.INDEXED, grayscale = ColorMode.GRAYSCALE }

local function list_dir(host_dir)
  local names = {}
  local p = fake.real.io_popen("ls -A '" .. host_dir:gsub("'", "'\\''") .. "' 2>/dev/null", "r")
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  table.sort(names)
  return names
end

local function describe_sprite(s)
  if not s then return nil end
  local g = s.gridBounds
  return { filename = s.filename, width = s.width, height = s.height,
           gridBounds = { x = g.x, y = g.y, width = g.width, height = g.height } }
end

local results = { registration = registration, menu = plugin.menu, cases = {}, probes = {} }
for _, case in ipairs(plan.cases or {}) do
  fake.reset()
  M.last = nil
  local sprite, layer = nil, nil
  if case.sprite then
    local c = case.sprite
    local mode = modes[c.mode or "rgb"]
    local flat = fake.image_from_raw(c.raw, c.width, c.height, mode, c.transparent)
    local palette = c.palette and fake.palette(c.palette) or nil
    local grid = c.grid and Rectangle(table.unpack(c.grid)) or nil
    local layers = { fake.layer("Layer 1") }
    layer = layers[1]
    if case.tilemap then
      local t = case.tilemap
      local tiles = {}
      for i, path in ipairs(t.tiles) do tiles[i] = fake.image_from_raw(path, t.tile[1], t.tile[2], mode, c.transparent) end
      local tilemap = fake.layer("Tiles", fake.tileset(t.tile[1], t.tile[2], tiles, mode))
      layers[#layers + 1] = t.in_group and fake.group("Group", { tilemap }) or tilemap
      if t.active ~= false then layer = tilemap end
    end
    sprite = fake.sprite(flat, { filename = c.filename, grid = grid, palette = palette, layers = layers })
  end
  fake.set_active(sprite, sprite and layer or nil, sprite and fake.frame(1) or nil)
  for i, a in ipairs(case.answers or {}) do fake.answers[i] = a end
  for i, a in ipairs(case.permissions or {}) do fake.permission_answers[i] = a end
  app.params = case.params or {}  -- what --script-param gives the script

  -- A click in the Sprite menu, or (case.call) a script's app.command.Id{...}.
  local command = assert(plugin.commands[case.command or "ManifoldUpscale"], "no command " .. tostring(case.command))
  local enabled = command.onenabled()
  local ok, err
  if case.call then
    ok, err = pcall(function() return app.command[case.command](case.call) end)
  else
    ok, err = pcall(command.onclick)
  end

  local alerts, dialogs = {}, {}
  for _, c in ipairs(fake.calls) do
    if c.call == "app.alert" then alerts[#alerts + 1] = c.args.text end
  end
  for _, d in ipairs(fake.dialogs) do dialogs[#dialogs + 1] = { title = d._title, widgets = d._widgets } end
  local prefs = {}
  for k, v in pairs(plugin.preferences) do prefs[k] = v end
  local last = M.last or {}
  -- The next run deletes this run's temporary files: keep a copy of the result for the test.
  local kept = nil
  if last.output and plan.keep and fake.real.io_open(fake.host(last.output), "rb") then
    kept = plan.keep .. "/" .. #results.cases + 1 .. ".png"
    fake.real.os_execute("cp '" .. fake.host(last.output):gsub("'", "'\\''") .. "' '" .. kept .. "'")
  end
  results.cases[#results.cases + 1] = {
    name = case.name, enabled = enabled, ok = ok, lua_error = not ok and tostring(err) or nil,
    calls = fake.calls, alerts = alerts, dialogs = dialogs, prompts = fake.prompts,
    deprecated = fake.deprecated, shell_lines = fake.shell_lines, shell_argv = fake.shell_argv,
    argv = last.argv, command = last.command, exit = last.exit, input = last.input, output = last.output,
    source = last.source, output_text = last.output_text,
    input_host = last.input and fake.host(last.input) or nil,
    output_host = last.output and fake.host(last.output) or nil,
    opened = describe_sprite(fake.opened), preferences = prefs, kept = kept,
    temp_files = list_dir(fake.host(app.fs.tempPath)),
  }
end

for _, probe in ipairs(plan.probes or {}) do
  local fn = assert(load(probe.lua, probe.name))()
  local ok, value = pcall(fn, M, fake)
  results.probes[probe.name] = { ok = ok, value = ok and value or nil, error = not ok and tostring(value) or nil }
end

local f = assert(real_open(plan.result, "w"))
f:write(json(results))
f:close()
print("ran " .. #(plan.cases or {}) .. " cases")
