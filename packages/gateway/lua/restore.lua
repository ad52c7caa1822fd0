-- jobcast restore: put a job's last known event back after Redis lost it (a restart without
-- persistence, a failover to a replica that missed the last writes). Never over a newer state,
-- never over a terminal one, so a restore can neither reorder nor re-open a job.
-- KEYS[1]  snapshot key and channel of the job: {prefix}job:{ID}
-- ARGV[1]  the event JSON with its "seq", exactly as the publish script returned it or a
--          subscriber received it
-- ARGV[2]  time to live of the snapshot, in seconds
-- Returns  1 when restored (stored and published again), 0 when the snapshot was kept.
local key = KEYS[1]
local ok, event = pcall(cjson.decode, ARGV[1])
if not ok or type(event) ~= 'table' or type(event['seq']) ~= 'number' then
  return redis.error_reply('jobcast: ARGV[1] must be a stored event with a numeric seq')
end
local current = redis.call('GET', key)
if current then
  local decoded, old = pcall(cjson.decode, current)
  if decoded and type(old) == 'table' and type(old['seq']) == 'number' then
    local status = old['status']
    if old['seq'] >= event['seq'] or status == 'completed' or status == 'failed' or status == 'cancelled' then
      return 0
    end
  end
end
redis.call('SET', key, ARGV[1], 'EX', tonumber(ARGV[2]))
redis.call('SPUBLISH', key, ARGV[1])
return 1
