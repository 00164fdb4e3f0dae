-- wrk script for the load test: cycles through the three token routes (agora, livekit, stream)
-- with the caller JWT, and writes the JSON summary of summary.lua (every status code counted).
--   BENCH_JWT  caller JWT;  BENCH_OUT  summary file (default stdout)
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "summary.lua")

local jwt = os.getenv("BENCH_JWT") or ""
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. jwt }
local reqs = {
  { "/agora/token", '{"type":"rtc","channel":"room-1","role":"publisher"}' },
  { "/livekit/token", '{"room_name":"room-1"}' },
  { "/stream/token", '{"type":"chat"}' },
}

function init(args)
  summary_init()
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
