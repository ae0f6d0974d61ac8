-- the completed snapshots in the time ranges [lo[i], hi[i]) (by created_at's index)
SELECT s.id
FROM unnest(%(lo)s::timestamptz[], %(hi)s::timestamptz[]) AS r(lo, hi)
JOIN snapshots s ON s.created_at >= r.lo AND s.created_at < r.hi
WHERE s.status = 'completed'
