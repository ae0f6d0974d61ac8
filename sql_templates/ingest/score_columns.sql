-- registered dimensions that have their has_high_<short_name> column
SELECT d.name, 'has_high_' || d.short_name AS flag
FROM dimensions d
JOIN information_schema.columns c
  ON c.table_schema = current_schema() AND c.table_name = 'agent_score_history'
 AND c.column_name = 'has_high_' || d.short_name
ORDER BY d.position, d.name
