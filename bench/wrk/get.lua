-- GET /clusters/{id} of a random seeded cluster.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local ids
function init(args)
   seed_random()
   ids = load_ids()
end

function request()
   return wrk.format("GET", "/api/hyperfleet/v1/clusters/" .. ids[math.random(#ids)])
end
