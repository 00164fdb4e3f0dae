-- Shared by post.lua and mixed.lua (loaded with dofile): counts the answers by status, one table
-- per thread (wrk itself reports only a total of non-2xx), and writes the machine-readable JSON
-- summary that bench/tools/bench.py and scripts/load-test.sh read:
--   {"requests","duration_us","bytes","errors":{connect,read,write,timeout,status},
--    "latency_us":{mean,max,p50,p90,p99,p999},"status":{"<code>":count,...}}
-- to $BENCH_OUT (default: stdout).
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

-- Called from each script's init(): the calling thread's status counters.
function summary_init()
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
