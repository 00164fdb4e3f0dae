-- wrk script for the token routes: a fixed POST with the caller JWT, JSON body and a machine-
-- readable summary (summary.lua). Environment:
--   BENCH_JWT    the caller JWT (sent as "Authorization: Bearer ...")
--   BENCH_BODY   the JSON request body
--   BENCH_DELAY  optional milliseconds each connection waits between requests (moderate load:
--                offered rate <= connections * 1000 / delay)
--   BENCH_OUT    file to write the JSON summary to (default: stdout)
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "summary.lua")

wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_JWT") or "")

local delay_ms = tonumber(os.getenv("BENCH_DELAY") or "")
if delay_ms and delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function init(args)
  summary_init()
end
