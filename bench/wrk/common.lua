-- Shared by the wrk scripts of bench/run.sh: thread numbering, random seeds, the id file, and
-- one machine-readable RESULT line at the end (bench/run.sh parses it).

local threads = 0
function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

function seed_random()
   math.randomseed(os.time() * 1000 + (tid or 0))
end

-- The non-empty lines of $IDS_FILE.
function load_ids()
   local path = os.getenv("IDS_FILE") or error("IDS_FILE is not set")
   local ids = {}
   for line in io.lines(path) do
      if line ~= "" then ids[#ids + 1] = line end
   end
   if #ids == 0 then error("no ids in " .. path) end
   return ids
end

function done(summary, latency, requests)
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      "RESULT requests=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f non2xx=%d socket_errors=%d\n",
      summary.requests, summary.requests / seconds, latency:percentile(50) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000, e.status,
      e.connect + e.read + e.write + e.timeout))
end
