SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%(table)s) AND contype = 'f'
