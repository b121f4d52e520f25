-- fake_aseprite.lua - a recording fake of Aseprite's Lua API, for testing
-- plugins/aseprite/manifold.lua with a plain Lua 5.4 interpreter (Aseprite is not available here).
--
-- It fakes only what the extension uses, but it fakes it the way Aseprite behaves, so that a test
-- fails where the real program would. Each behaviour names what it was checked against: the
-- aseprite/aseprite sources (src/app/script/*.cpp, data/gui.xml, the laf submodule's base/fs*.cpp)
-- at the release tags named, and the aseprite/api repository (api/*.md, Changes.md).
--
--   * Versions (fake.setup{version=...}): "1.3.0" (the v1.3 tag, app.apiVersion 26) up to
--     "1.3.18.2" (API 41). os.remove/os.rename raise "unsupported function" before 1.3.14
--     (v1.3: src/app/script/engine.cpp; v1.3.13: security.cpp; Changes.md v1.3.14 "Added
--     os.rename() and os.remove()"); io.popen asks no permission before 1.3.7 (v1.3.7 security.cpp
--     wraps it); app.os exists from 1.3.7 (Changes.md v1.3.7).
--   * Permissions (src/app/script/security.cpp ask_access): with the UI, io.open, io.popen,
--     os.execute, os.remove, Image:saveAs and app.open ask the user (read, write or execute; one
--     dialog per call) unless "Don't show this again" was ticked for that kind of access, which
--     is remembered for the script (fake.permission_answers: "allow", "always", "full", "deny").
--     A refusal raises a Lua error, except os.remove/os.rename, which return nil, message.
--     Without a UI (batch mode) nothing is asked.
--   * Batch mode (fake.setup{batch=true}): Dialog() returns nil (Changes.md v1.2.35;
--     dialog_class.cpp Dialog_new) and app.alert shows nothing (app_object.cpp App_alert).
--   * plugin:newCommand puts the item in the menu only when its group exists in data/gui.xml;
--     otherwise Aseprite logs an error and drops the item (src/app/app_menus.cpp
--     AppMenus::addMenuItemIntoGroup). fake.MENU_GROUPS lists the groups of data/gui.xml (v1.3
--     through v1.3.18.2 have the same ones the extension could use).
--   * Image:drawImage(image [, position, opacity, blendMode]) and the old (image, x, y, ...)
--     form (image_class.cpp Image_drawImage "argsFix"); NORMAL blending; Image:drawSprite(sprite,
--     frameNumber or Frame, position); Image:clear() fills with the mask colour.
--   * Image:saveAs{filename, palette} writes what the image is: an INDEXED image goes through the
--     palette given (without one, a default palette: wrong colours, as in Aseprite), its
--     transparent index becomes transparent; GRAYSCALE is 0xAAVV (api/image.md, image_class.cpp).
--   * app.open decodes the real PNG (inflate, filters) and returns nil for a file it cannot read
--     (api/app.md); the new sprite's grid is the default grid (cmd_open_file.cpp).
--   * Userdata objects raise "Field X does not exist" for unknown fields; `app` (a table) gives
--     nil (src/app/script/luacpp.cpp __generic_mt_index). Reading the deprecated app.activeSprite,
--     activeLayer, activeFrame or calling Tileset:getTile is recorded in fake.deprecated
--     (api/app.md, api/tileset.md).
--   * Windows (fake.setup{platform="windows"}): "\" paths, app.fs.tempPath ending in "\"
--     (laf base/fs_win32.h get_temp_path, GetTempPath), app.fs.joinPath adding a separator only
--     when needed (laf base/fs.cpp join_path), and os.execute/io.popen going through system() /
--     _popen: the command's bytes are read in the ANSI code page (so UTF-8 non-ASCII text comes
--     out mangled), then cmd.exe /c (quote stripping, %VAR% expansion, "&", redirections, del)
--     and the Microsoft C runtime's argument splitting. Windows paths are mapped onto a folder of
--     this machine (fake.win_root) and the program really runs.
--
-- Every call the extension makes on the fake is appended to fake.calls.
-- Usage: local fake = dofile("fake_aseprite.lua"); fake.setup{...}  -- installs the globals

local fake = { calls = {}, answers = {}, dialogs = {}, prompts = {}, deprecated = {},
               permission_answers = {}, granted = {}, opened = nil }

-- The real functions, before the fake replaces them (the test runner uses these).
fake.real = { io_open = io.open, io_popen = io.popen, os_execute = os.execute, os_remove = os.remove,
              os_rename = os.rename, os_getenv = os.getenv }

local function record(name, args)
  fake.calls[#fake.calls + 1] = { call = name, args = args or {} }
end

-- Versions ------------------------------------------------------------------------------------

-- app.apiVersion per release: src/app/script/api_version.h at each tag.
fake.API_VERSIONS = { ["1.2.40"] = 20, ["1.3.0"] = 26, ["1.3.7"] = 28, ["1.3.13"] = 32, ["1.3.14"] = 33,
                      ["1.3.17"] = 39, ["1.3.18.2"] = 41 }
fake.NEWEST = "1.3.18.2"

local function version_parts(v)
  local parts = {}
  for n in tostring(v):gmatch("%d+") do parts[#parts + 1] = tonumber(n) end
  return parts
end

function fake.at_least(v)
  local a, b = version_parts(fake.version), version_parts(v)
  for i = 1, math.max(#a, #b) do
    local x, y = a[i] or 0, b[i] or 0
    if x ~= y then return x > y end
  end
  return true
end

-- Menu groups of data/gui.xml (identical in v1.3, v1.3.14 and v1.3.18.2 for these menus).
fake.MENU_GROUPS = {}
for g in ([[file_new file_open file_recent file_save file_export file_import file_scripts file_app
  edit_undo edit_clipboard edit_insert edit_fill edit_transform edit_new edit_fx
  sprite_properties sprite_color sprite_duplicate sprite_size sprite_transformation sprite_crop
  layer_properties layer_new layer_duplicate layer_remove layer_merge cel_properties cel_new
  cel_delete cel_frames select_simple select_complex select_files view_controls view_extras
  view_screen view_new palette_main palette_generation help_docs help_about]]):gmatch("%S+") do
  fake.MENU_GROUPS[g] = true
end

-- Paths ---------------------------------------------------------------------------------------

local function is_windows() return fake.platform == "windows" end

-- The file on this machine that a path of the faked platform names.
function fake.host(path)
  path = tostring(path)
  if not is_windows() then return path end
  local drive, rest = path:match("^(%a):[\\/](.*)$")
  if not drive then error("fake: not an absolute Windows path: " .. path, 2) end
  return fake.win_root .. "/" .. drive:upper() .. "/" .. rest:gsub("\\", "/")
end

local function host_exists(host)
  local f = fake.real.io_open(host, "rb")
  if f then f:close() return true end
  return false
end

-- Permissions (src/app/script/security.cpp) ----------------------------------------------------

local ACCESS = { read = 1, write = 2, execute = 4 }

local function ask_access(target, mode, resource)
  if fake.batch then return true end  -- ask_access: only when the UI is available
  if fake.granted.full or fake.granted[mode] then return true end
  local answer = table.remove(fake.permission_answers, 1) or fake.default_permission
  fake.prompts[#fake.prompts + 1] = { mode = mode, resource = resource, target = target, answer = answer }
  if answer == "always" then
    fake.granted[mode] = true  -- "Don't show this again": that kind of access, for this script
  elseif answer == "full" then
    fake.granted.full = true   -- "Give full trust to this script"
  elseif answer ~= "allow" and answer ~= "deny" then
    error("fake: unknown permission answer " .. tostring(answer))
  end
  return answer ~= "deny"
end
assert(ACCESS)

local function unsupported(name)
  return function() error("unsupported function '" .. name .. "'", 2) end
end

local function absolute(path)
  path = tostring(path)
  if is_windows() then return path end
  if path:sub(1, 1) == "/" then return path end
  return (fake.real.os_getenv("PWD") or ".") .. "/" .. path
end

local function secure_io_open(filename, mode)
  local abs = absolute(filename)
  local access = (mode and tostring(mode):find("w")) and "write" or "read"
  if not ask_access(abs, access, "file") then
    error("the script doesn't have access to file '" .. abs .. "'", 2)
  end
  return fake.real.io_open(fake.host(filename), mode)
end

-- Windows: system()/_popen -> cmd.exe /c -> the C runtime's argv ---------------------------------

-- What CreateProcessA/cmd make of a UTF-8 byte string: each byte read in the ANSI code page
-- (here Latin-1, the part of Windows-1252 a name like "Jörg" uses).
local function ansi_mangle(s)
  return (s:gsub("[\128-\255]", function(c) return utf8.char(c:byte()) end))
end

-- What os.getenv (getenv, ANSI) returns for a Unicode value: Latin-1 bytes, "?" for the rest.
local function ansi_bytes(s)
  local out = {}
  for _, cp in utf8.codes(s) do out[#out + 1] = cp < 256 and string.char(cp) or "?" end
  return table.concat(out)
end

-- cmd /? : "If all of the following conditions are met, then quote characters on the command
-- line are preserved: no /S switch, exactly two quote characters, no special characters between
-- the two quote characters (&<>()@^|), one or more whitespace characters between them, the
-- string between them is the name of an executable file. Otherwise, old behavior is to see if
-- the first character is a quote character and if so, strip the leading character and remove
-- the last quote character on the command line, preserving any text after the last quote."
function fake.cmd_strip_quotes(s)
  if s:sub(1, 1) ~= '"' then return s end
  local _, count = s:gsub('"', "")
  if count == 2 then
    local inner = s:match('^"([^"]*)"')
    if inner and not inner:find("[&<>()@^|]") and inner:find("%s") then return s end
  end
  local last = s:match('.*()"')
  return s:sub(2, last - 1) .. s:sub(last + 1)
end

local function env_lookup(name)
  for k, v in pairs(fake.env) do
    if k:upper() == name:upper() then return v end
  end
  return nil
end

-- The Microsoft C runtime's splitting of a command line (learn.microsoft.com, "Parsing C
-- command-line arguments", the behaviour since the 2008 runtime).
function fake.crt_argv(s)
  local args, cur, inq, started = {}, {}, false, false
  local i, n = 1, #s
  while i <= n do
    local c = s:sub(i, i)
    if c == "\\" then
      local j = i
      while s:sub(j, j) == "\\" do j = j + 1 end
      local count = j - i
      if s:sub(j, j) == '"' then
        cur[#cur + 1] = string.rep("\\", count // 2)
        if count % 2 == 1 then cur[#cur + 1] = '"'; i = j + 1 else i = j end
      else
        cur[#cur + 1] = string.rep("\\", count)
        i = j
      end
      started = true
    elseif c == '"' then
      started = true
      if inq and s:sub(i + 1, i + 1) == '"' then
        cur[#cur + 1] = '"'  -- "" inside quotes: one literal quote, still inside
        i = i + 2
      else
        inq = not inq
        i = i + 1
      end
    elseif (c == " " or c == "\t") and not inq then
      if started then args[#args + 1] = table.concat(cur); cur, started = {}, false end
      i = i + 1
    else
      cur[#cur + 1] = c
      started = true
      i = i + 1
    end
  end
  if started then args[#args + 1] = table.concat(cur) end
  return args
end

-- One command of a cmd line: its text without redirections, and where stdout/stderr go.
local function cmd_redirections(text)
  local out, redir, inq, i = {}, {}, false, 1
  while i <= #text do
    local c = text:sub(i, i)
    if c == '"' then
      inq = not inq
      out[#out + 1] = c
      i = i + 1
    elseif not inq and (c == "^" or c == "<" or c == "|" or c == "(" or c == ")") then
      error("fake cmd.exe: this simulation does not take '" .. c .. "' outside quotes: " .. text)
    elseif not inq and c == ">" then
      local stream = "1"
      if #out > 0 and out[#out]:match("^[12]$") and (#out == 1 or out[#out - 1]:match("%s")) then
        stream = table.remove(out)
      end
      local rest = text:sub(i + 1)
      local target, len = rest:match("^%s*(&[12])()")
      if not target then target, len = rest:match('^%s*("[^"]*")()') end
      if not target then target, len = rest:match("^%s*([^%s]+)()") end
      if not target then error("fake cmd.exe: redirection without a target: " .. text) end
      redir[stream] = target:gsub('"', "")
      i = i + len
    else
      out[#out + 1] = c
      i = i + 1
    end
  end
  return (table.concat(out):gsub("^%s+", ""):gsub("%s+$", "")), redir
end

local function posix_quote(a) return "'" .. a:gsub("'", "'\\''") .. "'" end

local function run_builtin(word, rest, redir)
  local stderr = {}
  local paths = {}
  for _, a in ipairs(fake.crt_argv(rest)) do
    if not a:match("^/") then paths[#paths + 1] = a end
  end
  for _, p in ipairs(paths) do
    local host = fake.host(p)
    if word == "del" or word == "erase" then
      if not fake.real.os_remove(host) then stderr[#stderr + 1] = "Could Not Find " .. p end
    else
      error("fake cmd.exe: no builtin " .. word)
    end
  end
  local err = table.concat(stderr, "\n")
  if redir["2"] == "&1" then return err, 0 end
  return "", 0
end

local function resolve_program(token)
  local exts = { "", ".exe", ".bat", ".cmd" }
  if token:find("[\\/:]") then
    for _, e in ipairs(exts) do
      if host_exists(fake.host(token .. e)) then return fake.host(token .. e) end
    end
    return nil, "The system cannot find the path specified.", 1  -- status: a guess; see the extension
  end
  for dir in (env_lookup("PATH") or ""):gmatch("[^;]+") do
    for _, e in ipairs(exts) do
      local candidate = dir:gsub("\\$", "") .. "\\" .. token .. e
      if candidate:match("^%a:\\") and host_exists(fake.host(candidate)) then return fake.host(candidate) end
    end
  end
  return nil, "'" .. token .. "' is not recognized as an internal or external command,\n" ..
              "operable program or batch file.", 9009
end

-- How cmd.exe /c reads `line` (after the ANSI code page): a list of commands, each
-- {program=token, argv={...} (the C runtime's split of the rest), redirections={["1"]=..., ["2"]=...}}.
function fake.cmd_parse(line)
  local s = fake.cmd_strip_quotes(ansi_mangle(line))
  s = s:gsub("%%([^%%]+)%%", function(name) return env_lookup(name) or ("%" .. name .. "%") end)
  local texts, cur, inq = {}, {}, false
  for i = 1, #s do
    local c = s:sub(i, i)
    if c == '"' then inq = not inq end
    if c == "&" and not inq and s:sub(i - 1, i - 1) ~= ">" then
      if s:sub(i + 1, i + 1) == "&" or s:sub(i - 1, i - 1) == "&" then
        error("fake cmd.exe: '&&' is not simulated: " .. s)
      end
      texts[#texts + 1] = table.concat(cur)
      cur = {}
    else
      cur[#cur + 1] = c
    end
  end
  texts[#texts + 1] = table.concat(cur)
  if inq then error("fake cmd.exe: unbalanced quotes: " .. s) end
  local commands = {}
  for _, command in ipairs(texts) do
    local text, redir = cmd_redirections(command)
    local token, rest = text:match('^"([^"]*)"(.*)$')
    if not token then token, rest = text:match("^(%S+)(.*)$") end
    if not token then error("fake cmd.exe: empty command in " .. s) end
    commands[#commands + 1] = { program = token, rest = rest, argv = fake.crt_argv(rest), redirections = redir }
  end
  return commands
end

-- Runs `line` the way system()/_popen do on Windows; returns the captured output and the status.
function fake.cmd_exe(line)
  fake.shell_lines[#fake.shell_lines + 1] = line
  local output, status = {}, 0
  for _, command in ipairs(fake.cmd_parse(line)) do
    local redir, word = command.redirections, command.program:lower()
    local out
    if word == "del" or word == "erase" then
      out, status = run_builtin(word, command.rest, redir)
    else
      local program, why, code = resolve_program(command.program)
      if not program then
        out, status = (redir["2"] == "&1" and why or ""), code
      else
        local parts = { posix_quote(program) }
        for _, a in ipairs(command.argv) do
          if a:match("^%a:[\\/]") then a = fake.host(a) end
          parts[#parts + 1] = posix_quote(a)
        end
        fake.shell_argv[#fake.shell_argv + 1] = command.argv
        local errs = redir["2"] == "&1" and " 2>&1" or (redir["2"] == "nul" and " 2>/dev/null" or "")
        local outs = redir["1"] == "nul" and " >/dev/null" or ""
        local p = fake.real.io_popen(table.concat(parts, " ") .. outs .. errs, "r")
        out = p:read("a")
        local _, _, c = p:close()
        status = c
      end
    end
    output[#output + 1] = out
  end
  return table.concat(output), status
end

-- A file handle whose read() gives `text` and whose close() gives the exit status, like popen's.
local function text_pipe(text, status)
  local done = false
  return {
    read = function(_, fmt)
      if done then return nil end
      done = true
      return text
    end,
    lines = function() return text:gmatch("[^\n]+") end,
    close = function()
      if status == 0 then return true, "exit", 0 end
      return nil, "exit", status
    end,
  }
end

local function run_command(command, mode)
  if is_windows() then
    local output, status = fake.cmd_exe(command)
    return text_pipe(output, status)
  end
  fake.shell_lines[#fake.shell_lines + 1] = command
  return fake.real.io_popen(command, mode)
end

local function secure_io_popen(command, mode)
  if fake.at_least("1.3.7") and not ask_access(command, "execute", "command") then
    error("the script doesn't have access to execute the command: '" .. command .. "'", 2)
  end
  return run_command(command, mode)
end

local function secure_os_execute(command)
  if command == nil then return true end
  if not ask_access(command, "execute", "command") then
    error("the script doesn't have access to execute the command: '" .. command .. "'", 2)
  end
  local p = run_command(command, "r")
  local out = p:read("a")
  if out and #out > 0 then io.stdout:write(out) end
  return p:close()
end

local function secure_os_remove(filename)
  local abs = absolute(filename)
  if not host_exists(fake.host(filename)) then return nil, abs .. ": No such file or directory", 2 end
  if not ask_access(abs, "write", "file") then return nil, abs .. ": Permission denied", 13 end
  return fake.real.os_remove(fake.host(filename))
end

-- PNG writing (stored deflate blocks) ----------------------------------------------------------

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

function fake.write_png(host_path, width, height, rgba_rows)
  local raw = {}
  for y = 1, height do raw[#raw + 1] = "\0" .. rgba_rows[y] end
  local png = "\x89PNG\r\n\x1a\n"
      .. chunk("IHDR", string.pack(">I4I4BBBBB", width, height, 8, 6, 0, 0, 0))
      .. chunk("IDAT", zlib_stored(table.concat(raw)))
      .. chunk("IEND", "")
  local f = assert(fake.real.io_open(host_path, "wb"))
  f:write(png)
  f:close()
end

-- PNG reading: inflate (RFC 1951) and the five filters ------------------------------------------

local function inflate(data)
  local pos, bitbuf, bitcnt = 1, 0, 0
  local out, outn = {}, 0
  local function bits(n)
    while bitcnt < n do
      local b = data:byte(pos)
      if not b then error("inflate: out of data") end
      pos = pos + 1
      bitbuf = bitbuf | (b << bitcnt)
      bitcnt = bitcnt + 8
    end
    local v = bitbuf & ((1 << n) - 1)
    bitbuf = bitbuf >> n
    bitcnt = bitcnt - n
    return v
  end
  local function build(lengths, n)
    local counts, offs, symbols = {}, {}, {}
    for i = 0, 15 do counts[i] = 0 end
    for i = 0, n - 1 do counts[lengths[i] or 0] = counts[lengths[i] or 0] + 1 end
    counts[0] = 0
    offs[1] = 0
    for i = 1, 14 do offs[i + 1] = offs[i] + counts[i] end
    for i = 0, n - 1 do
      local l = lengths[i] or 0
      if l ~= 0 then symbols[offs[l]] = i; offs[l] = offs[l] + 1 end
    end
    return { counts = counts, symbols = symbols }
  end
  local function decode(h)
    local code, first, index = 0, 0, 0
    for len = 1, 15 do
      code = code | bits(1)
      local count = h.counts[len]
      if code - count < first then return h.symbols[index + (code - first)] end
      index = index + count
      first = (first + count) << 1
      code = code << 1
    end
    error("inflate: bad code")
  end
  local LBASE = { 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
                  131, 163, 195, 227, 258 }
  local LEXT = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 }
  local DBASE = { 1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
                  2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577 }
  local DEXT = { 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 }
  local function codes(lencode, distcode)
    while true do
      local sym = decode(lencode)
      if sym < 256 then
        outn = outn + 1
        out[outn] = sym
      elseif sym == 256 then
        return
      else
        sym = sym - 257
        local len = LBASE[sym + 1] + bits(LEXT[sym + 1])
        local dsym = decode(distcode)
        local dist = DBASE[dsym + 1] + bits(DEXT[dsym + 1])
        for _ = 1, len do
          outn = outn + 1
          out[outn] = out[outn - dist]
        end
      end
    end
  end
  local fixed_len, fixed_dist
  repeat
    local last = bits(1)
    local kind = bits(2)
    if kind == 0 then
      bitbuf, bitcnt = 0, 0
      local len = string.unpack("<I2", data, pos)
      pos = pos + 4
      for i = 0, len - 1 do
        outn = outn + 1
        out[outn] = data:byte(pos + i)
      end
      pos = pos + len
    elseif kind == 1 then
      if not fixed_len then
        local l = {}
        for i = 0, 143 do l[i] = 8 end
        for i = 144, 255 do l[i] = 9 end
        for i = 256, 279 do l[i] = 7 end
        for i = 280, 287 do l[i] = 8 end
        fixed_len = build(l, 288)
        local d = {}
        for i = 0, 29 do d[i] = 5 end
        fixed_dist = build(d, 30)
      end
      codes(fixed_len, fixed_dist)
    elseif kind == 2 then
      local nlen, ndist, ncode = bits(5) + 257, bits(5) + 1, bits(4) + 4
      local ORDER = { 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15 }
      local lengths = {}
      for i = 1, ncode do lengths[ORDER[i]] = bits(3) end
      local lencode = build(lengths, 19)
      local l, i = {}, 0
      while i < nlen + ndist do
        local sym = decode(lencode)
        if sym < 16 then
          l[i] = sym; i = i + 1
        else
          local rep, val = 0, 0
          if sym == 16 then val = l[i - 1]; rep = 3 + bits(2)
          elseif sym == 17 then rep = 3 + bits(3)
          else rep = 11 + bits(7) end
          for _ = 1, rep do l[i] = val; i = i + 1 end
        end
      end
      local ll, dl = {}, {}
      for k = 0, nlen - 1 do ll[k] = l[k] end
      for k = 0, ndist - 1 do dl[k] = l[nlen + k] end
      codes(build(ll, nlen), build(dl, ndist))
    else
      error("inflate: bad block type")
    end
  until last == 1
  local parts = {}
  for k = 1, outn, 4096 do
    parts[#parts + 1] = string.char(table.unpack(out, k, math.min(outn, k + 4095)))
  end
  return table.concat(parts)
end

-- Reads a PNG of 8 bits per channel; returns width, height, pixels (0xAABBGGRR) or nil, why.
function fake.read_png(host_path)
  local f = fake.real.io_open(host_path, "rb")
  if not f then return nil, "cannot open" end
  local data = f:read("a")
  f:close()
  if data:sub(1, 8) ~= "\x89PNG\r\n\x1a\n" then return nil, "not a PNG" end
  local pos, idat, ihdr, plte, trns = 9, {}, nil, nil, nil
  while pos <= #data do
    if pos + 8 > #data then return nil, "truncated" end
    local len, kind = string.unpack(">I4c4", data, pos)
    local body = data:sub(pos + 8, pos + 7 + len)
    if #body ~= len then return nil, "truncated" end
    if string.unpack(">I4", data, pos + 8 + len) ~= crc32(kind .. body) then return nil, "bad CRC" end
    if kind == "IHDR" then ihdr = body
    elseif kind == "PLTE" then plte = body
    elseif kind == "tRNS" then trns = body
    elseif kind == "IDAT" then idat[#idat + 1] = body
    elseif kind == "IEND" then break end
    pos = pos + 12 + len
  end
  if not ihdr or #idat == 0 then return nil, "no image data" end
  local w, h, depth, ctype, _, _, interlace = string.unpack(">I4I4BBBBB", ihdr)
  if depth ~= 8 or interlace ~= 0 then return nil, "unsupported PNG (depth/interlace)" end
  local channels = ({ [0] = 1, [2] = 3, [3] = 1, [4] = 2, [6] = 4 })[ctype]
  if not channels then return nil, "unsupported colour type" end
  local z = table.concat(idat)
  local ok, raw = pcall(inflate, z:sub(3, -5))
  if not ok then return nil, raw end
  local stride = w * channels
  if #raw ~= h * (stride + 1) then return nil, "wrong amount of image data" end
  local prev, pixels = {}, {}
  for x = 1, stride do prev[x] = 0 end
  local p = 1
  for y = 0, h - 1 do
    local filter = raw:byte(p)
    p = p + 1
    local row = { raw:byte(p, p + stride - 1) }
    p = p + stride
    for x = 1, stride do
      local a = x > channels and row[x - channels] or 0
      local b = prev[x]
      local c = x > channels and prev[x - channels] or 0
      local v = row[x]
      if filter == 1 then v = v + a
      elseif filter == 2 then v = v + b
      elseif filter == 3 then v = v + (a + b) // 2
      elseif filter == 4 then
        local pa, pb, pc = math.abs(b - c), math.abs(a - c), math.abs(a + b - 2 * c)
        v = v + ((pa <= pb and pa <= pc) and a or (pb <= pc and b or c))
      elseif filter ~= 0 then return nil, "bad filter" end
      row[x] = v & 0xFF
    end
    for x = 0, w - 1 do
      local r, g, bl, al
      local q = x * channels + 1
      if ctype == 6 then r, g, bl, al = row[q], row[q + 1], row[q + 2], row[q + 3]
      elseif ctype == 2 then r, g, bl, al = row[q], row[q + 1], row[q + 2], 255
      elseif ctype == 0 then r, g, bl, al = row[q], row[q], row[q], 255
      elseif ctype == 4 then r, g, bl, al = row[q], row[q], row[q], row[q + 1]
      else
        local i = row[q]
        r, g, bl = plte:byte(i * 3 + 1, i * 3 + 3)
        al = trns and trns:byte(i + 1) or 255
      end
      pixels[y * w + x + 1] = r | (g << 8) | (bl << 16) | (al << 24)
    end
    prev = row
  end
  return w, h, pixels
end

-- Strict objects: unknown fields raise, like Aseprite's userdata --------------------------------

local function strict(typename, methods)
  return {
    __index = function(t, k)
      if type(k) == "string" and k:sub(1, 1) == "_" then return nil end  -- the fake's own fields
      local m = methods[k]
      if m ~= nil then return m end
      local getter = methods["get_" .. k]
      if getter then return getter(t) end
      error("Field " .. tostring(k) .. " does not exist", 2)
    end,
    __name = typename,
  }
end

-- Geometry and modes --------------------------------------------------------------------------

ColorMode = { RGB = 0, GRAYSCALE = 1, INDEXED = 2, TILEMAP = 4 }
BlendMode = { NORMAL = 0, SRC = 25 }

function Point(x, y)
  if type(x) == "table" then x, y = x.x or x[1], x.y or x[2] end
  return { x = x or 0, y = y or 0 }
end
function Size(w, h) return { width = w, height = h, w = w, h = h } end
function Rectangle(x, y, w, h)
  if type(x) == "table" then x, y, w, h = x.x, x.y, x.width, x.height end
  return { x = x, y = y, width = w, height = h, w = w, h = h }
end

-- Palette and Color ----------------------------------------------------------------------------

local palette_methods = {}
function palette_methods:getColor(i)
  local c = self._colors[i + 1]
  if not c then error("index out of bounds " .. tostring(i)) end
  return { red = c[1], green = c[2], blue = c[3], alpha = c[4] }
end
local Palette_mt = strict("Palette", palette_methods)
Palette_mt.__len = function(p) return #p._colors end

-- colors: { {r, g, b, a}, ... } for indices 0, 1, ...
function fake.palette(colors)
  return setmetatable({ _colors = colors }, Palette_mt)
end

-- Aseprite's default palette is not what a sprite uses: a grey ramp here (wrong colours).
local function default_palette()
  local colors = {}
  for i = 0, 255 do colors[i + 1] = { i, i, i, 255 } end
  return fake.palette(colors)
end

-- Image ---------------------------------------------------------------------------------------

local image_methods = {}
local Image_mt = strict("Image", image_methods)

local function new_image(w, h, mode, transparent)
  local img = setmetatable({ _w = w, _h = h, _mode = mode, _transparent = transparent or 0, _pixels = {} },
                           Image_mt)
  local fill = mode == ColorMode.INDEXED and img._transparent or 0
  for i = 1, w * h do img._pixels[i] = fill end
  return img
end

function Image(a, b, c)
  local w, h, mode, transparent
  if type(a) == "table" and a._pixels then
    w, h, mode, transparent = a._w, a._h, a._mode, a._transparent
  elseif type(a) == "table" then
    w, h, mode, transparent = a.width, a.height, a.colorMode or ColorMode.RGB, a.transparentColor
  else
    w, h, mode = a, b, c or ColorMode.RGB
  end
  local img = new_image(w, h, mode, transparent)
  if type(a) == "table" and a._pixels then
    for i, v in ipairs(a._pixels) do img._pixels[i] = v end
  end
  record("Image", { width = w, height = h, colorMode = mode })
  return img
end

function image_methods.get_width(self) return self._w end
function image_methods.get_height(self) return self._h end
function image_methods.get_colorMode(self) return self._mode end
function image_methods.get_spec(self)
  return { width = self._w, height = self._h, colorMode = self._mode, transparentColor = self._transparent }
end

function image_methods:getPixel(x, y) return self._pixels[y * self._w + x + 1] end
function image_methods:drawPixel(x, y, v)
  if x >= 0 and y >= 0 and x < self._w and y < self._h then self._pixels[y * self._w + x + 1] = v end
end

function image_methods:clear(color)
  local fill = color or (self._mode == ColorMode.INDEXED and self._transparent or 0)
  for i = 1, self._w * self._h do self._pixels[i] = fill end
end

-- doc::rgba_blender_normal: over an empty pixel the source (its alpha times opacity); else "over".
local function blend_rgba(dst, src, opacity)
  local sa = ((src >> 24) & 0xFF) * opacity // 255
  if (dst >> 24) & 0xFF == 0 then return (src & 0xFFFFFF) | (sa << 24) end
  if sa == 0 then return dst end
  local da = (dst >> 24) & 0xFF
  local ra = sa + da - sa * da // 255
  local out = ra << 24
  for shift = 0, 16, 8 do
    local dc, sc = (dst >> shift) & 0xFF, (src >> shift) & 0xFF
    out = out | (((dc + (sc - dc) * sa // ra) & 0xFF) << shift)
  end
  return out
end

function image_methods:drawImage(src, p, a3, a4, a5)
  -- image_class.cpp Image_drawImage: a Point/table at 2, or x, y; then opacity, blendMode.
  local pos, opacity
  if math.type(p) == "integer" then
    pos, opacity = { x = p, y = a3 }, a4
  elseif p == nil then
    pos, opacity = { x = 0, y = 0 }, a3
  elseif type(p) == "table" then
    pos, opacity = Point(p), a3
  else
    error("drawImage: bad position " .. tostring(p))
  end
  if opacity ~= nil and math.type(opacity) ~= "integer" then opacity = nil end  -- lua_isinteger
  opacity = math.max(0, math.min(255, opacity or 255))
  record("Image:drawImage", { width = src._w, height = src._h, x = pos.x, y = pos.y, opacity = opacity })
  for sy = 0, src._h - 1 do
    for sx = 0, src._w - 1 do
      local dx, dy = pos.x + sx, pos.y + sy
      if dx >= 0 and dy >= 0 and dx < self._w and dy < self._h then
        local v = src:getPixel(sx, sy)
        if self._mode == ColorMode.INDEXED then
          if v ~= src._transparent then self:drawPixel(dx, dy, v) end
        else
          self:drawPixel(dx, dy, blend_rgba(self:getPixel(dx, dy), v, opacity))
        end
      end
    end
  end
end

function image_methods:drawSprite(sprite, frame, position)
  local n = frame
  if type(frame) == "table" then n = frame.frameNumber end
  if math.type(n) ~= "integer" then error("drawSprite: a frame number or Frame is needed") end
  record("Image:drawSprite", { sprite = sprite._filename, frame = n })
  self:drawImage(sprite._frames[n], position or Point(0, 0))
end

-- The image as RGBA rows, the way Aseprite's PNG encoder writes what the image is.
local function rgba_rows(img, palette)
  local rows = {}
  for y = 0, img._h - 1 do
    local row = {}
    for x = 0, img._w - 1 do
      local v = img:getPixel(x, y)
      local rgba
      if img._mode == ColorMode.INDEXED then
        if v == img._transparent then
          rgba = 0
        else
          local c = palette:getColor(v)
          rgba = c.red | (c.green << 8) | (c.blue << 16) | (c.alpha << 24)
        end
      elseif img._mode == ColorMode.GRAYSCALE then
        local g, a = v & 0xFF, (v >> 8) & 0xFF
        rgba = g | (g << 8) | (g << 16) | (a << 24)
      else
        rgba = v
      end
      row[#row + 1] = string.pack("<I4", rgba)
    end
    rows[#rows + 1] = table.concat(row)
  end
  return rows
end

function image_methods:saveAs(arg)
  local filename, palette
  if type(arg) == "table" then filename, palette = arg.filename, arg.palette else filename = arg end
  if not filename or filename == "" then error("missing filename in Image:saveAs()") end
  local abs = absolute(filename)
  record("Image:saveAs", { filename = filename, width = self._w, height = self._h, colorMode = self._mode,
                           palette = palette ~= nil })
  if not ask_access(abs, "write", "file") then
    error("script doesn't have access to write file " .. abs, 2)
  end
  local host = fake.host(filename)
  local dir = host:match("^(.*)/[^/]*$")
  if dir and not fake.real.os_execute("test -d " .. posix_quote(dir)) then return false end
  fake.write_png(host, self._w, self._h, rgba_rows(self, palette or default_palette()))
  return true
end

-- An image from a file of raw pixel values, little-endian 4 bytes each (test fixtures).
function fake.image_from_raw(path, w, h, mode, transparent)
  local f = assert(fake.real.io_open(path, "rb"))
  local data = f:read("a")
  f:close()
  assert(#data == w * h * 4, path .. ": expected " .. (w * h * 4) .. " bytes")
  local img = new_image(w, h, mode or ColorMode.RGB, transparent)
  for i = 1, w * h do img._pixels[i] = string.unpack("<I4", data, (i - 1) * 4 + 1) end
  return img
end

-- Sprites, layers, tilesets ---------------------------------------------------------------------

local sprite_methods, layer_methods, tileset_methods, tile_methods = {}, {}, {}, {}
local Sprite_mt = strict("Sprite", sprite_methods)
local Layer_mt = strict("Layer", layer_methods)
local Tileset_mt = strict("Tileset", tileset_methods)
Tileset_mt.__len = function(t) return #t._tiles + 1 end
local Tile_mt = strict("Tile", tile_methods)
local Frame_mt = strict("Frame", {})

function sprite_methods.get_width(s) return s._frames[1]._w end
function sprite_methods.get_height(s) return s._frames[1]._h end
function sprite_methods.get_colorMode(s) return s._frames[1]._mode end
function sprite_methods.get_filename(s) return s._filename end
function sprite_methods.get_layers(s) return s._layers end
function sprite_methods.get_palettes(s) return { s._palette } end
function sprite_methods.get_gridBounds(s) return Rectangle(s._grid) end
function sprite_methods.get_frames(s)
  local frames = {}
  for i = 1, #s._frames do frames[i] = fake.frame(i) end
  return frames
end
-- Sprite.spec: a new ImageSpec on every read (changing it leaves the sprite alone).
function sprite_methods.get_spec(s)
  local img = s._frames[1]
  return { width = img._w, height = img._h, colorMode = img._mode, transparentColor = img._transparent }
end
Sprite_mt.__newindex = function(s, k, v)
  if k == "gridBounds" then
    rawset(s, "_grid", Rectangle(v))
    record("Sprite.gridBounds=", { x = v.x, y = v.y, width = v.width, height = v.height })
  elseif k == "filename" then
    rawset(s, "_filename", v)
    record("Sprite.filename=", { filename = v })
  else
    error("Cannot set field " .. tostring(k), 2)
  end
end

function fake.frame(n) return setmetatable({ frameNumber = n }, Frame_mt) end

-- A sprite of one frame `flat` (an Image); options: filename, grid (Rectangle), palette, layers.
function fake.sprite(flat, options)
  options = options or {}
  local s = { _frames = { flat }, _filename = options.filename or "Sprite-0001",
              _palette = options.palette or default_palette(),
              _grid = options.grid or Rectangle(fake.default_grid), _layers = options.layers or {} }
  return setmetatable(s, Sprite_mt)
end

function tileset_methods.get_grid(t)
  return { tileSize = Size(t._tw, t._th), origin = Point(0, 0) }
end
function tileset_methods.get_name(t) return t._name end
function tileset_methods:getTile(i)
  fake.deprecated[#fake.deprecated + 1] = "Tileset:getTile"  -- api/tileset.md: superseded by tile(i).image
  record("Tileset:getTile", { index = i })
  return i == 0 and self._empty or self._tiles[i]
end
function tileset_methods:tile(i)
  record("Tileset:tile", { index = i })
  if i < 0 or i > #self._tiles then return nil end
  return setmetatable({ index = i, _image = i == 0 and self._empty or self._tiles[i] }, Tile_mt)
end
function tile_methods.get_image(t) return t._image end

function fake.tileset(tile_w, tile_h, images, mode)
  return setmetatable({ _tw = tile_w, _th = tile_h, _tiles = images, _name = "",
                        _empty = new_image(tile_w, tile_h, mode or ColorMode.RGB) }, Tileset_mt)
end

function layer_methods.get_name(l) return l._name end
function layer_methods.get_isTilemap(l) return l._tileset ~= nil end
function layer_methods.get_isImage(l) return l._tileset == nil and not l._group end
function layer_methods.get_isGroup(l) return l._group == true end
function layer_methods.get_tileset(l) return l._tileset end
function layer_methods.get_layers(l) return l._group and l._layers or nil end

function fake.layer(name, tileset)
  return setmetatable({ _name = name, _tileset = tileset }, Layer_mt)
end
function fake.group(name, layers)
  return setmetatable({ _name = name, _group = true, _layers = layers }, Layer_mt)
end

-- Dialog: show() answers from fake.answers instead of a user ----------------------------------

local dialog_methods = {}
local Dialog_mt = strict("Dialog", dialog_methods)

function Dialog(arg)
  -- Batch mode: no value at all, not even nil (Changes.md v1.2.35; dialog_class.cpp Dialog_new
  -- returns 0 results; checked in Aseprite 1.3.18.2: select("#", Dialog()) == 0).
  if fake.batch then return end
  local title = type(arg) == "table" and arg.title or arg
  local dlg = setmetatable({ _title = title, _widgets = {}, _data = {} }, Dialog_mt)
  fake.dialogs[#fake.dialogs + 1] = dlg
  record("Dialog", { title = title })
  return dlg
end

function dialog_methods.get_data(d) return d._data end

local function widget(kind)
  return function(self, t)
    self._widgets[#self._widgets + 1] = { kind = kind, id = t.id, label = t.label, text = t.text }
    if t.id then
      if kind == "button" then self._data[t.id] = false else self._data[t.id] = t.text end
    end
    return self
  end
end
dialog_methods.label = widget("label")
dialog_methods.entry = widget("entry")
dialog_methods.button = widget("button")
dialog_methods.separator = widget("separator")
dialog_methods.newrow = function(self) return self end

function dialog_methods:show()
  record("Dialog:show", { title = self._title })
  local answers = table.remove(fake.answers, 1)
  if answers == nil or answers.cancel then
    self._data.cancel = true
    return self
  end
  for k, v in pairs(answers) do
    if self._data[k] == nil and k ~= "ok" then error("the dialog has no field '" .. k .. "'") end
    self._data[k] = v
  end
  self._data.ok = true
  return self
end

-- app -----------------------------------------------------------------------------------------

local DEPRECATED = { activeSprite = "sprite", activeLayer = "layer", activeFrame = "frame" }

function fake.setup(options)
  options = options or {}
  fake.version = options.version or fake.NEWEST
  fake.platform = options.platform or "linux"
  fake.batch = options.batch or false
  fake.win_root = options.win_root
  fake.env = options.env or {}
  fake.default_grid = options.default_grid or Rectangle(0, 0, 16, 16)
  fake.default_permission = "allow"
  fake.shell_lines, fake.shell_argv = {}, {}
  local api = fake.API_VERSIONS[fake.version]
  if not api then error("fake: no such version " .. tostring(fake.version)) end

  local windows = is_windows()
  local sep = windows and "\\" or "/"
  local temp = options.temp or (windows and "C:\\Temp\\" or "/tmp")
  local state = { sprite = nil, layer = nil, frame = nil }
  fake.state = state

  local function is_sep(c) return c == "/" or (windows and c == "\\") end
  local function split_last(p)
    for i = #p, 1, -1 do
      if is_sep(p:sub(i, i)) then return p:sub(1, i - 1), p:sub(i + 1) end
    end
    return "", p
  end

  local fs = {
    pathSeparator = sep,
    tempPath = temp,
    -- laf base/fs.cpp join_path: a separator only when the left part does not end with one.
    joinPath = function(first, ...)
      local result = first
      for _, part in ipairs({ ... }) do
        if #result > 0 and not is_sep(result:sub(-1)) then result = result .. sep end
        result = result .. part
      end
      return result
    end,
    isFile = function(p) return host_exists(fake.host(p)) end,
    fileName = function(p) return select(2, split_last(p)) end,
    filePath = function(p) return (split_last(p)) end,
    fileTitle = function(p) return (select(2, split_last(p)):gsub("%.[^.]*$", "")) end,
    fileExtension = function(p) return select(2, split_last(p)):match("%.([^.]*)$") or "" end,
  }

  local app_table = {
    version = fake.version, apiVersion = api, fs = fs,
    isUIAvailable = not fake.batch,
    -- app.params: a plain table of strings, the --script-param values of the script being run
    -- (app_object.cpp set_app_params, refilled by every Engine::evalFile).
    params = {},
    preferences = {
      document = function(sprite)
        if sprite ~= nil then error("fake: only app.preferences.document(nil) is faked") end
        return { grid = { bounds = Rectangle(fake.default_grid) } }
      end,
    },
  }
  if fake.at_least("1.3.7") then  -- app.os: Changes.md v1.3.7
    app_table.os = { name = windows and "Windows" or "Linux", windows = windows, linux = not windows,
                     macos = false }
  end

  function app_table.alert(arg)
    local text = arg
    if type(arg) == "table" then
      text = type(arg.text) == "table" and table.concat(arg.text, "\n") or arg.text
    end
    record("app.alert", { text = text, title = type(arg) == "table" and arg.title or nil, shown = not fake.batch })
    if fake.batch then return end  -- app_object.cpp App_alert: no UI, no alert
    return 1
  end

  function app_table.open(filename)
    local abs = absolute(filename)
    record("app.open", { filename = filename })
    if not ask_access(abs, "read", "file") then
      error("script doesn't have access to open file " .. abs, 2)
    end
    local w, h, pixels = fake.read_png(fake.host(filename))
    if not w then
      fake.calls[#fake.calls].args.problem = h
      return nil
    end
    local img = new_image(w, h, ColorMode.RGB)
    img._pixels = pixels
    local sprite = fake.sprite(img, { filename = filename })
    fake.opened = sprite
    state.sprite, state.layer, state.frame = sprite, fake.layer("Layer 1"), fake.frame(1)
    return sprite
  end

  -- app.command.Id{...}: runs a registered command. For an extension's command (plugin_class.cpp
  -- PluginCommand) the table is dropped: it has no onLoadParams and onclick gets no arguments.
  -- A disabled command does not run and the call returns false (Context::executeCommand sets
  -- CommandResult::kDisabled; app_command_object.cpp Command_call returns whether it was kOk).
  app_table.command = setmetatable({}, {
    __index = function(_, id)
      local command = fake.commands[id]
      if not command then return nil end
      return setmetatable({}, { __call = function(_, params)
        record("app.command." .. id, { params = params })
        if command.onenabled and not command.onenabled() then return false end
        command.onclick()
        return true
      end })
    end,
  })

  app = setmetatable(app_table, {
    __index = function(_, k)
      if k == "sprite" or k == "layer" or k == "frame" then
        if not fake.at_least("1.3") then return nil end  -- app.sprite/layer/frame: v1.3-rc3 (Changes.md)
        return state[k]
      end
      local new = DEPRECATED[k]
      if new then
        fake.deprecated[#fake.deprecated + 1] = "app." .. k
        return state[new]
      end
      return nil  -- app is a table: unknown fields are nil (luacpp.cpp __generic_mt_index)
    end,
  })

  io.open = secure_io_open
  io.popen = secure_io_popen
  os.execute = secure_os_execute
  os.exit = unsupported("exit")
  os.tmpname = unsupported("tmpname")
  if fake.at_least("1.3.14") then
    os.remove = secure_os_remove
    os.rename = function() error("fake: os.rename is not faked") end
  else
    os.remove = unsupported("remove")
    os.rename = unsupported("rename")
  end
  if windows then
    os.getenv = function(name)
      local v = env_lookup(name)
      return v and ansi_bytes(v) or nil
    end
  end
  return fake
end

function fake.set_active(sprite, layer, frame)
  fake.state.sprite, fake.state.layer, fake.state.frame = sprite, layer, frame
end

function fake.reset()
  fake.calls, fake.answers, fake.dialogs, fake.opened = {}, {}, {}, nil
  fake.prompts, fake.deprecated, fake.permission_answers = {}, {}, {}
  fake.shell_lines, fake.shell_argv = {}, {}
end

-- plugin ---------------------------------------------------------------------------------------

fake.commands = {}  -- every command registered with plugin:newCommand, by id (app.command)

function fake.plugin()
  local plugin = { name = "manifold", displayName = "manifold", version = "0.1.0", path = ".",
                   preferences = {}, commands = {}, menu = {} }
  function plugin:newCommand(t)
    local in_menu = t.group ~= nil and fake.MENU_GROUPS[t.group] == true
    record("plugin:newCommand", { id = t.id, title = t.title, group = t.group, in_menu = in_menu })
    self.commands[t.id] = t
    fake.commands[t.id] = t
    if in_menu then self.menu[#self.menu + 1] = { group = t.group, title = t.title } end
  end
  return plugin
end

return fake
