DROP TABLE rc_ids
