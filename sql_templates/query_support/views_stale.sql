-- which of these materialized views miss loaded snapshots: no refresh recorded by moltctl, or
-- the last one before the latest snapshot completed (both times are wall-clock, at the server)
SELECT v.name, r.refreshed_at, s.loaded_at
FROM unnest(%(names)s::text[]) AS v(name)
LEFT JOIN moltctl_view_refreshes r ON r.view_name = v.name
CROSS JOIN (SELECT max(completed_at) AS loaded_at FROM snapshots WHERE status = 'completed') s
WHERE s.loaded_at IS NOT NULL
  AND (r.refreshed_at IS NULL OR r.refreshed_at < s.loaded_at)
ORDER BY v.name
