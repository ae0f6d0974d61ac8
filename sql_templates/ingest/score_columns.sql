-- registered dimensions that have their has_high_<short_name> column (pg_attribute: the
-- information_schema views are much slower)
SELECT d.name, 'has_high_' || d.short_name AS flag
FROM dimensions d
JOIN pg_attribute a
  ON a.attrelid = 'agent_score_history'::regclass
 AND a.attname = 'has_high_' || d.short_name
 AND NOT a.attisdropped
ORDER BY d.position, d.name
