SELECT table_name, column_name, reason, count(*) AS rows
FROM moltctl_adopt_changes
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
