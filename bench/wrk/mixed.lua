-- wrk script for the load test: cycles through the three token routes (agora, livekit, stream)
-- with the caller JWT, and writes a JSON summary with the count of every status code.
--   BENCH_JWT  caller JWT;  BENCH_OUT  summary file (default stdout)
local jwt = os.getenv("BENCH_JWT") or ""
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. jwt }
local reqs = {
  { "/agora/token", '{"type":"rtc","channel":"room-1","role":"publisher"}' },
  { "/livekit/token", '{"room_name":"room-1"}' },
  { "/stream/token", '{"type":"chat"}' },
}
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  codes = {}
  i = 0
  built = {}
  for k, r in ipairs(reqs) do
    built[k] = wrk.format("POST", r[1], headers, r[2])
  end
end

function request()
  i = i % #built + 1
  return built[i]
end

function response(status, hdrs, body)
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
    '{"requests":%d,"duration_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},' ..
    '"latency_us":{"p50":%d,"p99":%d,"max":%d},"status":{%s}}',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max, table.concat(parts, ","))
  local path = os.getenv("BENCH_OUT")
  if path and path ~= "" then
    local f = assert(io.open(path, "w"))
    f:write(out, "\n")
    f:close()
  else
    io.write(out, "\n")
  end
end
