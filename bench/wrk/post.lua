-- wrk script for the token routes: a fixed POST with the caller JWT, JSON body and a machine-
-- readable summary. Environment:
--   BENCH_JWT    the caller JWT (sent as "Authorization: Bearer ...")
--   BENCH_BODY   the JSON request body
--   BENCH_DELAY  optional milliseconds each connection waits between requests (moderate load:
--                offered rate <= connections * 1000 / delay)
--   BENCH_OUT    file to write the JSON summary to (default: stdout)
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

-- Count non-2xx answers by status (wrk itself only reports a total), one table per thread.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  codes = {}
end

function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
  local by_status = {}
  for _, t in ipairs(threads) do
    local c = t:get("codes")
    if c then
      for k, v in pairs(c) do
        by_status[tostring(k)] = (by_status[tostring(k)] or 0) + v
      end
    end
  end
  local parts = {}
  for k, v in pairs(by_status) do
    table.insert(parts, string.format('"%s":%d', k, v))
  end
  local e = summary.errors
  local out = string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},' ..
    '"latency_us":{"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d},' ..
    '"status":{%s}}',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9),
    table.concat(parts, ","))
  local path = os.getenv("BENCH_OUT")
  if path and path ~= "" then
    local f = assert(io.open(path, "w"))
    f:write(out, "\n")
    f:close()
  else
    io.write(out, "\n")
  end
end
