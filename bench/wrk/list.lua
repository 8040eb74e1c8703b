-- GET /clusters: the first page of 100 in the default order (newest first), with its total.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
   return wrk.format("GET", "/api/hyperfleet/v1/clusters?pageSize=100")
end
