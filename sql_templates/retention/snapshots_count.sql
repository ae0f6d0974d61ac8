-- old snapshots: those that go, and those kept because a retained SCD2 version references them
-- (IN lists, not correlated EXISTS: Citus cannot correlate the reference table snapshots with
-- the distributed agents and submolts)
SELECT count(*) FILTER (WHERE NOT anchored) AS removable,
       count(*) FILTER (WHERE anchored) AS anchors
FROM (
    SELECT s.id IN (
        SELECT a.snapshot_id FROM agents a
        WHERE a.snapshot_id IN (SELECT id FROM snapshots WHERE created_at < %(cutoff)s)
          AND (a.valid_to IS NULL OR a.valid_to > %(cutoff)s)
        UNION
        SELECT m.snapshot_id FROM submolts m
        WHERE m.snapshot_id IN (SELECT id FROM snapshots WHERE created_at < %(cutoff)s)
          AND (m.valid_to IS NULL OR m.valid_to > %(cutoff)s)
    ) AS anchored
    FROM snapshots s
    WHERE s.created_at < %(cutoff)s
) x
