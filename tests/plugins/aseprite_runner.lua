-- aseprite_runner.lua - runs plugins/aseprite/manifold.lua under lua5.4 against fake_aseprite.lua.
--
--   lua5.4 aseprite_runner.lua PLAN.lua
--
-- PLAN.lua (written by tests/plugins/test_aseprite_extension.py) returns
--   { extension = path, result = path, cases = { {name=..., sprite=..., tilemap=..., answers=...}, ... } }
-- Each case sets up the active sprite (and a tilemap layer), answers the dialog, runs the
-- extension's command like a click in the Sprite menu would, and records what the extension did.
-- The results go to the JSON file `result`.

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local fake = dofile(here .. "/fake_aseprite.lua")
local plan = dofile(assert(arg[1], "usage: lua5.4 aseprite_runner.lua PLAN.lua"))

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
  if t == "table" then
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

-- Load the extension the way Aseprite does: run the script, then call init(plugin) -------------

local executed = {}
local real_execute = os.execute
os.execute = function(command)  -- record, then really run it
  executed[#executed + 1] = command
  return real_execute(command)
end

local M = dofile(plan.extension)
local plugin = fake.plugin()
init(plugin)
local registration = fake.calls
local command = assert(plugin.commands["ManifoldUpscale"], "the extension registered no ManifoldUpscale command")

local results = { registration = registration, cases = {} }
for _, case in ipairs(plan.cases) do
  fake.reset()
  executed = {}
  M.last = nil
  app.activeSprite, app.activeLayer = nil, nil
  if case.sprite then
    local flat = fake.image_from_rgba(case.sprite.rgba, case.sprite.width, case.sprite.height)
    local grid = case.sprite.grid and Rectangle(0, 0, case.sprite.grid[1], case.sprite.grid[2]) or nil
    app.activeSprite = fake.sprite(flat, { filename = case.sprite.filename, grid = grid })
    app.activeLayer = fake.layer("Layer 1")
  end
  if case.tilemap then
    local tiles = {}
    for i, path in ipairs(case.tilemap.tiles) do
      tiles[i] = fake.image_from_rgba(path, case.tilemap.tile[1], case.tilemap.tile[2])
    end
    app.activeLayer = fake.layer("Tiles", fake.tileset(case.tilemap.tile[1], case.tilemap.tile[2], tiles))
  end
  for i, a in ipairs(case.answers or {}) do fake.answers[i] = a end

  local enabled = command.onenabled()
  local ok, err = pcall(command.onclick)

  local alerts, dialogs = {}, {}
  for _, c in ipairs(fake.calls) do
    if c.call == "app.alert" then alerts[#alerts + 1] = c.args.text end
  end
  for _, d in ipairs(fake.dialogs) do dialogs[#dialogs + 1] = { title = d.title, widgets = d.widgets } end
  local last = M.last
  local leftovers = {}
  if last then
    for _, p in ipairs({ last.input }) do
      if app.fs.isFile(p) then leftovers[#leftovers + 1] = p end
    end
  end
  local prefs = {}
  for k, v in pairs(plugin.preferences) do prefs[k] = v end
  results.cases[#results.cases + 1] = {
    name = case.name, enabled = enabled, ok = ok, lua_error = not ok and tostring(err) or nil,
    calls = fake.calls, alerts = alerts, dialogs = dialogs, executed = executed,
    argv = last and last.argv or nil, exit = last and last.exit or nil, input = last and last.input or nil,
    output = last and last.output or nil, source = last and last.source or nil,
    opened = fake.opened, leftovers = leftovers, preferences = prefs,
  }
end

local f = assert(io.open(plan.result, "w"))
f:write(json(results))
f:close()
print("ran " .. #plan.cases .. " cases")
