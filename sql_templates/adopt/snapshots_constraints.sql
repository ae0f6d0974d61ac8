-- README "Where moltctl differs from the spec", 13
ALTER TABLE snapshots ADD CONSTRAINT snapshots_status_check
    CHECK (status IN ('running', 'completed', 'failed'))
