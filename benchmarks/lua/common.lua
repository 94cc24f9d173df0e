-- Shared by every scenario: each wrk thread gets a number, and at the end prints one JSON line
-- with its figures (the runner adds them up). Latencies are in microseconds.
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"non_2xx":%d,"socket_errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end

function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    lines[#lines + 1] = line
  end
  return lines
end

-- A line of the file named by environment variable `name`, drawn at random on each call; each
-- thread seeds its own generator, so threads do not repeat one another.
function lines_at_random(name)
  local lines = read_lines(os.getenv(name))
  math.randomseed(os.time() + thread_id * 7919)
  return function() return lines[math.random(#lines)] end
end
