-- registers the node, copies the reference tables and metadata to it; takes no shards yet
SELECT citus_add_node(%(host)s, %(port)s)
