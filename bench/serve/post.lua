-- wrk script for vw-serve: POST /search with real query vectors.
--
-- The bodies come from a file with one JSON request body per line
-- ({"query_vector":[...],"k":10}), path in the environment variable
-- VW_BODIES (run.sh writes it from a .fvecs query file). Requests rotate
-- through the bodies; each wrk thread starts at a different one.
-- At the end one line "RESULT ..." gives QPS and latency percentiles (ms),
-- which run.sh turns into a table. Latencies are wrk's: closed-loop, so
-- they do not include queueing a fixed-rate client would see.

local path = os.getenv("VW_BODIES") or "bodies.jsonl"
local bodies = {}
for line in io.lines(path) do
  if #line > 0 then
    bodies[#bodies + 1] = line
  end
end
if #bodies == 0 then
  error("no request bodies in " .. path)
end

local threads = {}
local next_body = 0

function setup(thread)
  thread:set("first_body", #threads * 97)
  threads[#threads + 1] = thread
end

function init(args)
  next_body = first_body or 0
end

local headers = {["Content-Type"] = "application/json"}

function request()
  next_body = next_body + 1
  return wrk.format("POST", "/search", headers, bodies[(next_body % #bodies) + 1])
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f qps=%.1f mean_ms=%.3f p50_ms=%.3f p90_ms=%.3f " ..
    "p95_ms=%.3f p99_ms=%.3f max_ms=%.3f socket_errors=%d non2xx=%d\n",
    summary.requests, seconds, summary.requests / seconds, latency.mean / 1000,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, e.status))
end
