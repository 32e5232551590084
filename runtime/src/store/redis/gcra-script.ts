/**
 * GCRA in one Redis round trip: the same arithmetic as `limits/gcra.ts`, with the time taken from
 * the Redis server (`TIME`) so replicas with skewed clocks share one timeline. State is the
 * theoretical arrival time (TAT, epoch ms) in a string key that expires once the bucket is full
 * again. Kept as a TypeScript constant so it ships in `dist` with the code that loads it.
 *
 * KEYS[1] the bucket; ARGV: requests, window ms, cost, take (1) or peek (0).
 * Returns {allowed 0|1, remaining, retryAfterMs, resetMs} (integers).
 */
export const GCRA_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local requests = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local take = ARGV[4] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = window / requests
local current = now
local stored = redis.call('GET', KEYS[1])
if stored then
  local tat = tonumber(stored)
  -- A TAT more than a window ahead can only come from a clock moving backwards: start afresh.
  if tat and tat > now and tat - now <= window then current = tat end
end
local nxt = current + interval * cost
local used = nxt - now
if used > window then
  local remaining = math.floor((window - (current - now)) / interval)
  if remaining < 0 then remaining = 0 end
  return {0, remaining, math.ceil(used - window), math.ceil(current - now)}
end
if take then
  local ttl = math.ceil(used)
  if ttl < 1 then ttl = 1 end
  redis.call('SET', KEYS[1], string.format('%.3f', nxt), 'PX', ttl)
end
local remaining = math.floor((window - used) / interval)
if remaining < 0 then remaining = 0 end
return {1, remaining, 0, math.ceil(used)}
`;
