-- agents whose shown row came from a snapshot that is gone: replaced or removed (%(sids)s), or
-- in a purged range [lo[i], hi[i])
SELECT r.agent_id
FROM agent_leaderboard_rows r
WHERE r.snapshot_id = ANY(%(sids)s::uuid[])
UNION
SELECT r.agent_id
FROM unnest(%(lo)s::timestamptz[], %(hi)s::timestamptz[]) AS p(lo, hi)
JOIN agent_leaderboard_rows r ON r.recorded_at >= p.lo AND r.recorded_at < p.hi
