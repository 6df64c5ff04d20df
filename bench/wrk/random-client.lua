-- wrk script for bench/million/run: every request is a client-credentials token request
-- (POST, URL-encoded form) for a client drawn at random from the seeded ones.
-- Environment:
--   BENCH_RANDOM_CLIENTS  how many seeded clients there are (ids 0 .. N-1, see below); 0 or
--                         unset: every request is for BENCH_HOT_CLIENT_ID
--   BENCH_HOT_CLIENT_ID   the client used when BENCH_RANDOM_CLIENTS is 0
--   BENCH_CLIENT_SECRET   the secret (every seeded client shares the hot client's secret hash)
--
-- Seeded client number n has the id string.format("%08x-c11e-4000-8000-%012x", 0, n), as
-- bench/million/run writes it in SQL. Each wrk thread seeds its own generator
-- (per-thread-random.lua).

local function need(name)
  local v = os.getenv(name)
  if v == nil or v == "" then
    io.stderr:write("random-client.lua: " .. name .. " is not set\n")
    os.exit(2)
  end
  return v
end

local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local count = tonumber(os.getenv("BENCH_RANDOM_CLIENTS") or "0") or 0
local secret = encode(need("BENCH_CLIENT_SECRET"))
local hot = count > 0 and "" or encode(need("BENCH_HOT_CLIENT_ID"))
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local prefix = "grant_type=client_credentials&client_secret=" .. secret .. "&client_id="

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "per-thread-random.lua")

function request()
  local id
  if count > 0 then
    id = string.format("%08x-c11e-4000-8000-%012x", 0, math.random(0, count - 1))
  else
    id = hot
  end
  return wrk.format("POST", nil, headers, prefix .. id)
end
