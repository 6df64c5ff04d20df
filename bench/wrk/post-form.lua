-- wrk script for bench/run: every request is a POST of one URL-encoded form.
-- The body comes from the environment variable BENCH_BODY, e.g.
--   grant_type=client_credentials&client_id=...&client_secret=...
local body = os.getenv("BENCH_BODY")
if body == nil or body == "" then
  io.stderr:write("post-form.lua: BENCH_BODY is not set\n")
  os.exit(2)
end

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
