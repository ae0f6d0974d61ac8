-- a registered dimension by name or short name (the name wins)
SELECT name, short_name, description, high_threshold::float AS high_threshold, position
FROM dimensions
WHERE name = %(value)s OR short_name = %(value)s
ORDER BY (name = %(value)s) DESC
LIMIT 1
