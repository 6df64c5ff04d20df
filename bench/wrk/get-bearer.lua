-- wrk script for bench/million/run: GETs the URL given to wrk as an API caller, with a bearer
-- token drawn at random per request from a file, so each request lists the pages of a random
-- administrator (and customer).
-- Environment:
--   BENCH_BEARERS  file with one "<customer id> <bearer token>" per line
-- Each request carries
--   Authorization: CwsAuth Bearer=<token>
--   Citrix-CustomerId: <customer id>
--   Accept: application/json

local path = os.getenv("BENCH_BEARERS")
if path == nil or path == "" then
  io.stderr:write("get-bearer.lua: BENCH_BEARERS is not set\n")
  os.exit(2)
end

local callers = {}
local f = io.open(path, "r")
if f == nil then
  io.stderr:write("get-bearer.lua: cannot read " .. path .. "\n")
  os.exit(2)
end
for line in f:lines() do
  local customer, token = line:match("^(%S+)%s+(%S+)$")
  if customer then
    table.insert(callers, {
      ["Authorization"] = "CwsAuth Bearer=" .. token,
      ["Citrix-CustomerId"] = customer,
      ["Accept"] = "application/json",
    })
  end
end
f:close()
if #callers == 0 then
  io.stderr:write("get-bearer.lua: no \"customer token\" line in " .. path .. "\n")
  os.exit(2)
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "per-thread-random.lua")

function request()
  return wrk.format("GET", nil, callers[math.random(1, #callers)], nil)
end
