-- which of these views miss changes: never refreshed by moltctl while completed snapshots
-- exist, or changes logged (a load, a replace, a purge) that the view has not folded in yet
SELECT v.name, r.refreshed_at, coalesce(p.latest, s.loaded_at) AS changed_at, p.n AS pending
FROM unnest(%(names)s::text[]) AS v(name)
LEFT JOIN moltctl_view_refreshes r ON r.view_name = v.name AND r.method IS NOT NULL
CROSS JOIN LATERAL (
    SELECT count(*) AS n, max(c.logged_at) AS latest
    FROM moltctl_view_changes c
    WHERE v.name = ANY (c.pending)
) p
CROSS JOIN (SELECT max(completed_at) AS loaded_at FROM snapshots WHERE status = 'completed') s
WHERE (r.view_name IS NULL AND s.loaded_at IS NOT NULL) OR (r.view_name IS NOT NULL AND p.n > 0)
ORDER BY v.name
