-- Loaded by the wrk scripts that draw at random (get-bearer.lua, random-client.lua) with
--   dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "per-thread-random.lua")
-- It defines wrk's setup and init so that each wrk thread seeds its own generator (time,
-- thread number and the address of a per-thread table): threads draw different sequences.

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  local salt = tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0
  math.randomseed((os.time() * 1000003 + (tid or 0) * 7919 + salt) % 2147483647)
  -- LuaJIT's first draws after seeding are poorly spread; skip a few.
  for _ = 1, 10 do math.random() end
end
