-- POST /clusters/{id}/statuses from one of 4 adapters, observed_generation 1 (the cluster's
-- generation), so every report replaces the stored one (201; a lower generation would be 204).
-- The cluster is random among $IDS_FILE, or always $HOT_ID when that is set (one hot row).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local ids, hot
function init(args)
   seed_random()
   hot = os.getenv("HOT_ID")
   if hot == nil or hot == "" then ids = load_ids() end
end

function request()
   local cluster = hot
   if ids then cluster = ids[math.random(#ids)] end
   local adapter = "bench-" .. math.random(1, 4)
   local body = '{"adapter":"' .. adapter .. '","observed_generation":1,"conditions":[{"type":"Available",'
      .. '"status":"True","reason":"Bench","message":"load test"}],"data":{}}'
   return wrk.format("POST", "/api/hyperfleet/v1/clusters/" .. cluster .. "/statuses",
      { ["Content-Type"] = "application/json" }, body)
end
