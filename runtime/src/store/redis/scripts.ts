/**
 * The stores' Lua scripts (the rate limiter's is in `gcra-script.ts`): each makes a
 * read-then-write atomic in one round trip.
 */

/**
 * Idempotency claim. KEYS[1] the claim; ARGV: in-progress marker, ttl ms.
 * Returns nil when this call claimed the key, else the stored value.
 */
export const IDEMPOTENCY_CLAIM_LUA = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])
`;

/**
 * Records the outcome, keeping the claim's expiry but at least ARGV[2] ms (so a completion that
 * outlived its claim is still remembered). KEYS[1] the claim; ARGV: value, minimum ttl ms.
 */
export const IDEMPOTENCY_COMPLETE_LUA = `
local ttl = redis.call('PTTL', KEYS[1])
local floor = tonumber(ARGV[2])
if ttl < floor then ttl = floor end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
return 1
`;

/** Deletes the claim only while it is still in progress. KEYS[1] the claim; ARGV[1] the marker. */
export const IDEMPOTENCY_RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Cache entries live under the cache's current generation, so clearing is one INCR. KEYS[1] the
 * generation counter; ARGV: entry prefix (with the client's key prefix), key[, value, ttl ms].
 * Entry keys are derived inside the script: standalone Redis (or Sentinel), not Redis Cluster.
 */
export const CACHE_GET_LUA = `
local gen = redis.call('GET', KEYS[1]) or '0'
return redis.call('GET', ARGV[1] .. gen .. ':' .. ARGV[2])
`;

/**
 * A cache entry that holds a reference (ARGV[3] + entry) to a value stored elsewhere in Redis:
 * the value's own key is read in the same step. Nil when either is gone.
 */
export const CACHE_GET_REFERENCED_LUA = `
local gen = redis.call('GET', KEYS[1]) or '0'
local ref = redis.call('GET', ARGV[1] .. gen .. ':' .. ARGV[2])
if not ref then return false end
return redis.call('GET', ARGV[3] .. ref)
`;

export const CACHE_SET_LUA = `
local gen = redis.call('GET', KEYS[1]) or '0'
redis.call('SET', ARGV[1] .. gen .. ':' .. ARGV[2], ARGV[3], 'PX', ARGV[4])
return 1
`;
