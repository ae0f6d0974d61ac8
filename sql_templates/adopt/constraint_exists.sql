SELECT EXISTS (
    SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(%(table)s) AND conname = %(name)s)
