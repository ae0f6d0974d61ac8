-- cascades to posts, comments, evaluations, score history and observations
DELETE FROM snapshots WHERE id = %(sid)s
