-- wrk script for the redemption benchmark: each thread cycles through its own share of the paths listed in the
-- file $BENCH_PATHS (one per line), so a download link is used by one thread only and at most once per cycle
-- (a link admits 50 downloads: scripts/bench issues enough links that no cycle count reaches 50, and any non-2xx
-- answer fails the run). done() prints one JSON line with the counts and latency percentiles (microseconds).
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  if #line > 0 then paths[#paths + 1] = line end
end
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local n = tonumber(os.getenv("BENCH_THREADS"))
  mine = {}
  for i = id + 1, #paths, n do mine[#mine + 1] = paths[i] end
  idx = 0
end

function request()
  idx = idx + 1
  if idx > #mine then idx = 1 end
  return wrk.format("GET", mine[idx])
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "status_errors": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "p50_us": %d, "p99_us": %d, "paths": %d}\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), #paths))
end
