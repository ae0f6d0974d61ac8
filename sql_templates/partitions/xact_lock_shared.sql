-- a load's data transaction, first statement: no month is created while it holds row locks
SELECT pg_advisory_xact_lock_shared(%(key)s)
