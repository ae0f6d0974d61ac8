"""moltctl query: options from template headers, formats, errors, user templates, injection."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys
import textwrap

import pytest
from rich.cells import cell_len

from moltctl import queries
from moltctl.cli.output import _plain
from moltctl.connection import resolve
from tests.helpers import querydata as qd
from tests.helpers.db import admin_exec, migrate_to
from tests.helpers.faults import finish, spawn
from tests.helpers.refusals import assert_refused_at_002, assert_refused_empty

# required options for each shipped query, with values that find something
REQUIRED = {
    "agent-at": ["--agent", "alice", "--at", "2026-01-30T18:00:00Z"],
    "agent-history": ["--agent", "alice"],
}


@pytest.fixture(scope="module")
def shared(pg_admin, template_db):
    name, dsn, ds = qd.loaded_db(pg_admin, template_db)
    yield dsn, ds
    admin_exec(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def q(shared, runner, monkeypatch):
    """Run ``moltctl --dsn <shared db> query ARGS...``."""
    from moltctl.cli import app

    for var in ("MOLTCTL_DSN", "DATABASE_URL", "MOLTCTL_TEMPLATES"):
        monkeypatch.delenv(var, raising=False)

    def run(*args, env=None):
        return runner.invoke(app, ["--dsn", shared[0], "query", *args], env=env)

    return run


def _one_line_error(result, code, text):
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: {text}", lines
    assert all(not ln.startswith("Traceback") for ln in lines)
    assert result.stdout == ""


# ---------------------------------------------------------------- listing and help


def test_list_forms(q):
    names = set(queries.discover())
    for args in (["--list"], ["list"], []):
        result = q(*args, "--format", "json") if args != ["list"] else q("list", "-f", "json")
        assert result.exit_code == 0, result.stderr
        rows = json.loads(result.stdout)
        assert {r["name"] for r in rows} == names
        assert all(r["description"] for r in rows)
    table = q("--list", env={"COLUMNS": "300"})
    assert "leaderboard" in table.stdout and "agent_leaderboard" in table.stdout
    assert "built-in" not in table.stdout  # a column that says nothing is left out


def test_each_param_is_a_real_option(q):
    result = q("agent-at", "--help")
    assert result.exit_code == 0
    for opt in ("--agent", "--at", "--format", "--limit", "--show-sql", "(required)"):
        assert opt in result.stdout
    assert "Example: moltctl query agent-at --agent" in result.stdout
    lb = q("leaderboard", "--help").stdout
    assert "--dimension" in lb and "--high-risk" in lb
    hr = q("high-risk", "--help").stdout
    assert "--min-score" in hr and "(default: 7)" in hr
    # an option of another query is not an option here
    result = q("growth", "--agent", "x")
    assert result.exit_code == 2
    assert "No such option" in result.stderr


def test_startup_stays_light():
    code = (
        "import sys; from typer.testing import CliRunner; from moltctl.cli import app; "
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0; "
        "r = CliRunner().invoke(app, ['query', 'agent-at', '--help']); assert r.exit_code == 0; "
        "print('jinja2' in sys.modules, 'psycopg' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------- formats


def _csv_cell(value):
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


@pytest.mark.parametrize("name", sorted(queries.discover()))
def test_json_and_csv_parse_back_to_the_same_rows(q, shared, name):
    args = [name, *REQUIRED.get(name, []), "--limit", "1000"]
    res = queries.run(
        resolve(shared[0]),
        name,
        {a[2:].replace("-", "_"): b for a, b in zip(args[1:-2:2], args[2:-2:2], strict=True)},
        limit=1000,
    )
    assert res.rows, f"{name} returns rows on the test data"
    as_json = q(*args, "--format", "json")
    assert as_json.exit_code == 0, as_json.stderr
    parsed = json.loads(as_json.stdout)
    assert parsed == [{k: qd.as_json(_plain(v)) for k, v in r.items()} for r in res.rows]
    assert list(parsed[0]) == res.columns
    as_csv = q(*args, "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.stderr
    reader = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert reader[0] == res.columns
    assert reader[1:] == [[_csv_cell(r[c]) for c in res.columns] for r in res.rows]
    assert as_csv.stderr == ""


def test_dimension_trends_sparkline_in_table_numbers_elsewhere(q):
    table = q("dimension-trends")
    assert table.exit_code == 0, table.stderr
    assert any(ch in table.stdout for ch in queries.SPARKS)
    assert "harm_enablement" in table.stdout and "manipulation" in table.stdout
    rows = json.loads(q("dimension-trends", "-f", "json").stdout)
    assert all(isinstance(r["avg_score"], float | int) for r in rows)
    assert not any(ch in q("dimension-trends", "-f", "csv").stdout for ch in queries.SPARKS)


def test_limit(q):
    rows = json.loads(q("leaderboard", "--limit", "2", "-f", "json").stdout)
    assert [r["rank"] for r in rows] == [1, 2]
    _one_line_error(q("leaderboard", "--limit", "two"), 2, "--limit: 'two' is not an integer")


# ---------------------------------------------------------------- errors are one line, exit 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["agent-at", "--agent", "alice", "--at", "2026-13-01"],
            "--at: '2026-13-01' is not a timestamp (ISO 8601)",
        ),
        (["agent-at", "--at", "2026-01-30"], "--agent is required for query agent-at"),
        (["high-risk", "--min-score", "high"], "--min-score: 'high' is not a number"),
        (["high-risk", "--min-score", "11"], "--min-score: '11' is above the maximum 10"),
        (
            ["high-risk", "--dimension", "harm'; --"],
            '--dimension: "harm\'; --" is not a registered dimension (harm_enablement, '
            "deception_or_evasion, self_preservation_power_seeking, delusional_sycophancy, "
            "manipulation)",
        ),
        (
            ["delta", "--since", "20990101T000000Z"],
            "--since: no snapshot has run id '20990101T000000Z'",
        ),
        (["delta", "--kind", "user"], "--kind: 'user' is not one of post, comment, agent"),
        (
            ["dimension-trends", "--hours", "1; DROP TABLE x"],
            "--hours: '1; DROP TABLE x' is not an integer",
        ),
        (["no-such-query"], "no query named 'no-such-query'"),
    ],
)
def test_bad_values(q, args, message):
    _one_line_error(q(*args), 2, message)


def test_show_sql_runs_nothing(q, tmp_path):
    (tmp_path / "boom.sql.j2").write_text(
        "{#\ndescription: fails if run\nparams:\n  - name: n\n    type: int\n#}\n"
        "SELECT 1 / 0 AS boom, %(n)s AS n\n",
        encoding="utf-8",
    )
    result = q("--templates", str(tmp_path), "boom", "--n", "5", "--show-sql")
    assert result.exit_code == 0, result.stderr
    assert "SELECT 1 / 0 AS boom, %(n)s AS n" in result.stdout
    assert '-- params: {"n": 5}' in result.stdout
    ran = q("--templates", str(tmp_path), "boom", "--n", "5")
    assert ran.exit_code == 1 and "division by zero" in ran.stderr
    shown = q("agent-at", "--agent", qd.EVIL, "--at", "2026-01-30T18:00:00+01:00", "--show-sql")
    assert shown.exit_code == 0
    assert "%(agent)s" in shown.stdout and "DROP TABLE" not in shown.stdout.split("-- params")[0]
    params = json.loads(shown.stdout.split("-- params: ", 1)[1])
    assert params == {"agent": qd.EVIL, "at": "2026-01-30T18:00:00+01:00", "limit": None}


# ---------------------------------------------------------------- injection


# (tests/test_queries.py tries more values through the core; these go through the CLI)
NASTY = [
    qd.EVIL,
    'O\'Brien "the" \\ backslash %(limit)s %s {{ 1 }}',
    "Zoë✨ ünïcødé \\",
]


def test_injection_in_every_parameter_leaves_db_intact(q, shared):
    import psycopg

    dsn, ds = shared
    with psycopg.connect(dsn) as c:
        tables_before = c.execute("SELECT count(*) FROM pg_tables").fetchone()[0]
        snaps_before = c.execute("SELECT count(*) FROM snapshots").fetchone()[0]
    for name, tpl in queries.discover().items():
        for p in tpl.params:
            for value in NASTY:
                args = [name, *REQUIRED.get(name, [])]
                if p.type == "bool":
                    args.append(p.option)
                else:
                    if p.option in args:
                        i = args.index(p.option)
                        del args[i : i + 2]
                    args += [p.option, value]
                result = q(*args, "-f", "json")
                if p.type in ("text", "bool"):
                    assert result.exit_code == 0, (name, p.name, value, result.stderr)
                    rows = json.loads(result.stdout)
                    if p.name == "agent":
                        known = {a["handle"] for a in ds.agents}
                        assert bool(rows) == (value in known), (name, value)
                else:
                    assert result.exit_code == 2, (name, p.name, value, result.stdout)
                    assert len(result.stderr.strip().splitlines()) == 1
    with psycopg.connect(dsn) as c:
        assert c.execute("SELECT count(*) FROM pg_tables").fetchone()[0] == tables_before
        assert c.execute("SELECT count(*) FROM snapshots").fetchone()[0] == snaps_before
        assert c.execute("SELECT count(*) FROM agents").fetchone()[0] == len(ds.agents)


@pytest.mark.parametrize("handle", [qd.EVIL, qd.UNICODE_BS, qd.QUOTED])
def test_agents_with_nasty_handles_are_found(q, handle):
    at = q("agent-at", "--agent", handle, "--at", "2026-01-30T19:45:00Z", "-f", "json")
    assert [r["handle"] for r in json.loads(at.stdout)] == [handle]
    hist = q("agent-history", "--agent", handle, "-f", "json")
    assert {r["agent_handle"] for r in json.loads(hist.stdout)} == {handle}
    table = q("agent-at", "--agent", handle, "--at", "2026-01-30T19:45:00Z")
    assert table.exit_code == 0
    assert handle[:5] in table.stdout


# ---------------------------------------------------------------- user templates


def _user_dir(tmp_path):
    (tmp_path / "top-karma.sql.j2").write_text(
        textwrap.dedent(
            """\
            {#
            description: Current agents by karma
            params:
              - name: min_karma
                type: int
                default: 0
                help: Lowest karma shown.
            #}
            SELECT handle, karma FROM agents
            WHERE is_current AND karma >= %(min_karma)s
            ORDER BY karma DESC, handle
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / "growth.sql.j2").write_text(
        '{# {"description": "Overridden growth"} #}\nSELECT count(*) AS snapshots FROM snapshots\n',
        encoding="utf-8",
    )
    return tmp_path


def test_user_template_dir_adds_and_overrides(q, tmp_path, shared):
    d = _user_dir(tmp_path)
    ds = shared[1]
    for via_env in (False, True):
        pre = [] if via_env else ["--templates", str(d)]
        env = {"MOLTCTL_TEMPLATES": str(d)} if via_env else None
        result = q(*pre, "top-karma", "--min-karma", "5", "-f", "json", env=env)
        assert result.exit_code == 0, result.stderr
        expected = sorted(
            (
                (a["handle"], a["karma"])
                for a in ds.agents
                if a["valid_to"] is None and a["karma"] >= 5
            ),
            key=lambda x: (-x[1], x[0]),
        )
        assert [(r["handle"], r["karma"]) for r in json.loads(result.stdout)] == expected
        over = q(*pre, "growth", "-f", "json", env=env)
        assert json.loads(over.stdout) == [{"snapshots": len(ds.snapshots)}]
        listed = {r["name"]: r for r in json.loads(q(*pre, "list", "-f", "json", env=env).stdout)}
        assert listed["top-karma"]["source"] == str(d / "top-karma.sql.j2")
        assert listed["growth"]["description"] == "Overridden growth"
        assert listed["leaderboard"]["source"] == "built-in"
        assert "--min-karma" in q(*pre, "top-karma", "--help", env=env).stdout
    # without the directory the built-in growth is back and top-karma is unknown
    assert "hour" in json.loads(q("growth", "-f", "json").stdout)[0]
    _one_line_error(q("top-karma"), 2, "no query named 'top-karma'")
    _one_line_error(
        q("--templates", str(tmp_path / "missing"), "list"),
        2,
        f"--templates: {str(tmp_path / 'missing')!r} is not a directory",
    )


def test_broken_user_template_is_one_line(q, tmp_path):
    (tmp_path / "bad.sql.j2").write_text("{#\ndescription: x\nwhat: 1\n#}\nSELECT 1\n")
    result = q("--templates", str(tmp_path), "list")
    assert result.exit_code == 1
    assert "unknown header key(s): what" in result.stderr.splitlines()[0]
    (tmp_path / "bad.sql.j2").write_text("{#\ndescription: x\n  bad: [\n#}\nSELECT 1\n")
    result = q("--templates", str(tmp_path), "list")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: query template {tmp_path / 'bad.sql.j2'}: line 3: ")
    assert "header is not valid YAML" in first


def test_refused_without_schema_or_with_pending_migration(cli, empty_dsn):
    runs = (("leaderboard",), ("latest-snapshot", "--show-sql"), ("growth", "-f", "json"))
    for args in runs:
        assert_refused_empty(cli("query", *args, dsn_override=empty_dsn))
    migrate_to(empty_dsn, "002")
    for args in runs:
        assert_refused_at_002(cli("query", *args, dsn_override=empty_dsn))
    # listing the queries needs no database
    assert cli("query", "--list", dsn_override=empty_dsn).exit_code == 0


def test_note_when_a_view_read_misses_loaded_snapshots(cli, tmp_path):
    from moltctl.synth import generate_runs

    runs = generate_runs(tmp_path, runs=2, agents=40, posts=8, seed=3, fmt="bundle")
    assert cli("ingest-file", str(runs[0])).exit_code == 0
    stale = "note: agent_leaderboard has not been refreshed by moltctl; the latest snapshot"
    r = cli("query", "leaderboard", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert stale in r.stderr and "run moltctl refresh-views" in r.stderr
    assert json.loads(r.stdout) == []  # the note goes to stderr, the data stays clean
    # a query that reads no materialized view says nothing
    r = cli("query", "latest-snapshot", "--format", "json")
    assert r.exit_code == 0 and "note:" not in r.stderr
    assert cli("refresh-views").exit_code == 0
    r = cli("query", "leaderboard", "--format", "json")
    assert r.exit_code == 0 and "note:" not in r.stderr and json.loads(r.stdout)
    # a later load makes the hour views stale again, with the time of that refresh; the
    # leaderboard, which the ingest folded the snapshot into, is current
    r = cli("ingest-file", str(runs[1]))
    assert r.exit_code == 0 and "(leaderboard updated)" in r.stderr
    r = cli("query", "dimension-trends", "--format", "csv")
    assert "note: dimension_trends was last refreshed at " in r.stderr
    assert "before the latest snapshot was loaded at" in r.stderr
    r = cli("query", "leaderboard", "--format", "json")
    assert r.exit_code == 0 and "note:" not in r.stderr
    assert cli("--quiet", "query", "leaderboard").stderr == ""


# ---------------------------------------------------------------- tables that fit

QUERIES = sorted(queries.discover())


def _rows(q, name, *args):
    result = q(name, *REQUIRED.get(name, []), *args, "-f", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _shown(q, name, *args, width, fmt="table"):
    result = q(name, *REQUIRED.get(name, []), *args, "-f", fmt, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    too_wide = [ln for ln in lines if cell_len(ln) > width]
    assert not too_wide, (name, width, too_wide)
    return result, lines


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("name", QUERIES)
def test_table_fits_the_width_one_line_per_row(q, name, width):
    rows = _rows(q, name)
    assert rows, f"{name} returns rows on the test data"
    tpl = queries.discover()[name]
    chart = tpl.chart is not None
    n = len({r[tpl.chart["group"]] for r in rows}) if chart else len(rows)
    result, lines = _shown(q, name, width=width)
    # [title,] header, rule, one line per row, "(N rows)"
    assert len(lines) == chart + 2 + n + 1, result.stdout
    assert set(lines[chart + 1]) <= {"─", " "}
    assert lines[-1] == f"({n} row{'' if n == 1 else 's'})"
    # every column: still one line per row (columns that do not fit are named on stderr)
    result, lines = _shown(q, name, "--wide", width=width)
    assert len(lines) == 2 + len(rows) + 1
    if "note:" in result.stderr:
        assert "do not fit" in result.stderr and "--columns" in result.stderr
    # the vertical view fits too
    _shown(q, name, width=width, fmt="records")


def test_table_fits_comfortably_at_120_without_hiding(q):
    for name in QUERIES:
        result, _ = _shown(q, name, width=120)
        assert "note:" not in result.stderr, (name, result.stderr)


def test_piped_without_columns_is_120_wide(q):
    result = q("high-risk", env={"COLUMNS": None})
    assert result.exit_code == 0
    widths = [cell_len(ln) for ln in result.stdout.splitlines()]
    assert max(widths) <= 120 and max(widths) > 100  # the long texts take the room there is


def test_long_text_cut_in_tables_whole_elsewhere(q):
    _, lines = _shown(q, "high-risk", width=80)
    title_line = next(ln for ln in lines if "A post whose" in ln)
    assert "…" in title_line and "to the end" not in title_line
    assert any(r["title"] == qd.LONG_TITLE for r in _rows(q, "high-risk"))
    as_csv = q("high-risk", "-f", "csv").stdout
    assert qd.LONG_TITLE in as_csv and "…" not in as_csv


def test_numbers_right_aligned_and_rounded(q):
    _, lines = _shown(q, "leaderboard", width=120)
    header = lines[0]
    assert header.split()[:2] == ["rank", "handle"]
    assert "overall" in header and "agent_id" not in header  # the default set
    overall = header.index("overall") + len("overall")  # right-aligned: ends line up
    for ln in lines[2:-1]:
        if not ln.isascii():
            continue  # a wide character: columns counted in cells, not characters
        value = ln[:overall].split()[-1]
        assert ln[overall - len(value) : overall] == value
        assert len(value.split(".")[1]) <= 2  # rounded
    lines = q("leaderboard", "--wide", env={"COLUMNS": "400"}).stdout.splitlines()
    assert "agent_id" in lines[0] and "harm_mean" in lines[0]


def test_default_columns_follow_the_dimension(q):
    _, lines = _shown(q, "leaderboard", "--dimension", "sycophancy", width=80)
    assert "sycophancy_mean" in lines[0]


def test_columns_option(q):
    result, lines = _shown(q, "leaderboard", "--columns", "rank,handle,agent_id", width=80)
    assert lines[0].split() == ["rank", "handle", "agent_id"]
    rows = _rows(q, "leaderboard", "--columns", "handle,overall_mean_score")
    assert list(rows[0]) == ["agent_handle", "overall_mean_score"]
    as_csv = q("leaderboard", "-c", "rank,overall", "-f", "csv").stdout.splitlines()
    assert as_csv[0] == "rank,overall_mean_score"
    _one_line_error(
        q("leaderboard", "--columns", "rank,nope"),
        2,
        "--columns: no column 'nope' (there are: rank, agent_handle, agent_id, "
        "overall_mean_score, highest_dimension, top_dimension, highest_dimension_score, "
        "total_evaluated, "
        "harm_mean, deception_mean, power_seeking_mean, sycophancy_mean, manipulation_mean, "
        "has_any_high, high_in, recorded_at)",
    )


# ---------------------------------------------------------------- formats


def _untsv(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


@pytest.mark.parametrize("name", QUERIES)
def test_ndjson_and_tsv_carry_every_value(q, name):
    rows = _rows(q, name)
    nd = q(name, *REQUIRED.get(name, []), "-f", "ndjson")
    assert nd.exit_code == 0 and nd.stderr == ""
    assert [json.loads(ln) for ln in nd.stdout.splitlines()] == rows
    tsv = q(name, *REQUIRED.get(name, []), "-f", "tsv")
    assert tsv.exit_code == 0 and tsv.stderr == ""
    lines = tsv.stdout.rstrip("\n").split("\n")
    assert lines[0].split("\t") == list(rows[0])
    assert [[_untsv(v) for v in ln.split("\t")] for ln in lines[1:]] == [
        [_csv_cell(v) for v in r.values()] for r in rows
    ]


def test_records_are_the_default_for_one_row_answers(q, shared):
    latest = max(shared[1].snapshots, key=lambda s: s.created_at)
    _, lines = _shown(q, "latest-snapshot", width=80, fmt="records")
    result = q("latest-snapshot", env={"COLUMNS": "80"})
    assert result.stdout.splitlines() == lines
    assert lines[0].split() == ["run_id", latest.run_id]
    assert any(ln.split()[:2] == ["posts", str(latest.posts)] for ln in lines)
    table = q("latest-snapshot", "-f", "table", env={"COLUMNS": "80"}).stdout.splitlines()
    assert table[0].split()[:2] == ["run_id", "created"] and len(table) == 4
    at = q("agent-at", *REQUIRED["agent-at"], env={"COLUMNS": "80"}).stdout.splitlines()
    assert at[0].split() == ["handle", "alice"] and any(ln.startswith("karma ") for ln in at)
    # several records are numbered, psql style
    two = q("latest-snapshot", "-n", "2", env={"COLUMNS": "80"}).stdout.splitlines()
    assert two[0].startswith("-[ RECORD 1 ]") and any(ln.startswith("-[ RECORD 2 ]") for ln in two)


def test_format_choices_in_help(q):
    out = q("leaderboard", "--help", env={"COLUMNS": "200"}).stdout
    assert "table, records (one field a line) for people; json, ndjson, csv, tsv" in out
    assert "(default: table)" in out
    assert "(default: records)" in q("latest-snapshot", "--help", env={"COLUMNS": "200"}).stdout
    bad = q("leaderboard", "-f", "yaml")
    assert bad.exit_code == 2 and "yaml" in bad.stderr


# ---------------------------------------------------------------- names, authors, links


def test_did_you_mean(q):
    result = q("leaderbord")
    _one_line_error(result, 2, "no query named 'leaderbord'")
    assert "hint: did you mean leaderboard?" in result.stderr
    assert "did you mean" not in q("zzzzzz").stderr


def test_leaderboard_all_includes_mean_zero(q, shared):
    ds = shared[1]
    board = [r["agent_handle"] for r in _rows(q, "leaderboard")]
    everyone = _rows(q, "leaderboard", "--all")
    expected = qd.expected_leaderboard(ds, qd.DIMS5, include_zero=True)
    assert [r["agent_handle"] for r in everyone] == [r["agent_handle"] for r in expected]
    assert "zeroed" in [r["agent_handle"] for r in everyone] and "zeroed" not in board
    assert [r["rank"] for r in everyone] == list(range(1, len(everyone) + 1))
    assert everyone[: len(board)] == _rows(q, "leaderboard")
    desc = q("leaderboard", "--help", env={"COLUMNS": "200"}).stdout
    assert "Agents whose mean is 0 are left out; --all includes them." in desc
    assert "--all" in desc


def test_authors_are_handles_valid_at_that_snapshot(q, shared):
    ds = shared[1]
    when = {s.run_id: s.created_at for s in ds.snapshots}
    rows = _rows(q, "high-risk", "--min-score", "0", "--limit", "1000")
    authors = {}
    for r in rows:
        assert r["author"] == qd.handle_at(ds, r["author_id"], when[r["run_id"]]), r
        authors[r["item_id"]] = (r["author"], r["author_id"])
    # p4 was written by a5 while it was "oldname"; it is "newname" now
    assert authors["p4"] == ("oldname", "a5")
    assert authors["p1"] == ("alice", "a1") and authors["c2"] == (qd.QUOTED, "a4")
    _, lines = _shown(q, "high-risk", width=120)
    assert "oldname" in "\n".join(lines) and "a5" not in lines[0]
    for since in (None, "20260130T170000Z"):
        delta = _rows(q, "delta", *(["--since", since] if since else []))
        for r in delta:
            first = dt.datetime.fromisoformat(r["first_seen"])
            if r["kind"] == "agent":
                assert r["author"] is None and r["author_id"] is None
            else:
                assert r["author_id"] and r["author"] == qd.handle_at(ds, r["author_id"], first)
    assert "author_id" in q("delta", "-f", "csv").stdout.splitlines()[0].split(",")


def test_permalink_shown(q, shared):
    links = {p["external_id"]: p["permalink"] for p in shared[1].posts}
    rows = _rows(q, "high-risk", "--min-score", "0", "--limit", "1000")
    assert rows and all(r["permalink"] == links[r["post_id"]] for r in rows)


def test_out_of_shared_memory_gets_a_hint(cli, tmp_path):
    """Issue 9 item 7: too many partitions made queries fail with "out of shared memory" and
    no way forward. The real error, from a query taking more locks than the server's lock
    table holds (advisory locks share it with table locks)."""
    (tmp_path / "many-locks.sql.j2").write_text(
        "{#\ndescription: Takes a lock per row.\n#}\n"
        "SELECT count(pg_advisory_xact_lock(i)) AS n FROM generate_series(1, 200000) i\n"
        "LIMIT %(limit)s\n"
    )
    r = cli("query", "--templates", str(tmp_path), "many-locks")
    assert r.exit_code == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and "out of shared memory" in lines[0], lines
    assert lines[1].startswith("hint: ") and "max_locks_per_transaction" in lines[1], lines
    assert "create-partition --prune" in lines[1] and len(lines) == 2


def test_a_reader_that_goes_away_is_not_an_error(shared):
    # `moltctl query leaderboard --format csv | head -1`: the pipe closes before moltctl writes
    proc = spawn(shared[0], "query", "leaderboard", "--format", "csv")
    proc.stdout.close()
    code, _, err = finish(proc)
    assert code == 1
    assert err == ""
