-- the handle of the current version of agents a run observed without one
SELECT external_id, handle FROM agents
WHERE is_current AND handle <> '' AND external_id = ANY(%(ids)s::text[])
