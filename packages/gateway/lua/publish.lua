-- jobcast publish: assign seq, refuse after a terminal event, store the snapshot, publish.
-- KEYS[1]  snapshot key and channel of the job: {prefix}job:{ID}, e.g. jobcast:job:{export-42}
-- ARGV[1]  the event JSON without "seq": an object text starting with '{' (id, status, ..., ts)
-- ARGV[2]  time to live of the snapshot, in seconds
-- Returns  {1, storedJson} when published; {0, currentSnapshotJson} when refused (job is terminal).
--          The same event sent again (a retry after a lost reply) is answered {1, storedJson} of the
--          first send and published once, so a producer can always resend what it is not sure of.
local key = KEYS[1]
local body = ARGV[1]
if string.sub(body, 1, 1) ~= '{' or string.len(body) < 3 then
  return redis.error_reply('jobcast: ARGV[1] must be a JSON object text with at least one field')
end
local prev = 0
local current = redis.call('GET', key)
if current then
  -- stored texts are '{"seq":N,' .. the producer's text without its '{'
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
redis.call('PUBLISH', key, json)
return {1, json}
