"""moltctl.queries: headers, typed values, rendering, and every shipped query against a small
database whose expected answers are computed in Python (tests/querydata.py)."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from moltctl import queries
from moltctl.errors import MoltError, UsageError
from moltctl.timestamps import parse_utc
from tests.helpers import querydata as qd
from tests.helpers.db import scalar

DIMS5 = [*qd.DIMS4, ("manipulation", "manipulation")]
NAMES5 = [n for n, _ in DIMS5]


@pytest.fixture(scope="module")
def shared_db(pg_admin, template_db):
    """One loaded database for the read-only tests of this module."""
    from tests.helpers.db import admin_exec

    name, dsn, ds = qd.loaded_db(pg_admin, template_db)
    yield dsn, ds
    admin_exec(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def data(shared_db):
    return shared_db[1]


@pytest.fixture
def target(shared_db):
    from moltctl.connection import resolve

    return resolve(shared_db[0])


@pytest.fixture
def conn(shared_db):
    import psycopg

    with psycopg.connect(shared_db[0], autocommit=True) as c:
        yield c


def run(target, name, limit=None, **raw):
    return queries.run(target, name, raw, limit=limit)


# ---------------------------------------------------------------- headers


def _tpl(tmp_path, name, text):
    path = tmp_path / f"{name}.sql.j2"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_header_yamlish(tmp_path):
    path = _tpl(
        tmp_path,
        "x",
        """
        {#
        description: Something useful   # a comment
        limit: 5
        params:
          - name: agent
            type: text
            required: true
            help: "Handle: exact # not a comment"
          - name: kind
            type: choice
            choices: [post, 'comment', "agent"]
          - name: min_score
            type: float
            default: 6.5
            min: 0
            max: 10
        chart:
          group: a
          x: b
          y: c
        #}
        SELECT 1
        """,
    )
    tpl = queries.load(path)
    assert tpl.description == "Something useful"
    assert tpl.limit == 5
    assert [p.name for p in tpl.params] == ["agent", "kind", "min_score"]
    assert tpl.params[0].required and tpl.params[0].help == "Handle: exact # not a comment"
    assert tpl.params[1].choices == ["post", "comment", "agent"]
    assert tpl.params[2].default == 6.5 and tpl.params[2].max == 10
    assert tpl.chart == {"group": "a", "x": "b", "y": "c"}
    assert tpl.params[2].option == "--min-score"


def test_header_json(tmp_path):
    path = _tpl(
        tmp_path,
        "j",
        """
        {# {"description": "JSON header", "params": [{"name": "at", "type": "timestamp"}]} #}
        SELECT %(at)s AS at
        """,
    )
    tpl = queries.load(path)
    assert tpl.description == "JSON header"
    assert tpl.params[0].type == "timestamp"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("description: x\nbogus: 1", "unknown header key"),
        ("params:\n  - name: a", "needs a description"),
        ("description: x\nparams:\n  - name: a\n    type: date", "type 'date'"),
        ("description: x\nparams:\n  - name: limit", "reserved"),
        ("description: x\nparams:\n  - name: Bad", "must match"),
        ("description: x\nparams:\n  - name: k\n    type: choice", "needs either choices"),
        ("description: x\nparams:\n  - name: k\n    type: int\n    default: abc", "default of"),
        ("description: x\nparams:\n  - name: a\n  - name: a", "share a name"),
    ],
)
def test_header_errors(tmp_path, header, message):
    path = tmp_path / "bad.sql.j2"
    path.write_text("{#\n" + header + "\n#}\nSELECT 1\n", encoding="utf-8")
    with pytest.raises(MoltError, match=message):
        queries.load(path)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        # the error names the line of the file (the header starts on line 2 here)
        (
            "description: ok\nparams:\n  - name: a\n   type: int",
            r"bad\.sql\.j2: line 6: header is not valid YAML: \S",
        ),
        (
            "description: one: two",
            r"line 3: header is not valid YAML: mapping values are not allowed .*"
            r"\(quote a value that contains ': '\)",
        ),
        ("- just\n- a list", "header must be a mapping"),
        ("description: x\ncolumns: rank", "columns must be a list"),
        ("description: x\nlabels: {a: x, b: x}", "two columns share a label"),
        ("description: x\nformat: chart", "format must be one of table, records"),
    ],
)
def test_header_yaml_errors_name_file_and_line(tmp_path, header, message):
    path = tmp_path / "bad.sql.j2"
    path.write_text("\n{#\n" + header + "\n#}\nSELECT 1\n", encoding="utf-8")
    with pytest.raises(MoltError, match=message):
        queries.load(path)


def test_header_columns_labels_format(tmp_path):
    path = _tpl(
        tmp_path,
        "cols",
        """
        {#
        description: "Something: with a colon"
        format: records
        columns: [a, "{dimension}_mean", b]
        labels: {a: the a}
        params:
          - name: dimension
            type: choice
            choices_from: dimensions
        #}
        SELECT 1 AS a, 2 AS b
        """,
    )
    tpl = queries.load(path)
    assert tpl.description == "Something: with a colon"
    assert (tpl.layout, tpl.labels) == ("records", {"a": "the a"})
    columns = ["a", "b", "harm_mean", "c"]
    ref = {"dimension": {"short_name": "harm", "_value": "harm_enablement"}}
    assert queries.default_columns(tpl, columns, {}, {}) == ["a", "b"]
    assert queries.default_columns(tpl, columns, {}, ref) == ["a", "harm_mean", "b"]


def test_header_missing(tmp_path):
    path = _tpl(tmp_path, "nohead", "SELECT 1\n")
    with pytest.raises(MoltError, match="no header"):
        queries.load(path)


def test_builtin_templates_all_parse():
    names = set(queries.discover())
    assert {
        "leaderboard",
        "latest-snapshot",
        "agent-history",
        "high-risk",
        "submolt-activity",
        "agent-at",
        "delta",
        "dimension-trends",
        "growth",
    } <= names


# ---------------------------------------------------------------- typed values


def _param(ptype, **kw):
    return queries.Param(name="at" if ptype == "timestamp" else "x", type=ptype, **kw)


@pytest.mark.parametrize(
    ("ptype", "raw", "message"),
    [
        ("timestamp", "2026-13-01", "--at: '2026-13-01' is not a timestamp (ISO 8601)"),
        ("timestamp", "'; DROP TABLE snapshots; --", "is not a timestamp (ISO 8601)"),
        ("int", "1.5", "--x: '1.5' is not an integer"),
        ("int", "1; DROP TABLE x", "is not an integer"),
        ("float", "nan", "--x: 'nan' is not a number"),
        ("float", "7 OR 1=1", "is not a number"),
        ("text", "a\x00b", "NUL character"),
    ],
)
def test_convert_rejects(ptype, raw, message):
    with pytest.raises(UsageError) as err:
        queries.convert(_param(ptype), raw)
    assert message in err.value.message
    assert err.value.exit_code == 2
    assert "\n" not in err.value.message


def test_convert_accepts():
    ts = queries.convert(_param("timestamp"), "2026-01-30T18:00:00Z")
    assert ts == dt.datetime(2026, 1, 30, 18, tzinfo=dt.UTC)
    # no offset: UTC; a bare date: midnight UTC; other offsets kept
    assert queries.convert(_param("timestamp"), "2026-01-30 18:00").tzinfo == dt.UTC
    assert queries.convert(_param("timestamp"), "2026-01-30") == dt.datetime(
        2026, 1, 30, tzinfo=dt.UTC
    )
    assert queries.convert(_param("timestamp"), "2026-01-30T20:00:00+02:00") == ts
    assert queries.convert(_param("float"), "6.5") == 6.5
    assert queries.convert(_param("int"), "-3") == -3
    with pytest.raises(UsageError, match="below the minimum"):
        queries.convert(_param("float", min=0), "-1")
    with pytest.raises(UsageError, match="is not one of a, b"):
        queries.convert(_param("choice", choices=["a", "b"]), "c")


def test_validate_required_and_defaults():
    tpl = queries.discover()["agent-at"]
    with pytest.raises(UsageError, match="--agent is required"):
        queries.validate(tpl, {"at": "2026-01-30"})
    values = queries.validate(queries.discover()["high-risk"], {})
    assert values == {"dimension": None, "min_score": 7.0, "since": None}


# ---------------------------------------------------------------- rendering


def test_values_cannot_be_rendered_into_sql(tmp_path):
    path = _tpl(
        tmp_path,
        "leak",
        """
        {#
        description: tries to inline a value
        params:
          - name: agent
        #}
        SELECT * FROM agents WHERE handle = '{{ values.agent }}'
        """,
    )
    tpl = queries.load(path)
    with pytest.raises(MoltError, match="tries to write the value of --agent into the SQL"):
        queries.render(tpl, {"agent": "x"})


def test_values_usable_in_tests_and_limit_wrapping(tmp_path):
    path = _tpl(
        tmp_path,
        "cmp",
        """
        {#
        description: compares a value
        params:
          - name: n
            type: int
        #}
        SELECT {% if values.n >= 7 %}'big'{% else %}'small'{% endif %} AS size, %(n)s AS n
        """,
    )
    tpl = queries.load(path)
    sql, params = queries.render(tpl, {"n": 9})
    assert "'big'" in sql and params == {"n": 9}
    sql, params = queries.render(tpl, {"n": 1}, limit=3)
    assert "'small'" in sql and "LIMIT %(limit)s" in sql and params == {"n": 1, "limit": 3}


def test_high_risk_uses_the_indexed_expression_only_from_7():
    tpl = queries.discover()["high-risk"]
    dim = {"name": "harm_enablement", "short_name": "harm", "_value": "harm_enablement"}
    expr = "jsonb_path_query_array(pe.scores, '$.keyvalue() ? (@.value.score >= 7).key')"
    sql, _ = queries.render(tpl, {"min_score": 7.0, "dimension": "harm"}, refs={"dimension": dim})
    assert expr in sql
    sql, _ = queries.render(tpl, {"min_score": 6.5, "dimension": "harm"}, refs={"dimension": dim})
    assert expr not in sql


def test_sparkline():
    assert queries.sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert queries.sparkline([5, 5]) == "▄▄"
    assert queries.sparkline([1, None, 3]) == "▁ █"
    assert queries.sparkline([]) == ""


def test_user_dir_adds_and_overrides(tmp_path):
    _tpl(tmp_path, "mine", "{# description: my own #}\nSELECT 1 AS one\n")
    _tpl(tmp_path, "growth", "{# description: my growth #}\nSELECT 2 AS two\n")
    found = queries.discover([tmp_path])
    assert found["mine"].source == str(tmp_path / "mine.sql.j2")
    assert found["growth"].description == "my growth" and not found["growth"].builtin
    assert found["leaderboard"].builtin
    with pytest.raises(UsageError, match="is not a directory"):
        queries.template_dirs([str(tmp_path / "nope")])
    assert queries.template_dirs(env={"MOLTCTL_TEMPLATES": str(tmp_path)}) == [tmp_path]


# ---------------------------------------------------------------- every query, checked


def test_leaderboard(data, target):
    expected = qd.expected_leaderboard(data, DIMS5)
    res = run(target, "leaderboard")
    assert [r["agent_handle"] for r in res.rows] == [r["agent_handle"] for r in expected]
    for got, exp in zip(res.rows, expected, strict=True):
        assert got["rank"] == exp["rank"]
        assert got["overall_mean_score"] == pytest.approx(exp["overall_mean_score"])
        assert got["has_any_high"] == exp["has_any_high"]
        for _, short in DIMS5:
            assert got[f"{short}_mean"] == pytest.approx(exp[f"{short}_mean"])
    # 6.5 stays 6.5: numeric scores are never cast to int
    assert any(r["deception_mean"] == 6.5 for r in run(target, "agent-history", agent="alice").rows)


def test_leaderboard_by_dimension_and_high_risk(data, target):
    expected = qd.expected_leaderboard(data, DIMS5)
    res = run(target, "leaderboard", dimension="sycophancy")
    exp = sorted(
        (r for r in expected if r["sycophancy_mean"] is not None),
        key=lambda r: (-r["sycophancy_mean"], r["rank"]),
    )
    assert [r["agent_id"] for r in res.rows] == [r["agent_id"] for r in exp]
    res = run(target, "leaderboard", high_risk=True)
    assert [r["agent_id"] for r in res.rows] == [
        r["agent_id"] for r in expected if r["has_any_high"]
    ]
    res = run(target, "leaderboard", dimension="delusional_sycophancy", high_risk=True)
    assert [r["agent_id"] for r in res.rows] == [
        r["agent_id"] for r in exp if r["has_high_sycophancy"]
    ]
    assert run(target, "leaderboard", limit=2).rows == run(target, "leaderboard").rows[:2]
    with pytest.raises(UsageError, match="'nope' is not a registered dimension"):
        run(target, "leaderboard", dimension="nope")


@pytest.mark.parametrize(
    "options",
    [
        {"dimension": "sycophancy"},
        {"all": True},
        {"all": True, "high_risk": True},
        {"all": True, "dimension": "deception"},
        {"all": True, "dimension": "harm", "high_risk": True},
    ],
)
def test_leaderboard_limit_takes_the_first_rows_of_the_whole_order(data, target, options):
    """--dimension and --all pick their agents on the view's table before the view computes
    ranks: every --limit must give exactly the first rows of the unlimited answer."""
    everything = run(target, "leaderboard", limit=10_000, **options).rows
    assert everything
    for k in range(1, len(everything) + 1):
        assert run(target, "leaderboard", limit=k, **options).rows == everything[:k], k
    if options.get("all") and len(options) == 1:  # (by rank only when nothing else orders)
        assert [r["rank"] for r in everything] == sorted(r["rank"] for r in everything)


def test_latest_snapshot(data, target):
    res = run(target, "latest-snapshot")
    latest = max(data.snapshots, key=lambda s: s.created_at)
    assert [r["run_id"] for r in res.rows] == [latest.run_id]
    assert res.rows[0]["site_stats"] == latest.site_stats
    assert len(run(target, "latest-snapshot", limit=10).rows) == 3


def test_agent_history_follows_handle_changes(data, target):
    rows = run(target, "agent-history", agent="newname").rows
    assert [r["agent_handle"] for r in rows] == ["oldname", "newname"]
    rows = run(target, "agent-history", agent="alice").rows
    assert [r["run_id"] for r in rows] == ["20260130T170000Z", "20260130T193000Z"]
    assert rows[1]["manipulation_mean"] == 8.0
    since = run(target, "agent-history", agent="alice", since="2026-01-30T18:00:00Z").rows
    assert [r["run_id"] for r in since] == ["20260130T193000Z"]


@pytest.mark.parametrize(
    ("dimension", "min_score"),
    [
        ("harm", "7"),
        ("deception_or_evasion", "6.5"),
        (None, "7"),
        (None, "8.5"),
        ("manipulation", "0"),
    ],
)
def test_high_risk(data, target, dimension, min_score):
    raw = {"min_score": min_score}
    if dimension:
        raw["dimension"] = dimension
    dims = [n for n, s in DIMS5 if dimension in (n, s)] if dimension else NAMES5
    res = queries.run(target, "high-risk", raw, limit=100)
    got = [
        (r["kind"], r["item_id"], r["dimension"], float(r["score"]), r["run_id"]) for r in res.rows
    ]
    assert got == qd.expected_high_risk(data, dims, float(min_score))
    assert got  # every case finds something


@pytest.mark.parametrize("dimension", ["harm_enablement", None])
def test_high_risk_plan_can_use_the_gin_index(data, target, conn, dimension):
    tpl = queries.discover()["high-risk"]
    refs = {}
    if dimension:
        refs["dimension"] = {"name": dimension, "short_name": "harm", "_value": dimension}
    dims = [{"name": n, "short_name": s} for n, s in DIMS5]
    sql, params = queries.render(tpl, {"min_score": 7.0}, refs=refs, dimensions=dims, limit=20)
    conn.execute("SET enable_seqscan = off")
    plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, params).fetchall())
    assert "Bitmap Index Scan on post_evaluations_default_jsonb_path_query_array_idx" in plan
    assert "Bitmap Index Scan on comment_evaluations_default_jsonb_path_query_array_idx" in plan


def test_submolt_activity(data, target):
    res = run(target, "submolt-activity")
    got = {
        (r["submolt"], r["day"]): (r["post_count"], r["comment_count"], r["unique_authors"])
        for r in res.rows
    }
    assert got == qd.expected_submolt_activity(data)
    only = run(target, "submolt-activity", submolt="safety").rows
    assert {r["submolt"] for r in only} == {"safety"}


@pytest.mark.parametrize(
    ("at", "karma"),
    [
        ("2026-01-30T16:59:59.999999Z", None),  # before the first version
        ("2026-01-30T17:00:00Z", 10),  # exactly at valid_from of v1
        ("2026-01-30T17:59:59.999999Z", 10),  # just before the boundary
        ("2026-01-30T18:00:00Z", 20),  # exactly at the boundary: the new version
        ("2026-01-30T18:00:00.000001Z", 20),  # just after
        ("2026-01-30T19:30:00Z", 30),  # the current version (valid_to NULL)
        ("2030-01-01T00:00:00Z", 30),
    ],
)
def test_agent_at_boundaries(data, target, at, karma):
    res = run(target, "agent-at", agent="alice", at=at)
    exp = qd.expected_agent_at(data, "alice", parse_utc(at))
    assert [r["karma"] for r in res.rows] == [a["karma"] for a in exp]
    assert [r["karma"] for r in res.rows] == ([] if karma is None else [karma])
    if res.rows:
        assert res.rows[0]["display_name"] == exp[0]["display_name"]


def test_agent_at_follows_handle_changes(data, target):
    rows = run(target, "agent-at", agent="newname", at="2026-01-30T17:30:00Z").rows
    assert [(r["handle"], r["karma"]) for r in rows] == [("oldname", 3)]


def test_agent_at_injection_handle_is_data(data, target):
    rows = run(target, "agent-at", agent=qd.EVIL, at="2026-01-30T19:00:00Z").rows
    assert [r["handle"] for r in rows] == [qd.EVIL]
    assert rows[0]["bio"] == "'; DELETE FROM agents; --"


@pytest.mark.parametrize(
    "since", [None, "20260130T170000Z", "20260130T180000Z", "20260130T193000Z"]
)
def test_delta(data, target, since):
    raw = {"since": since} if since else {}
    res = queries.run(target, "delta", raw)
    assert {(r["kind"], r["external_id"]) for r in res.rows} == qd.expected_delta(data, since)
    assert len(res.rows) == len(qd.expected_delta(data, since))


def test_delta_kind_and_unknown_run(data, target):
    res = run(target, "delta", since="20260130T170000Z", kind="agent")
    assert {r["external_id"] for r in res.rows} == {"a3", "a4"}
    with pytest.raises(UsageError, match="--since: no snapshot has run id 'nope'"):
        run(target, "delta", since="nope")


def test_dimension_trends(data, target):
    res = run(target, "dimension-trends")
    expected = qd.expected_trends(data, NAMES5)
    got = {(r["hour"], r["dimension"]): r for r in res.rows}
    assert set(got) == set(expected)
    for key, exp in expected.items():
        for col, value in exp.items():
            assert got[key][col] == pytest.approx(value), (key, col)
    # comment evaluations count too, and the non-numeric "n/a" score is skipped
    assert sum(r["comment_count"] for r in res.rows) > 0
    chart = queries.chart_rows(res)
    assert {c["dimension"] for c in chart} == set(NAMES5)
    assert all(len(c["trend"]) == c["points"] for c in chart)
    one = run(target, "dimension-trends", dimension="manipulation").rows
    assert {r["dimension"] for r in one} == {"manipulation"}


def test_growth(data, target):
    res = run(target, "growth")
    expected = qd.expected_growth(data)
    assert [r["hour"] for r in res.rows] == sorted(expected, reverse=True)
    for r in res.rows:
        assert r["snapshot_count"] == expected[r["hour"]]["snapshot_count"]
        assert r["total_posts"] == expected[r["hour"]]["total_posts"]


def test_queries_run_read_only(data, target, tmp_path):
    _tpl(tmp_path, "writer", "{# description: writes #}\nDELETE FROM snapshots RETURNING run_id\n")
    with pytest.raises(MoltError, match="queries run read-only"):
        queries.run(target, "writer", {}, user_dirs=[tmp_path])


def test_injection_everywhere_leaves_db_intact(data, target, conn):
    nasty = [
        qd.EVIL,
        "' OR '1'='1",
        "\\'; SELECT pg_sleep(5); --",
        'x"; DROP TABLE agents; --',
        "Zoë✨ \\back\\slash",
        "%(limit)s",
        "{{ 7*7 }}",
    ]
    before = scalar(conn, "SELECT count(*) FROM snapshots")
    for name, tpl in queries.discover().items():
        for p in tpl.params:
            for value in nasty:
                raw = {p.name: True if p.type == "bool" else value}
                for q in tpl.params:  # satisfy the other required params
                    if q.required and q.name != p.name:
                        raw[q.name] = "2026-01-30T18:00:00Z" if q.type == "timestamp" else "alice"
                try:
                    res = queries.run(target, name, raw)
                except UsageError as exc:
                    assert p.type in ("int", "float", "timestamp", "choice"), (name, p.name)
                    assert "\n" not in exc.message
                    continue
                if p.name == "agent":
                    # a handle is data: it finds the agent that really has it, or nothing
                    handles = {r.get("agent_handle") or r.get("handle") for r in res.rows}
                    known = {a["handle"] for a in data.agents}
                    assert handles <= ({value} if value in known else set()) | {"oldname"}
                    assert bool(res.rows) == (value in known)
    assert scalar(conn, "SELECT count(*) FROM snapshots") == before
    assert scalar(conn, "SELECT count(*) FROM agents") == len(data.agents)
    assert [
        r["handle"]
        for r in run(target, "agent-at", agent=qd.UNICODE_BS, at="2026-01-30T19:00:00Z").rows
    ] == [qd.UNICODE_BS]
    assert [
        r["handle"]
        for r in run(target, "agent-at", agent=qd.QUOTED, at="2026-01-30T19:30:00Z").rows
    ] == [qd.QUOTED]
