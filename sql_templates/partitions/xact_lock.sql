-- serializes partition creation between concurrent ingests (released at commit)
SELECT pg_advisory_xact_lock(%(key)s)
