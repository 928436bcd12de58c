-- wrk script for vw-serve --data: POST /vectors, one new vector per request
-- under an id no other request uses (each wrk thread counts up from its own
-- base), so every request is an insert that must reach the log.
--
-- The vectors come from VW_BODIES like post.lua's queries: one JSON array
-- per line ([f, ...]). At the end one line "RESULT ..." gives the
-- acknowledged writes per second and latency percentiles (ms).

local path = os.getenv("VW_BODIES") or "vectors.jsonl"
local vectors = {}
for line in io.lines(path) do
  if #line > 0 then
    vectors[#vectors + 1] = line
  end
end
if #vectors == 0 then
  error("no vectors in " .. path)
end

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("first_id", 1000000000 + #threads * 100000000)
  threads[#threads + 1] = thread
end

function init(args)
  next_id = first_id or 1000000000
end

local headers = {["Content-Type"] = "application/json"}

function request()
  next_id = next_id + 1
  local body = '{"ids":[' .. next_id .. '],"vectors":[' .. vectors[(next_id % #vectors) + 1] .. ']}'
  return wrk.format("POST", "/vectors", headers, body)
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f writes_per_s=%.1f mean_ms=%.3f p50_ms=%.3f p90_ms=%.3f " ..
    "p99_ms=%.3f max_ms=%.3f socket_errors=%d non2xx=%d\n",
    summary.requests, seconds, summary.requests / seconds, latency.mean / 1000,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, e.status))
end
