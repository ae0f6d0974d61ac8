"""Normalise records of both dialects (API-shaped, extracted) into typed staging rows.

Every handler takes a parsed dict and the place it came from (``where``: "file: line 3" or
"file: posts[2]") and yields ``(rank, row)``: a row of ``moltctl.ingest.staging`` (its type
says which table) and its observation precedence. Field errors raise :class:`InputError`
naming the place and the field; nothing else is checked per row. A field that is missing or
null stays NULL: it is *unknown*, never "empty".
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from moltctl.ingest.errors import InputError, Warnings
from moltctl.ingest.staging import (
    AgentRow,
    CommentEvaluationRow,
    CommentRow,
    EvalScoresRow,
    PostEvaluationRow,
    PostRow,
    SubmoltRow,
)
from moltctl.timestamps import as_utc, parse_time

INT_MIN, INT_MAX = -(2**31), 2**31 - 1

# what a handler yields: (observation precedence, a staging row)
Rows = Iterator[tuple[int, tuple]]

# observation precedence within one run (lower wins, per field)
AGENT_DETAIL, AGENT_RECORD, AGENT_POST_LIST, AGENT_COMMENT = 0, 1, 2, 3
SUBMOLT_RECORD, SUBMOLT_POST = 0, 1
POST_DETAIL, POST_LIST = 0, 1
# an evaluation's permalink: fills a post's permalink, never makes a post on its own
POST_EVAL = 2
COMMENT_DETAIL, COMMENT_FLAT = 0, 1


def numeric_scores(scores) -> dict:
    """``{"<dimension>": score}``, for every dimension with a numeric ``score`` (booleans are
    not numbers)."""
    out = {}
    if scores:
        for dim, v in scores.items():
            if isinstance(v, dict):
                score = v.get("score")
                # an integer past 2**53 is no score a float (or orjson) can hold
                if type(score) in (int, float) and abs(score) <= 2**53:
                    out[dim] = score
    return out


def _type_name(v) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _show(v) -> str:
    text = repr(v) if isinstance(v, str) else _dumps(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _dumps(v) -> str:
    """JSON text of a parsed value; the stdlib takes what orjson refuses (integers past 64
    bits, nesting past 255 levels)."""
    try:
        return orjson.dumps(v).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        import json

        return json.dumps(v, ensure_ascii=False)


def _bad(where: str, field: str, expected: str, v) -> InputError:
    return InputError(
        f"{where}: field '{field}': expected {expected}, got {_type_name(v)} {_show(v)}"
    )


class Fields:
    """Type-checked access to one record's fields, for error messages that name them."""

    __slots__ = ("d", "where", "prefix", "warns")

    def __init__(self, d, where: str, warns: Warnings, prefix: str = ""):
        if not isinstance(d, dict):
            raise _bad(where, prefix.rstrip(".") or "record", "an object", d)
        self.d = d
        self.where = where
        self.prefix = prefix
        self.warns = warns

    # Each accessor looks its keys up itself (the first one holding a value), not through a
    # shared helper: they run a dozen times per record, and a call each is a fifth of parsing.
    # The common case (the type the column wants) is tested first.

    def id(self, *keys, required=True) -> str | None:
        d = self.d
        for k in keys:
            v = d.get(k)
            if v is not None:
                break
        else:
            v = None
        if v.__class__ is str and v:
            return v
        if v is None or v == "":
            if required:
                raise InputError(
                    f"{self.where}: record without its id (field '{self.prefix}{keys[0]}')"
                )
            return None
        if isinstance(v, str):
            return v
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)
        raise _bad(self.where, self.prefix + k, "a string id", v)

    def text(self, *keys) -> str | None:
        d = self.d
        for k in keys:
            v = d.get(k)
            if v is not None:
                break
        else:
            return None
        if isinstance(v, str):
            return v
        if isinstance(v, int | float) and not isinstance(v, bool):
            return str(v)
        raise _bad(self.where, self.prefix + k, "a string", v)

    def int(self, *keys, rounding: bool = False) -> int | None:
        """An integer; an integral float is one; with ``rounding`` any finite float rounds."""
        d = self.d
        for k in keys:
            v = d.get(k)
            if v is not None:
                break
        else:
            return None
        if v.__class__ is int and INT_MIN <= v <= INT_MAX:
            return v
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise _bad(self.where, self.prefix + k, "an integer", v)
        if isinstance(v, float):
            if v != v or v in (float("inf"), float("-inf")):
                raise _bad(self.where, self.prefix + k, "an integer", v)
            if not v.is_integer() and not rounding:
                raise _bad(self.where, self.prefix + k, "an integer", v)
            v = round(v)
        if not INT_MIN <= v <= INT_MAX:
            raise InputError(
                f"{self.where}: field '{self.prefix}{k}': {v} is out of range for an integer "
                f"column ({INT_MIN}..{INT_MAX})"
            )
        return v

    def bool(self, *keys) -> bool | None:
        d = self.d
        for k in keys:
            v = d.get(k)
            if v is not None:
                break
        else:
            return None
        if isinstance(v, bool):
            return v
        raise _bad(self.where, self.prefix + k, "true or false", v)

    def ts(self, *keys) -> str | None:
        d = self.d
        for k in keys:
            v = d.get(k)
            if v is not None:
                break
        else:
            return None
        if not isinstance(v, str):
            raise _bad(self.where, self.prefix + k, "a timestamp string", v)
        try:
            parsed = parse_time(v)
        except ValueError:
            raise InputError(
                f"{self.where}: field '{self.prefix}{k}': timestamp {_show(v)} does not parse "
                "(expected ISO 8601, e.g. 2026-01-30T17:01:18Z)"
            ) from None
        if parsed.tzinfo is None:
            self.warns.add("naive_ts", f"{self.where}: field '{self.prefix}{k}'")
            parsed = as_utc(parsed)
        return parsed.isoformat()

    def obj(self, *keys) -> dict | None:
        d = self.d
        for k in keys:
            v = d.get(k)
            if v is not None:
                break
        else:
            return None
        if isinstance(v, dict):
            return v
        raise _bad(self.where, self.prefix + k, "an object", v)

    def list(self, *keys) -> list | None:
        d = self.d
        for k in keys:
            v = d.get(k)
            if v is not None:
                break
        else:
            return None
        if isinstance(v, list):
            return v
        raise _bad(self.where, self.prefix + k, "a list", v)

    def sub(self, key: str) -> Fields | None:
        v = self.obj(key)
        return None if v is None else Fields(v, self.where, self.warns, f"{self.prefix}{key}.")


def _json(v) -> str | None:
    return None if v is None else _dumps(v)


# --- agents ------------------------------------------------------------------------------


def agent(d, where: str, warns: Warnings, rank: int = AGENT_RECORD):
    """An agent record (API ``id/name/description...`` or extracted ``agent_external_id...``);
    returns its id (to a ``yield from``)."""
    f = Fields(d, where, warns)
    ext = f.id("id", "agent_external_id", "external_id")
    yield (
        rank,
        AgentRow(
            ext,
            f.text("name", "handle"),
            f.text("display_name"),
            f.text("description", "bio"),
            f.text("avatar_url"),
            f.int("karma"),
            f.int("follower_count", "followers"),
            f.int("following_count", "following"),
            f.bool("is_claimed"),
            f.bool("is_active"),
            f.ts("created_at"),
            f.ts("last_active"),
            _json(f.obj("owner", "owner_info")),
        ),
    )
    return ext


def _embedded_author(f: Fields | None, rank: int):
    """An API-shaped ``author`` object: observe the agent; return its id (None if absent)."""
    if f is None:
        return None
    ext = f.id("id", required=False)
    if ext is None:
        return None
    yield (
        rank,
        AgentRow(
            ext,
            f.text("name"),
            f.text("display_name"),
            f.text("description"),
            f.text("avatar_url"),
            f.int("karma"),
            f.int("follower_count"),
            f.int("following_count"),
            f.bool("is_claimed"),
            f.bool("is_active"),
            f.ts("created_at"),
            f.ts("last_active"),
            _json(f.obj("owner")),
        ),
    )
    return ext


def _extracted_author(f: Fields, rank: int):
    ext = f.id("author_external_id", required=False)
    if ext is None:
        return None
    yield (
        rank,
        AgentRow(
            ext,
            handle=f.text("author_handle"),
            bio=f.text("author_bio"),
            karma=f.int("author_karma"),
            follower_count=f.int("author_follower_count"),
            following_count=f.int("author_following_count"),
            owner_info=_json(f.obj("author_owner")),
        ),
    )
    return ext


# --- submolts ----------------------------------------------------------------------------


def submolt(d, where: str, warns: Warnings, rank: int = SUBMOLT_RECORD):
    f = Fields(d, where, warns)
    ext = f.id("id", "submolt_external_id", "external_id")
    owner = f.sub("owner")
    owner_id = f.id("owner_agent_id", "owner_external_id", required=False)
    if owner_id is None and owner is not None:
        owner_id = owner.id("id", required=False)
    yield (
        rank,
        SubmoltRow(
            ext,
            f.text("name", "slug", "submolt_slug"),
            f.text("display_name"),
            f.text("description"),
            f.int("subscriber_count", "subscribers"),
            f.int("post_count"),
            owner_id,
            f.text("banner_color"),
            f.text("theme_color"),
            f.text("avatar_url"),
            f.text("banner_url"),
            _json(f.list("moderators")),
            f.ts("created_at"),
        ),
    )
    return ext


def _submolt_ref(ext, name, display_name) -> Rows:
    """The submolt a post names (read before the check: a bad name is an error either way)."""
    if ext is not None:
        yield SUBMOLT_POST, SubmoltRow(ext, name, display_name)


# --- posts -------------------------------------------------------------------------------


def post(d, where: str, warns: Warnings, rank: int = POST_LIST):
    """A post in either dialect; also observes its author and submolt; returns its id."""
    f = Fields(d, where, warns)
    author_rank = AGENT_DETAIL if rank == POST_DETAIL else AGENT_POST_LIST
    if "post_external_id" in f.d:
        ext = f.id("post_external_id")
        author = yield from _extracted_author(f, author_rank)
        sub_id = f.id("submolt_external_id", required=False)
        yield from _submolt_ref(sub_id, f.text("submolt_slug"), f.text("submolt_display_name"))
        title, content, url = (
            f.text("title"),
            f.text("body_text", "content"),
            f.text("outbound_url", "url"),
        )
    else:
        ext = f.id("id")
        author = yield from _embedded_author(f.sub("author"), author_rank)
        sm = f.sub("submolt")
        sub_id = None
        if sm is not None:
            sub_id = sm.id("id", required=False)
            yield from _submolt_ref(sub_id, sm.text("name"), sm.text("display_name"))
        if author is None:
            author = f.id("author_id", required=False)
        if sub_id is None:
            sub_id = f.id("submolt_id", required=False)
        title, content, url = f.text("title"), f.text("content"), f.text("url", "outbound_url")
    yield (
        rank,
        PostRow(
            ext,
            title,
            content,
            url,
            f.int("upvotes"),
            f.int("downvotes"),
            f.int("score"),
            f.int("comment_count"),
            author,
            sub_id,
            f.text("permalink"),
            f.ts("created_at"),
        ),
    )
    return ext


# --- comments ----------------------------------------------------------------------------


def comment_flat(d, where: str, warns: Warnings, rank: int = COMMENT_FLAT) -> Rows:
    """A flat comment: extracted form, or API-shaped with ``post_id`` and ``parent_id``."""
    f = Fields(d, where, warns)
    if "comment_external_id" in f.d:
        ext = f.id("comment_external_id")
        post_id = f.id("post_external_id", "post_id")
        parent = f.id("parent_comment_external_id", "parent_id", required=False)
        author = yield from _extracted_author(f, AGENT_COMMENT)
        content = f.text("body_text", "content")
    else:
        ext = f.id("id")
        post_id = f.id("post_id", "post_external_id")
        parent = f.id("parent_id", "parent_comment_id", required=False)
        author = yield from _embedded_author(f.sub("author"), AGENT_COMMENT)
        if author is None:
            author = f.id("author_id", required=False)
        content = f.text("content", "body_text")
    yield rank, _comment(f, ext, post_id, parent, author, content)
    tree = f.list("replies")
    if tree:
        yield from comment_tree(tree, post_id, ext, where, warns, path=f"{f.prefix}replies")


def _comment(f: Fields, ext, post_id, parent, author, content) -> CommentRow:
    """One comment row (the metrics are read here, after its identity, in both dialects)."""
    return CommentRow(
        ext,
        post_id,
        parent,
        author,
        content,
        f.int("upvotes"),
        f.int("downvotes"),
        f.int("score"),
        f.ts("created_at"),
    )


def comment_tree(
    comments: list,
    post_id: str,
    parent: str | None,
    where: str,
    warns: Warnings,
    path: str = "comments",
) -> Rows:
    """An API comment tree (``replies`` nest to any depth), flattened with its parent ids."""
    stack = [(comments, parent, path)]
    while stack:
        items, parent_id, at = stack.pop()
        for i, d in enumerate(items):
            f = Fields(d, where, warns, f"{at}[{i}].")
            if "comment_external_id" in f.d:
                ext = f.id("comment_external_id")
                author = yield from _extracted_author(f, AGENT_COMMENT)
                content = f.text("body_text", "content")
                par = f.id("parent_comment_external_id", "parent_id", required=False)
            else:
                ext = f.id("id")
                author = yield from _embedded_author(f.sub("author"), AGENT_COMMENT)
                content = f.text("content")
                par = f.id("parent_id", required=False)
            yield COMMENT_DETAIL, _comment(f, ext, post_id, par or parent_id, author, content)
            replies = f.list("replies")
            if replies:
                stack.append((replies, ext, f"{at}[{i}].replies"))


def post_detail(d, where: str, warns: Warnings) -> Rows:
    """A post detail envelope ``{"post": ..., "comments": [tree]}``."""
    f = Fields(d, where, warns)
    p = f.obj("post")
    if p is None:
        raise InputError(f"{where}: record without its post (field 'post')")
    ext = yield from post(p, where, warns, POST_DETAIL)
    tree = f.list("comments")
    if tree:
        yield from comment_tree(tree, ext, None, where, warns)


# --- evaluations -------------------------------------------------------------------------


def _scores(f: Fields):
    scores = f.obj("scores")
    notes = f.text("notes")
    result = f.sub("result")
    if result is not None:
        if scores is None:
            scores = result.obj("scores")
        if notes is None:
            notes = result.text("notes")
    return scores, notes, result


def post_evaluation(d, where: str, warns: Warnings) -> Rows:
    f = Fields(d, where, warns)
    scores, notes, result = _scores(f)
    raw = f.obj("raw_result")
    if raw is None and result is not None:
        raw = result.d
    post_id = f.id("post_id", "post_external_id")
    yield 0, EvalScoresRow(True, post_id, None, numeric_scores(scores))
    permalink = f.text("permalink")
    if permalink:
        yield POST_EVAL, PostRow(post_id, permalink=permalink)
    yield (
        0,
        PostEvaluationRow(
            post_id,
            f.text("transcript_id"),
            f.text("model") or "unknown",
            f.int("latency_ms", rounding=True),
            f.text("finish_reason"),
            _json(scores if scores is not None else {}),
            notes,
            _json(raw),
        ),
    )


def comment_evaluation(d, where: str, warns: Warnings) -> Rows:
    f = Fields(d, where, warns)
    scores, notes, result = _scores(f)
    raw = f.obj("raw_result")
    if raw is None and result is not None:
        raw = result.d
    comment_id = f.id("comment_id", "comment_external_id")
    handle = f.text("author", "author_handle")
    yield 0, EvalScoresRow(False, comment_id, handle, numeric_scores(scores))
    yield (
        0,
        CommentEvaluationRow(
            comment_id,
            f.id("post_id", "post_external_id", required=False) or "",
            f.text("transcript_id"),
            handle,
            f.text("model") or "unknown",
            f.int("latency_ms", rounding=True),
            f.text("finish_reason"),
            _json(scores if scores is not None else {}),
            notes,
            _json(raw),
        ),
    )


# record kind (a bundle's "type", or what a run directory's file holds) -> its handler
HANDLERS = {
    "agent": agent,
    "submolt": submolt,
    "post": post,
    "comment": comment_flat,
    "post_evaluation": post_evaluation,
    "comment_evaluation": comment_evaluation,
}
# a run directory's post_<id>.json (never a bundle record type)
POST_DETAIL_KIND = "post_detail"
