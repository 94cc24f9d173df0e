-- GET /api/v1/team-invitations?limit=50: the newest page of pending invitations.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local headers = {["X-API-Key"] = os.getenv("BENCH_API_KEY")}

request = function()
  return wrk.format("GET", "/api/v1/team-invitations?limit=50", headers)
end
