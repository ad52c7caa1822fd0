-- jobcast publish: check the event, assign seq, refuse after a terminal event, store the snapshot, publish.
-- KEYS[1]  snapshot key and channel of the job: {prefix}job:{ID}, e.g. jobcast:job:{export-42}
-- ARGV[1]  the event JSON without "seq" (docs/protocol.md, "Event"), in any layout: it is stored
--          and published compact, on one line
-- ARGV[2]  time to live of the snapshot, in seconds
-- ARGV[3]  optional: largest event accepted, in bytes (default 65536, the gateway's default limit)
-- Returns  {1, storedJson} when published; {0, currentSnapshotJson} when refused (job is terminal).
--          The same event sent again (a retry after a lost reply) is answered {1, storedJson} of the
--          first send and published once, so a producer can always resend what it is not sure of.
-- Errors   'invalid_event: <field> <what is wrong>' or 'invalid_job_id: id ...' when the event
--          breaks the contract; nothing is written or published then.
local key = KEYS[1]
local text = ARGV[1]
local maxBytes = tonumber(ARGV[3]) or 65536

local function refuse(field, problem)
  return redis.error_reply('invalid_event: ' .. field .. ' ' .. problem)
end

local jobId = string.match(key, 'job:{([^{}]*)}$')
if not jobId or #jobId > 128 or string.find(jobId, '^[A-Za-z0-9._:@%-]+$') == nil then
  return redis.error_reply('invalid_job_id: id must be 1–128 characters of [A-Za-z0-9._:@-], in KEYS[1] as {prefix}job:{ID}')
end

-- A strict JSON reader that also writes the text compact. cjson alone cannot be the check: it
-- accepts what JSON.parse refuses (0x10, NaN, 01) and reads [] and {} as the same empty table.
-- Line breaks go with the layout, so the stored text is one line (an SSE frame stays whole).
local pos, parts, count = 1, {}, 0
local fields, order = {}, {}
local function bad(what)
  error({ 'event', 'is not valid JSON: ' .. what .. ' at byte ' .. pos })
end
local function emit(piece)
  count = count + 1
  parts[count] = piece
end
local function skip()
  pos = string.find(text, '[^ \t\r\n]', pos) or (#text + 1)
end
local function jsonString()
  local start, i = pos, pos + 1
  while true do
    local j = string.find(text, '["\\%z\1-\31]', i)
    if not j then
      pos = #text + 1
      bad('unterminated string')
    end
    local c = string.sub(text, j, j)
    if c == '"' then
      pos = j + 1
      local piece = string.sub(text, start, j)
      emit(piece)
      return piece
    elseif c ~= '\\' then
      pos = j
      bad('raw control character in a string')
    elseif string.find(text, '^["\\/bfnrt]', j + 1) then
      i = j + 2
    elseif string.find(text, '^u%x%x%x%x', j + 1) then
      i = j + 6
    else
      pos = j
      bad('bad escape')
    end
  end
end
local value
local function container(open, close, depth, top)
  if depth > 1000 then bad('nested deeper than 1000 levels') end
  emit(open)
  pos = pos + 1
  skip()
  if string.sub(text, pos, pos) == close then
    emit(close)
    pos = pos + 1
    return
  end
  while true do
    if open == '{' then
      if string.sub(text, pos, pos) ~= '"' then bad('expected a field name') end
      local name = jsonString()
      skip()
      if string.sub(text, pos, pos) ~= ':' then bad("expected ':'") end
      emit(':')
      pos = pos + 1
      skip()
      if top then
        name = cjson.decode(name)
        if fields[name] then error({ name, 'appears twice' }) end
        fields[name] = string.sub(text, pos, pos)
        order[#order + 1] = name
      end
    end
    value(depth)
    skip()
    local c = string.sub(text, pos, pos)
    if c == close then
      emit(close)
      pos = pos + 1
      return
    end
    if c ~= ',' then bad("expected ',' or '" .. close .. "'") end
    emit(',')
    pos = pos + 1
    skip()
  end
end
value = function(depth)
  local c = string.sub(text, pos, pos)
  if c == '{' then return container('{', '}', depth + 1, false) end
  if c == '[' then return container('[', ']', depth + 1, false) end
  if c == '"' then return jsonString() end
  for _, word in ipairs({ 'true', 'false', 'null' }) do
    if string.sub(text, pos, pos + #word - 1) == word then
      emit(word)
      pos = pos + #word
      return
    end
  end
  local number = string.match(text, '^-?%d+', pos)
  if not number or string.find(number, '^-?0%d') then bad('expected a value') end
  local stop = pos + #number
  local fraction = string.match(text, '^%.%d+', stop)
  if fraction then stop = stop + #fraction end
  local exponent = string.match(text, '^[eE][+-]?%d+', stop)
  if exponent then stop = stop + #exponent end
  emit(string.sub(text, pos, stop - 1))
  pos = stop
end

skip()
if string.sub(text, pos, pos) ~= '{' then return refuse('event', 'must be a JSON object') end
local read, problem = pcall(function()
  container('{', '}', 1, true)
  skip()
  if pos <= #text then bad('text after the object') end
end)
if not read then
  if type(problem) ~= 'table' then error(problem) end
  return refuse(problem[1], problem[2])
end
local body = table.concat(parts)
local event = cjson.decode(body)

local statuses = { queued = true, active = true, completed = true, failed = true, cancelled = true }
local known = { id = true, status = true, progress = true, message = true, data = true, result = true, error = true, ts = true }
local function isNumber(v)
  return type(v) == 'number' and v == v and v > -math.huge and v < math.huge
end
for _, name in ipairs(order) do
  if not known[name] then
    return refuse(name, 'is not an event field: put your own fields in data (seq is set by the publish script)')
  end
end
if event.id ~= jobId then return refuse('id', 'must equal the job id "' .. jobId .. '"') end
if not statuses[event.status] then
  return refuse('status', 'must be one of queued, active, completed, failed, cancelled')
end
if fields.progress and not (isNumber(event.progress) and event.progress >= 0 and event.progress <= 100) then
  return refuse('progress', 'must be a number 0–100')
end
if fields.message and type(event.message) ~= 'string' then return refuse('message', 'must be a string') end
if fields.data and fields.data ~= '{' then return refuse('data', 'must be an object') end
if fields.result and fields.result ~= '{' then return refuse('result', 'must be an object') end
if fields.error then
  local shaped = fields.error == '{' and type(event.error.message) == 'string'
    and (event.error.code == nil or type(event.error.code) == 'string')
  for name in pairs(shaped and event.error or {}) do
    if name ~= 'message' and name ~= 'code' then shaped = false end
  end
  if not shaped then return refuse('error', 'must be {message: string, code?: string}') end
elseif event.status == 'failed' then
  return refuse('error', 'is required on failed: {message: string, code?: string}')
end
if not (isNumber(event.ts) and event.ts >= 0) then
  return refuse('ts', 'must be milliseconds since the epoch (a number ≥ 0)')
end
-- room for the '"seq":N,' the script adds
if #body > maxBytes - 30 then
  return refuse('event', 'is larger than ' .. maxBytes .. ' bytes: keep big payloads elsewhere and send a link')
end

local prev = 0
local current = redis.call('GET', key)
if current then
  -- stored texts are '{"seq":N,' .. the producer's compact text without its '{'
  local head = string.find(current, ',', 1, true)
  if head and string.sub(current, 1, 7) == '{"seq":' and string.sub(current, head + 1) == string.sub(body, 2) then
    return {1, current}
  end
  -- decode only to read seq and status; the stored text is never re-encoded
  local ok, old = pcall(cjson.decode, current)
  if ok and type(old) == 'table' then
    local status = old['status']
    if status == 'completed' or status == 'failed' or status == 'cancelled' then
      return {0, current}
    end
    if type(old['seq']) == 'number' then
      prev = old['seq']
    end
  end
end
-- seq = max(prev + 1, server clock in microseconds): keeps increasing even when a restart
-- or failover lost the snapshot
local now = redis.call('TIME')
local seq = math.max(prev + 1, tonumber(now[1]) * 1000000 + tonumber(now[2]))
local json = '{"seq":' .. string.format('%.0f', seq) .. ',' .. string.sub(body, 2)
redis.call('SET', key, json, 'EX', tonumber(ARGV[2]))
redis.call('SPUBLISH', key, json)
return {1, json}
