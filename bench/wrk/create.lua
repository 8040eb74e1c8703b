-- POST /clusters with a name no other request (or earlier run) uses.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local count, stamp = 0, 0
function init(args)
   seed_random()
   stamp = os.time()
end

function request()
   count = count + 1
   local body = string.format(
      '{"kind":"Cluster","name":"wrk-%d-%d-%d","spec":{"region":"us-east-1","version":"4.15","nodes":3},'
         .. '"labels":{"env":"bench","team":"team-new"}}', stamp, tid, count)
   return wrk.format("POST", "/api/hyperfleet/v1/clusters", { ["Content-Type"] = "application/json" }, body)
end
