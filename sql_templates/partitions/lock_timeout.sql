-- bounds the lock waits of the current transaction only
SELECT set_config('lock_timeout', %(value)s, true)
