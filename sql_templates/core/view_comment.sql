SELECT obj_description(to_regclass(%(name)s), 'pg_class')
