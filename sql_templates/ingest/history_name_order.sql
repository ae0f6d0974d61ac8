-- names in the database's order (its collation): what an ORDER BY over them in SQL would give
SELECT array_agg(n ORDER BY n) AS names FROM unnest(%(names)s::text[]) n
