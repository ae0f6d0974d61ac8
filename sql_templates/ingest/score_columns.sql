-- the registered dimensions: a score at or above high_threshold is high (as float8, the type
-- the SQL compares scores in); flag: the has_high_<short_name> column, where the table has one
-- (pg_attribute: the information_schema views are much slower)
SELECT d.name, d.high_threshold::float8 AS threshold, a.attname::text AS flag
FROM dimensions d
LEFT JOIN pg_attribute a
  ON a.attrelid = 'agent_score_history'::regclass
 AND a.attname = 'has_high_' || d.short_name
 AND NOT a.attisdropped
ORDER BY d.position, d.name
