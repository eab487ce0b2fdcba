-- wrk script for bench/api_load.py: POSTs one report (fresh UUID v4 per request) and records
-- the UUID of every acknowledged (2xx) answer in a file per thread, to check against the
-- database. Settings come from the environment (set by api_load.py):
--   BENCH_PATH     path to POST to
--   BENCH_COOKIE   Cookie header (the product's signed-in session), may be empty
--   BENCH_CSRF     X-CSRFToken header, may be empty
--   BENCH_POINTS   "lon,lat;lon,lat;…" points inside grids
--   BENCH_CATS     "id;id;…" category ids
--   BENCH_ACKDIR   directory for the per-thread acknowledged-UUID files
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local points, cats, ackfile, headers, path

local function split(s, sep)
  local out = {}
  for piece in string.gmatch(s, "([^" .. sep .. "]+)") do table.insert(out, piece) end
  return out
end

function init(args)
  math.randomseed(os.time() * 1000 + tid * 7919 + math.floor(os.clock() * 1e6))
  path = os.getenv("BENCH_PATH")
  points = {}
  for _, p in ipairs(split(os.getenv("BENCH_POINTS"), ";")) do
    local xy = split(p, ",")
    table.insert(points, { xy[1], xy[2] })
  end
  cats = split(os.getenv("BENCH_CATS"), ";")
  headers = { ["Content-Type"] = "application/json" }
  local cookie = os.getenv("BENCH_COOKIE") or ""
  if cookie ~= "" then headers["Cookie"] = cookie end
  local csrf = os.getenv("BENCH_CSRF") or ""
  if csrf ~= "" then headers["X-CSRFToken"] = csrf end
  ackfile = io.open(os.getenv("BENCH_ACKDIR") .. "/acked-" .. tid .. ".txt", "w")
end

local function uuid4()
  return string.gsub("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", "[xy]", function(c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%x", v)
  end)
end

function request()
  local p = points[math.random(#points)]
  local body = '{"uuid":"' .. uuid4() .. '","category_id":' .. cats[math.random(#cats)] ..
    ',"description":"负载测试上报","lon":' .. p[1] .. ',"lat":' .. p[2] .. ',"accuracy_m":10}'
  return wrk.format("POST", path, headers, body)
end

function response(status, hdrs, body)
  if status == 200 or status == 201 then
    local key = string.match(body, '"uuid":%s*"([0-9a-f%-]+)"')
    if key then ackfile:write(key, "\n") end
  end
end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do end
end
