SELECT pg_try_advisory_lock_shared(%(key)s)
