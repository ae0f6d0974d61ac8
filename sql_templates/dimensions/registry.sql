SELECT name, short_name, description, high_threshold::float AS high_threshold
FROM dimensions
ORDER BY position, name
