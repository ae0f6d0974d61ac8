"""The rows ingest stages: one NamedTuple per table, from which column lists and COPY targets
are derived (``AgentRow._fields`` is the staging table's column order after seq/rank).

A field nobody observed stays None: it is *unknown* (NULL), never "empty".
"""

from __future__ import annotations

from typing import NamedTuple


class AgentRow(NamedTuple):
    external_id: str
    handle: str | None = None
    display_name: str | None = None
    bio: str | None = None
    avatar_url: str | None = None
    karma: int | None = None
    follower_count: int | None = None
    following_count: int | None = None
    is_claimed: bool | None = None
    is_active: bool | None = None
    created_at_source: str | None = None
    last_active: str | None = None
    owner_info: str | None = None  # JSON text


class SubmoltRow(NamedTuple):
    external_id: str
    name: str | None = None
    display_name: str | None = None
    description: str | None = None
    subscriber_count: int | None = None
    post_count: int | None = None
    owner_agent_id: str | None = None
    banner_color: str | None = None
    theme_color: str | None = None
    avatar_url: str | None = None
    banner_url: str | None = None
    moderators: str | None = None  # JSON text
    created_at_source: str | None = None


class PostRow(NamedTuple):
    external_id: str
    title: str | None = None
    content: str | None = None
    outbound_url: str | None = None
    upvotes: int | None = None
    downvotes: int | None = None
    score: int | None = None
    comment_count: int | None = None
    author_id: str | None = None
    submolt_id: str | None = None
    permalink: str | None = None
    created_at_source: str | None = None


class CommentRow(NamedTuple):
    external_id: str
    post_id: str
    parent_comment_id: str | None = None
    author_id: str | None = None
    content: str | None = None
    upvotes: int | None = None
    downvotes: int | None = None
    score: int | None = None
    created_at_source: str | None = None


class PostEvaluationRow(NamedTuple):
    post_id: str
    transcript_id: str | None
    model: str
    latency_ms: int | None
    finish_reason: str | None
    scores: str  # JSON text
    notes: str | None
    raw_result: str | None  # JSON text


class CommentEvaluationRow(NamedTuple):
    comment_id: str
    post_id: str
    transcript_id: str | None
    author_handle: str | None
    model: str
    latency_ms: int | None
    finish_reason: str | None
    scores: str  # JSON text
    notes: str | None
    raw_result: str | None  # JSON text


class EvalScoresRow(NamedTuple):
    """The numeric scores of one evaluation, for agent_score_history (extracted while parsing
    so that the history never reads the large scores documents back)."""

    is_post: bool
    item_id: str
    author_handle: str | None
    # {"<dimension>": score}; staged as an array of the run's dimensions in the order first
    # seen (stg_dims): the history aggregates numbers, never parses JSON
    scores: dict


class Target(NamedTuple):
    """Where one kind of row is COPied: ``key`` names it in counts and results."""

    key: str
    table: str
    prefix: tuple[str, ...]  # columns the loader puts in front of the row's own
    row: type

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.prefix, *self.row._fields)


# merged per field by the SQL (seq, rank: observation order and precedence)
RANKED = ("seq", "rank")
# COPied straight into the final (partitioned) table: the snapshot and its time in front
OF_SNAPSHOT = ("snapshot_id", "evaluated_at")
FETCHED = ("snapshot_id", "fetched_at")

TARGETS = {
    t.row: t
    for t in (
        Target("agents", "stg_agents", RANKED, AgentRow),
        Target("submolts", "stg_submolts", RANKED, SubmoltRow),
        Target("posts", "stg_posts", RANKED, PostRow),
        Target("comments", "stg_comments", RANKED, CommentRow),
        Target("post_evaluations", "post_evaluations", OF_SNAPSHOT, PostEvaluationRow),
        Target("comment_evaluations", "comment_evaluations", OF_SNAPSHOT, CommentEvaluationRow),
        Target("evals", "stg_evals", (), EvalScoresRow),
    )
}
# a comment that needs no merge goes straight into comments (moltctl.ingest.direct). Posts
# always take the merge: the pipeline's runs observe each post at least twice (the list and
# an evaluation's permalink; a run directory also its detail), each adding a field.
DIRECT = {CommentRow: Target("comments_direct", "comments", FETCHED, CommentRow)}


# the SCD2 entities: their versions table, observation log, staging and merged temp tables,
# the attributes versioned (the row's fields after external_id), the one that is required
ENTITIES = (
    {
        "table": "agents",
        "log": "agent_observations",
        "stage": "stg_agents",
        "merged": "m_agents",
        "attrs": AgentRow._fields[1:],
        "required": "handle",
    },
    {
        "table": "submolts",
        "log": "submolt_observations",
        "stage": "stg_submolts",
        "merged": "m_submolts",
        "attrs": SubmoltRow._fields[1:],
        "required": "name",
    },
)
