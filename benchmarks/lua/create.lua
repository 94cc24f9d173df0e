-- POST /api/v1/team-invitations with the API key of one of many teams, chosen at random (as the
-- ceiling's transaction picks one of its 1,000 teams); every email is unique (run tag, thread, counter).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local counter = 0
local tag = os.getenv("BENCH_TAG")
local key

init = function(args)
  key = lines_at_random("BENCH_KEYS")
end

request = function()
  counter = counter + 1
  local body = string.format('{"email":"%s-%d-%d@bench.example","role":"member"}', tag, thread_id, counter)
  local headers = {["X-API-Key"] = key(), ["Content-Type"] = "application/json"}
  return wrk.format("POST", "/api/v1/team-invitations", headers, body)
end
