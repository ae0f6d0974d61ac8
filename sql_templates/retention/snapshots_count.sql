-- old snapshots: those that go, and those kept because a retained SCD2 version references them
SELECT count(*) FILTER (WHERE NOT anchored) AS removable,
       count(*) FILTER (WHERE anchored) AS anchors
FROM (
    SELECT EXISTS (SELECT 1 FROM agents a
                   WHERE a.snapshot_id = s.id
                     AND (a.valid_to IS NULL OR a.valid_to > %(cutoff)s))
        OR EXISTS (SELECT 1 FROM submolts m
                   WHERE m.snapshot_id = s.id
                     AND (m.valid_to IS NULL OR m.valid_to > %(cutoff)s)) AS anchored
    FROM snapshots s
    WHERE s.created_at < %(cutoff)s
) x
