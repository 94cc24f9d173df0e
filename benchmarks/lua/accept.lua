-- POST /api/v1/team-invitations/accept as a new person: each thread uses its own share of the
-- seeded tokens, each once (an invitation is single use).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local mine = {}
local position = 0
local headers = {["Content-Type"] = "application/json"}

init = function(args)
  local all = read_lines(os.getenv("BENCH_TOKENS"))
  local threads = tonumber(os.getenv("BENCH_THREADS"))
  for i = thread_id, #all, threads do
    mine[#mine + 1] = all[i]
  end
end

request = function()
  position = position + 1
  local token = mine[position] or "exhausted"
  local body = string.format(
    '{"token":"%s","password":"a long bench password %d","firstName":"Bench","lastName":"Person"}', token, position)
  return wrk.format("POST", "/api/v1/team-invitations/accept", headers, body)
end
