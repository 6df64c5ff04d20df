-- wrk script for bench/code-flow: POSTs one single-use token (an authorization code or a
-- refresh token) per request to a token endpoint, each token once, and stops when they are
-- all answered. Environment:
--   BENCH_TOKENS         file with one token per line
--   BENCH_WRK_THREADS    wrk's -t (thread k takes lines k, k+T, k+2T, ...)
--   BENCH_BODY_PREFIX    form body before the token, e.g. grant_type=refresh_token&refresh_token=
--   BENCH_BODY_SUFFIX    form body after it, e.g. &redirect_uri=...&code_verifier=... (optional)
--   BENCH_AUTHORIZATION  value of the Authorization header (optional)
--   BENCH_DONE_DIR       each thread creates done.<k> there once its tokens are all answered
--
-- wrk itself only stops after -d, so it measures the wrong elapsed time for a fixed number of
-- requests: the script times the run itself (monotonic clock through LuaJIT's ffi, from the
-- first request of any thread to the last response of any thread) and prints, from done(),
-- one line that bench/code-flow reads:
--   BENCH_RESULT tokens=N answered=N ok=N non200=N unused=N elapsed_s=S rps=R p50_ms=X p99_ms=Y
--                errors=N (wrk socket errors: connect+read+write+timeout)
-- A connection that finds the thread's tokens used up sends an empty request (nothing goes on
-- the wire), so no request is ever sent without a fresh token.
--
-- wrk calls request() once more, in the main thread right after the first thread's init(), to
-- check the request's syntax, and never sends that one: the script recognises that call (it
-- runs on the OS thread that ran init()) and hands it the first token without spending it.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
unsigned long pthread_self(void);
]]
local ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local function need(name)
  local v = os.getenv(name)
  if v == nil or v == "" then
    io.stderr:write("token-grant.lua: " .. name .. " is not set\n")
    os.exit(2)
  end
  return v
end

-- ---------------------------------------------------------------- main state

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local n, got, ok, bad, unused = 0, 0, 0, 0, 0
  local first, last = nil, nil
  for _, t in ipairs(threads) do
    n = n + t:get("n")
    got = got + t:get("got")
    ok = ok + t:get("ok")
    bad = bad + t:get("bad")
    unused = unused + (t:get("n") - t:get("sent"))
    local f, l = t:get("first"), t:get("last")
    if f and f > 0 and (first == nil or f < first) then first = f end
    if l and l > 0 and (last == nil or l > last) then last = l end
  end
  local elapsed = (first and last and last > first) and (last - first) or 0
  local rps = elapsed > 0 and got / elapsed or 0
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    "BENCH_RESULT tokens=%d answered=%d ok=%d non200=%d unused=%d elapsed_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
    n, got, ok, bad, unused, elapsed, rps,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end

-- ---------------------------------------------------------------- per thread

local tokens, prefix, suffix, headers, donefile, init_thread
n, sent, got, ok, bad, first, last = 0, 0, 0, 0, 0, 0, 0

local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  init_thread = ffi.C.pthread_self()
  local path = need("BENCH_TOKENS")
  local nthreads = tonumber(need("BENCH_WRK_THREADS"))
  prefix = need("BENCH_BODY_PREFIX")
  suffix = os.getenv("BENCH_BODY_SUFFIX") or ""
  donefile = need("BENCH_DONE_DIR") .. "/done." .. tid
  headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  local authorization = os.getenv("BENCH_AUTHORIZATION")
  if authorization and authorization ~= "" then headers["Authorization"] = authorization end

  tokens = {}
  local f = io.open(path, "r")
  if f == nil then
    io.stderr:write("token-grant.lua: cannot read " .. path .. "\n")
    os.exit(2)
  end
  local i = 0
  for line in f:lines() do
    if line ~= "" then
      if i % nthreads == tid then table.insert(tokens, encode(line)) end
      i = i + 1
    end
  end
  f:close()
  n = #tokens
end

local function finish()
  local f = io.open(donefile, "w")
  if f then f:close() end
  wrk.thread:stop()
end

function request()
  if ffi.C.pthread_self() == init_thread then
    -- wrk's syntax check, not sent: show it a real request, spend nothing
    return wrk.format("POST", nil, headers, prefix .. (tokens[1] or "x") .. suffix)
  end
  if sent >= n then
    if got >= sent then finish() end
    return "" -- nothing is written; this connection just waits for the thread to stop
  end
  sent = sent + 1
  if first == 0 then first = now() end
  return wrk.format("POST", nil, headers, prefix .. tokens[sent] .. suffix)
end

function response(status, hdrs, body)
  got = got + 1
  last = now()
  if status == 200 then ok = ok + 1 else bad = bad + 1 end
  if got >= n then finish() end
end
