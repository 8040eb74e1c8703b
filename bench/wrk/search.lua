-- GET /clusters?search=labels.team='team-N': each of the 100 teams labels ~1 % of the clusters.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function init(args)
   seed_random()
end

function request()
   local team = math.random(0, 99)
   return wrk.format("GET", "/api/hyperfleet/v1/clusters?pageSize=100&search=labels.team%3D%27team-" .. team .. "%27")
end
