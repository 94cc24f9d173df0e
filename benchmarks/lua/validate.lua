-- GET /api/v1/team-invitations/validate/{token}, tokens drawn at random from a seeded pool.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local tokens

init = function(args)
  tokens = read_lines(os.getenv("BENCH_TOKENS"))
  math.randomseed(os.time() + thread_id * 7919)
end

request = function()
  return wrk.format("GET", "/api/v1/team-invitations/validate/" .. tokens[math.random(#tokens)])
end
