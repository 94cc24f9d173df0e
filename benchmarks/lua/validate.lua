-- GET /api/v1/team-invitations/validate/{token}, tokens drawn at random from a seeded pool.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local token

init = function(args)
  token = lines_at_random("BENCH_TOKENS")
end

request = function()
  return wrk.format("GET", "/api/v1/team-invitations/validate/" .. token())
end
