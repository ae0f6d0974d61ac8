-- partition creation, first statement: one creator at a time, and only between loads (every
-- load's data transaction holds this lock shared); released at commit
SELECT pg_advisory_xact_lock(%(key)s)
