SELECT nodeid, isactive FROM pg_dist_node WHERE nodename = %(host)s AND nodeport = %(port)s
