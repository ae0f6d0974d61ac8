-- the merges and aggregations below sort and hash a whole snapshot: in memory, not on disk
-- (the default 4MB spills the comments' merge and the score history's aggregation to disk)
SET LOCAL work_mem = '64MB';
-- per-transaction staging tables for one snapshot (gone at commit or rollback)
CREATE TEMP TABLE stg_agents (
    seq BIGINT, rank SMALLINT, external_id TEXT, handle TEXT, display_name TEXT, bio TEXT,
    avatar_url TEXT, karma INT, follower_count INT, following_count INT, is_claimed BOOLEAN,
    is_active BOOLEAN, created_at_source TIMESTAMPTZ, last_active TIMESTAMPTZ, owner_info JSONB
) ON COMMIT DROP;
CREATE TEMP TABLE stg_submolts (
    seq BIGINT, rank SMALLINT, external_id TEXT, name TEXT, display_name TEXT,
    description TEXT, subscriber_count INT, post_count INT, owner_agent_id TEXT,
    banner_color TEXT, theme_color TEXT, avatar_url TEXT, banner_url TEXT, moderators JSONB,
    created_at_source TIMESTAMPTZ
) ON COMMIT DROP;
CREATE TEMP TABLE stg_posts (
    seq BIGINT, rank SMALLINT, external_id TEXT, title TEXT, content TEXT, outbound_url TEXT,
    upvotes INT, downvotes INT, score INT, comment_count INT, author_id TEXT, submolt_id TEXT,
    permalink TEXT, created_at_source TIMESTAMPTZ
) ON COMMIT DROP;
CREATE TEMP TABLE stg_comments (
    seq BIGINT, rank SMALLINT, external_id TEXT, post_id TEXT, parent_comment_id TEXT,
    author_id TEXT, content TEXT, upvotes INT, downvotes INT, score INT,
    created_at_source TIMESTAMPTZ
) ON COMMIT DROP;
-- what agent_score_history needs of each evaluation, extracted while parsing (so the history
-- never reads the large scores documents back)
-- scores[i]: the score of dimension i of stg_dims (NULL: not scored)
CREATE TEMP TABLE stg_evals (
    is_post BOOLEAN, item_id TEXT, author_handle TEXT, scores FLOAT8[]
) ON COMMIT DROP;
CREATE TEMP TABLE stg_dims (idx INT, name TEXT) ON COMMIT DROP;
-- comments loaded straight into comments that a later observation changes (moltctl.ingest.direct):
-- the seq and rank of the first observation, and of the later one the score comes from
CREATE TEMP TABLE stg_dirty (
    external_id TEXT, seq BIGINT, rank SMALLINT, score_null BOOLEAN, score_seq BIGINT,
    score_rank SMALLINT
) ON COMMIT DROP;
