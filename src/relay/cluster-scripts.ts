// The cluster registry's operations on Redis, one Lua script each, so that every change to a record
// and its indexes is atomic however many relays write at once. Every script gets the same three
// index keys and the key prefix first; the per-peer and per-name keys are built from the prefix,
// so the registry needs one Redis server (not Redis Cluster, which wants every key named up front).
//
// Keys, under the prefix P:
//   P peer:<fp>      hash {relay, record (JSON), since (ms, the relay's clock)} with the TTL: the
//                    record itself, and when the peer registered; its expiry is the peer's
//   P fingerprints   sorted set, all scores 0, of fingerprints: prefix lookups by ZRANGEBYLEX
//   P name:<key>     set of fingerprints per lower-cased nickname
//   P names          hash fingerprint -> nickname key, to find its name set once the record expired
//   P expiries       sorted set fingerprint -> when its record expires (ms): what the sweep visits
//   P relays         hash relay address -> "<seen ms, Redis's clock> <relay fingerprint> <its peers>"
// An index entry whose record has expired is removed when a lookup meets it or the sweep reaches it.

/** KEYS[1..3] and ARGV[1] of every script. */
const PRELUDE = `
local fingerprints, names, expiries, prefix = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
local function peer(fp) return prefix .. 'peer:' .. fp end
local function forget(fp)
  redis.call('ZREM', fingerprints, fp)
  local name = redis.call('HGET', names, fp)
  if name then redis.call('SREM', prefix .. 'name:' .. name, fp) end
  redis.call('HDEL', names, fp)
  redis.call('ZREM', expiries, fp)
end
-- A key of another type where ours should be (a foreign writer) reads as empty, never as a failed script.
local function list(reply) if reply.err then return {} end return reply end
local function fields(fp)
  local v = redis.pcall('HMGET', peer(fp), 'relay', 'record')
  if v.err then return {'', ''} end
  return v
end
`;

export const CLUSTER_SCRIPTS = Object.freeze({
  /**
   * ARGV: prefix, fp, relay, record JSON, name key, ttl ms, expires at, since, '1' to keep a newer
   * registration. Returns {the relay it was on before or '', 1 when it kept that relay's newer one}.
   * A registration replaces whatever is there; a relay writing back its peers after losing Redis
   * keeps one that another relay took since.
   */
  register: `${PRELUDE}
local fp, relay, record, name, ttl, expiresAt, since, keepNewer = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local held = redis.pcall('HMGET', peer(fp), 'relay', 'since')
if held.err then held = {false, false} end
local previous = held[1]
-- Only another relay's (host:port) later registration is kept: a foreign value is written over.
local another = previous and previous ~= relay and string.find(previous, ':%d+$')
if keepNewer == '1' and another and (tonumber(held[2]) or 0) > tonumber(since) then return {previous, 1} end
local oldName = redis.call('HGET', names, fp)
if oldName and oldName ~= name then redis.call('SREM', prefix .. 'name:' .. oldName, fp) end
redis.call('DEL', peer(fp))
redis.call('HSET', peer(fp), 'relay', relay, 'record', record, 'since', since)
redis.call('PEXPIRE', peer(fp), ttl)
redis.call('ZADD', fingerprints, 0, fp)
redis.call('HSET', names, fp, name)
redis.call('SADD', prefix .. 'name:' .. name, fp)
redis.call('ZADD', expiries, expiresAt, fp)
return {previous or '', 0}`,

  /** ARGV: prefix, fp, relay, ttl ms, expires at. 1 when extended, 0 when gone or another relay's. */
  refresh: `${PRELUDE}
local fp, relay, ttl, expiresAt = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('HGET', peer(fp), 'relay') ~= relay then return 0 end
redis.call('PEXPIRE', peer(fp), ttl)
redis.call('ZADD', expiries, expiresAt, fp)
return 1`,

  /**
   * ARGV: prefix, relay, ttl ms, expires at, fp... Extends each record still on \`relay\`. Returns
   * one status per fp: 1 extended, 0 gone (to register again), or the relay it is on now (it moved,
   * if that is a relay's address; '' for a value of another type there).
   */
  refreshMany: `${PRELUDE}
local relay, ttl, expiresAt = ARGV[2], ARGV[3], ARGV[4]
local statuses = {}
for i = 5, #ARGV do
  local fp = ARGV[i]
  local holder = fields(fp)[1]
  if holder == relay then
    redis.call('PEXPIRE', peer(fp), ttl)
    redis.call('ZADD', expiries, expiresAt, fp)
    statuses[#statuses + 1] = 1
  elseif holder then
    statuses[#statuses + 1] = holder
  else
    statuses[#statuses + 1] = 0
  end
end
return statuses`,

  /** ARGV: prefix, relay, fp... Removes each record still on \`relay\`; returns how many. */
  unregisterMany: `${PRELUDE}
local relay, removed = ARGV[2], 0
for i = 3, #ARGV do
  local fp = ARGV[i]
  if fields(fp)[1] == relay then
    redis.call('DEL', peer(fp))
    forget(fp)
    removed = removed + 1
  end
end
return removed`,

  /**
   * ARGV: prefix, relay, its fingerprint, its peers, ttl ms. Says \`relay\` is alive now (Redis's
   * clock, the same for every relay), unless a live relay holds another key: a cluster shares one
   * key, and a relay with a stranger's must not join. Returns every relay seen within the TTL as
   * address, entry pairs (this one's new entry when written); other entries (dead relays, or seen
   * more than the TTL ahead of Redis's clock) are removed.
   */
  heartbeat: `${PRELUDE}
local relay, fingerprint, peers, ttl = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local relays = prefix .. 'relays'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local entry = now .. ' ' .. fingerprint .. ' ' .. peers
local alive, agreed = {}, true
local all = list(redis.pcall('HGETALL', relays))
if #all == 0 then redis.call('DEL', relays) end
for i = 1, #all, 2 do
  local seen, key = string.match(all[i + 1], '^(%d+) (%S+) ')
  -- Seen within the TTL; one seen later than that from now was not written by a live relay.
  if seen and math.abs(tonumber(seen) - now) <= ttl then
    if all[i] ~= relay then
      alive[#alive + 1] = all[i]
      alive[#alive + 1] = all[i + 1]
      if key ~= fingerprint then agreed = false end
    end
  else
    redis.call('HDEL', relays, all[i])
  end
end
if agreed then
  redis.call('HSET', relays, relay, entry)
  alive[#alive + 1] = relay
  alive[#alive + 1] = entry
end
return alive`,

  /** ARGV: prefix, relay. It leaves the cluster's list of relays. */
  leave: `${PRELUDE}
redis.pcall('HDEL', prefix .. 'relays', ARGV[2])
return 1`,

  /** ARGV: prefix, fp, relay. 1 when removed, 0 when gone or another relay's. */
  unregister: `${PRELUDE}
local fp, relay = ARGV[2], ARGV[3]
if redis.call('HGET', peer(fp), 'relay') ~= relay then return 0 end
redis.call('DEL', peer(fp))
forget(fp)
return 1`,

  /** ARGV: prefix, fp. {relay, record}, either false when absent. */
  find: `${PRELUDE}
return fields(ARGV[2])`,

  /**
   * ARGV: prefix, name key, dashed fingerprint prefix ('' for none), candidates per index, limit.
   * Returns fp, relay, record triples of at most \`limit\` records that exist, name matches first;
   * expired entries met on the way leave the indexes.
   */
  lookup: `${PRELUDE}
local name, fpPrefix, candidates, limit = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local found, seen, count = {}, {}, 0
local function take(list)
  for _, fp in ipairs(list) do
    if count >= limit then return end
    if not seen[fp] then
      seen[fp] = true
      local v = fields(fp)
      if v[1] or v[2] then
        found[#found + 1] = fp
        found[#found + 1] = v[1] or ''
        found[#found + 1] = v[2] or ''
        count = count + 1
      else
        forget(fp)
      end
    end
  end
end
take(list(redis.pcall('SRANDMEMBER', prefix .. 'name:' .. name, candidates)))
if fpPrefix ~= '' and count < limit then
  take(list(redis.pcall('ZRANGEBYLEX', fingerprints, '[' .. fpPrefix, '(' .. fpPrefix .. '\\127', 'LIMIT', 0, candidates)))
end
return found`,

  /**
   * ARGV: prefix, now, most entries, ttl ms. Visits entries due by \`now\`: an expired record leaves
   * every index; a live one (refreshed by a relay whose clock is behind) is seen again later.
   * Returns how many records left.
   */
  sweep: `${PRELUDE}
local now, most, ttl = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local removed = 0
for _, fp in ipairs(redis.call('ZRANGEBYSCORE', expiries, '-inf', now, 'LIMIT', 0, most)) do
  local left = redis.call('PTTL', peer(fp))
  if left == -2 then
    forget(fp)
    removed = removed + 1
  else
    redis.call('ZADD', expiries, now + (left > 0 and left or ttl), fp)
  end
end
return removed`,
});

export type ClusterScript = keyof typeof CLUSTER_SCRIPTS;
