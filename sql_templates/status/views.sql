-- per view: its size, its last refresh (when, how, how long, how many changes it folded in)
-- and the changes logged since that it has not folded in yet
SELECT v.name AS view,
       (SELECT sum(pg_total_relation_size(to_regclass(t)))::bigint
        FROM unnest(%(tables)s::text[]) AS t) AS bytes,
       r.refreshed_at AS last_refresh,
       coalesce(r.method, 'never') AS method,
       r.changes AS changes_folded,
       r.row_count AS rows,
       p.snapshots AS pending_snapshots,
       p.purges AS pending_purges
FROM (SELECT %(name)s::text AS name) v
LEFT JOIN moltctl_view_refreshes r ON r.view_name = v.name
CROSS JOIN LATERAL (
    SELECT count(DISTINCT c.snapshot_id) AS snapshots,
           count(*) FILTER (WHERE c.snapshot_id IS NULL) AS purges
    FROM moltctl_view_changes c
    WHERE v.name = ANY (c.pending)
) p
