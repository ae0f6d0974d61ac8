"""Never a traceback, never a hang (issue 9 item 4): odd files, calendar edges, deep JSON, huge
numbers and lines, empty input. Each is one error line naming the file, record and field, exit 1,
nothing loaded; the input that is merely odd but valid loads, with warnings where it is cleaned.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from moltctl.ingest import readers
from tests.helpers.ingest import agent, data_counts, post, rows, write_bundle, write_json

# a hang (a FIFO read blocks forever) fails the test instead of the suite
pytestmark = pytest.mark.usefixtures("no_hang")

RUN = "20260130T100000Z"


def _nothing_loaded(conn) -> None:
    assert all(v == 0 for v in data_counts(conn).values()), data_counts(conn)
    assert rows(conn, "SELECT count(*) FROM snapshots WHERE status <> 'failed'") == [(0,)]


def refused(result, conn, *parts: str) -> str:
    """Exit 1, one ``error:`` line holding every part, no traceback, nothing loaded."""
    out = result.stdout + result.stderr
    assert result.exit_code == 1, (result.exit_code, out, result.exception)
    assert "Traceback" not in out and "internal error" not in out, out
    lines = result.stderr.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1 and lines[0] == errors[0], lines
    assert all(ln.startswith("hint:") for ln in lines[1:]), lines
    for part in parts:
        assert part in errors[0], (part, errors[0])
    _nothing_loaded(conn)
    return errors[0]


def _run_dir(tmp_path: Path, name: str = RUN) -> Path:
    run = tmp_path / name
    write_json(run / "raw" / "agents_list.json", [{"id": "a1", "name": "alice"}])
    write_json(run / "raw" / "posts_list.json", [{"id": "p1", "title": "t", "author_id": "a1"}])
    return run


# ---------------------------------------------------------------- odd files


def test_fifo_as_path(tmp_path, cli, conn):
    fifo = tmp_path / "in.ndjson"
    os.mkfifo(fifo)
    refused(cli("ingest-file", str(fifo)), conn, str(fifo), "a FIFO")


def test_device_as_path(cli, conn):
    refused(cli("ingest-file", "/dev/null"), conn, "/dev/null", "a character device")


def test_symlink_loop_as_path(tmp_path, cli, conn):
    loop = tmp_path / "loop"
    loop.symlink_to("loop")
    refused(cli("ingest-file", str(loop)), conn, str(loop), "symbolic link")


@pytest.mark.parametrize(
    "name",
    [
        "raw/posts_list.json",
        "raw/agents_list.json",
        "meta/snapshot.json",
        "raw/post_p1.json",
        "raw/posts/p1.json",
        "gold/evals.jsonl",
    ],
)
@pytest.mark.parametrize("kind", ["fifo", "loop", "directory"])
def test_odd_thing_where_a_runs_file_should_be(tmp_path, cli, conn, name, kind):
    run = _run_dir(tmp_path)
    where = run / name
    if where.exists():
        where.unlink()
    where.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(where)
    elif kind == "loop":
        where.symlink_to(where.name)
    else:
        where.mkdir()
    what = {"fifo": "a FIFO", "loop": "symbolic link", "directory": "a directory"}[kind]
    refused(cli("ingest-file", str(run)), conn, str(where), what, "where a file should be")


# ---------------------------------------------------------------- unreadable, as another user


NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
_AS_NOBODY = """
import sys
from moltctl.ingest.errors import InputError, Warnings
from moltctl.ingest.readers import discover

try:
    for src in discover(sys.argv[1:]):
        for _ in src.records(Warnings()):
            pass
except InputError as exc:
    print("InputError:", exc)
else:
    print("read")
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="acting as another, unprivileged user needs root")
@pytest.mark.parametrize(
    "target",
    ["bundle", "run dir", "raw dir", "posts_list.json", "evals.jsonl", "post detail", "parent"],
)
def test_unreadable_as_a_user_without_permission(target):
    """As ``nobody`` (reading the input is what is tested here: no database is needed, and
    the test server is not reachable by another user, on purpose)."""
    root = Path(tempfile.mkdtemp(prefix="moltctl-perm-"))
    try:
        root.chmod(0o755)
        run = _run_dir(root)
        write_json(run / "raw" / "post_p1.json", {"post": {"id": "p1"}})
        (run / "gold").mkdir()
        (run / "gold" / "evals.jsonl").write_text('{"post_id": "p1", "scores": {}}\n')
        bundle = write_bundle(root / "b.ndjson", "20260130T110000Z", [agent("a1")])
        for p in [root, *root.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        path, blocked = {
            "bundle": (bundle, bundle),
            "run dir": (run, run),
            "raw dir": (run, run / "raw"),
            "posts_list.json": (run, run / "raw" / "posts_list.json"),
            "evals.jsonl": (run, run / "gold" / "evals.jsonl"),
            "post detail": (run, run / "raw" / "post_p1.json"),
            "parent": (root, run),
        }[target]
        blocked.chmod(0o300 if blocked.is_dir() else 0o200)  # neither readable nor listable
        r = subprocess.run(
            [*NOBODY, sys.executable, "-c", _AS_NOBODY, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
        assert "Traceback" not in r.stderr, r.stderr
        assert r.stdout.startswith("InputError: "), (r.stdout, r.stderr)
        assert str(blocked) in r.stdout and "Permission denied" in r.stdout, r.stdout
    finally:
        for p in [root, *root.rglob("*")]:
            with contextlib.suppress(OSError):
                p.chmod(0o700)
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------- the calendar's edges


@pytest.mark.parametrize(
    "created_at",
    ["9999-12-15T00:00:00Z", "9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+14:00"],
)
def test_snapshot_time_at_the_calendars_edge(tmp_path, cli, conn, created_at):
    path = write_bundle(tmp_path / "b.ndjson", RUN, [agent("a1")], created_at=created_at)
    refused(
        cli("ingest-file", str(path)),
        conn,
        f"{path}: line 1",
        "field 'created_at'",
        "outside the supported range",
    )


def test_run_id_at_the_calendars_edge(tmp_path, cli, conn):
    path = write_bundle(tmp_path / "b.ndjson", "99991231T120000Z", [agent("a1")])
    refused(cli("ingest-file", str(path)), conn, f"{path}: line 1", "99991231T120000Z", "range")
    run = _run_dir(tmp_path, "99991231T120000Z")
    refused(cli("ingest-file", str(run)), conn, str(run), "outside the supported range")


def test_record_times_at_the_calendars_edge_load(tmp_path, cli, conn):
    recs = [
        post("p1", "a1", created_at="9999-12-31T23:00:00-05:00"),
        post("p2", "a1", created_at="0001-01-01T00:00:00+14:00"),
    ]
    r = cli("ingest-file", str(write_bundle(tmp_path / "b.ndjson", RUN, recs)))
    assert r.exit_code == 0, r.stderr
    assert rows(conn, "SELECT count(*) FROM posts") == [(2,)]


def test_month_arithmetic_at_the_calendars_edge():
    import datetime as dt

    from moltctl import partitions
    from moltctl.errors import MoltError

    last = dt.datetime(9999, 12, 1, tzinfo=dt.UTC)
    with pytest.raises(MoltError, match="9999-12"):
        partitions.add_months(last, 1)
    with pytest.raises(MoltError, match="0001-01"):
        partitions.add_months(dt.datetime(1, 1, 1, tzinfo=dt.UTC), -1)


# ---------------------------------------------------------------- deep JSON, huge numbers


@pytest.mark.parametrize("depth", [1100, 100_000])
def test_json_nested_too_deep(tmp_path, cli, conn, depth):
    deep = "[" * depth + "]" * depth
    path = tmp_path / "b.ndjson"
    path.write_text(
        json.dumps({"type": "snapshot", "run_id": RUN})
        + "\n"
        + json.dumps(agent("a1"))
        + "\n"
        + '{"type": "agent", "id": "a2", "owner": '
        + deep
        + "}\n"
    )
    refused(cli("ingest-file", str(path)), conn, f"{path}: line 3", "nested deeper than")


def test_json_nested_too_deep_in_a_runs_list(tmp_path, cli, conn):
    run = _run_dir(tmp_path)
    deep = "[" * 5000 + "]" * 5000
    (run / "raw" / "posts_list.json").write_text('[{"id": "p1", "x": ' + deep + "}]")
    refused(cli("ingest-file", str(run)), conn, "posts_list.json", "nested deeper than")


def test_nested_within_the_limit_loads(tmp_path, cli, conn):
    owner = {"v": 1}
    for _ in range(600):
        owner = {"n": owner}
    path = write_bundle(tmp_path / "b.ndjson", RUN, [agent("a1", owner=owner)])
    r = cli("ingest-file", str(path))
    assert r.exit_code == 0, r.stderr


def _line(text: str) -> str:
    return text  # raw JSON text: json.dumps cannot write a lone surrogate escape or NaN as is


@pytest.mark.parametrize("spoiler", ['"x\\ud800"', "NaN", "Infinity"])
def test_integer_above_2_64_on_the_tolerant_path(tmp_path, cli, conn, spoiler):
    big = str(2**70)
    path = tmp_path / "b.ndjson"
    path.write_text(
        json.dumps({"type": "snapshot", "run_id": RUN})
        + "\n"
        + f'{{"type": "agent", "id": "a1", "name": {spoiler}, "karma": {big}}}\n'
    )
    refused(cli("ingest-file", str(path)), conn, f"{path}: line 2", "field 'karma'", big)


@pytest.mark.parametrize("spoiler", ['"x\\ud800"', "NaN"])
def test_huge_integers_inside_json_values_load(tmp_path, cli, conn, spoiler):
    big = str(2**70)
    path = tmp_path / "b.ndjson"
    path.write_text(
        json.dumps({"type": "snapshot", "run_id": RUN})
        + "\n"
        + f'{{"type": "agent", "id": "a1", "name": "al", "bio": {spoiler}, '
        + f'"owner": {{"n": {big}}}}}\n'
        + json.dumps(post("p1", "a1"))
        + "\n"
        + '{"type": "post_evaluation", "post_id": "p1", "model": "m", '
        + f'"scores": {{"harm_enablement": {{"score": {big}}}, "x": {spoiler}}}}}\n'
    )
    r = cli("ingest-file", str(path))
    assert r.exit_code == 0, r.stderr
    assert "warning:" in r.stderr
    assert rows(conn, "SELECT owner_info->>'n' FROM agents") == [(big,)]


# ---------------------------------------------------------------- huge and empty input


def test_huge_decompressed_line_is_bounded(tmp_path, cli, conn, monkeypatch):
    monkeypatch.setattr(readers, "MAX_LINE", 1 << 20)
    head = json.dumps({"type": "snapshot", "run_id": RUN}).encode()
    path = tmp_path / "b.ndjson.gz"
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(head + b"\n" + json.dumps(agent("a1")).encode() + b"\n")
        fh.write(b'{"type": "agent", "id": "a2", "name": "' + b"x" * (4 << 20) + b'"}\n')
    refused(cli("ingest-file", str(path)), conn, f"{path}: line 3", "longer than 1 MiB")


def test_huge_line_default_bound(tmp_path, cli, conn):
    head = json.dumps({"type": "snapshot", "run_id": RUN}).encode()
    path = tmp_path / "b.ndjson.gz"
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(head + b"\n" + b" " * 1024)
        chunk = b"y" * (1 << 20)
        for _ in range((readers.MAX_LINE >> 20) + 2):
            fh.write(chunk)
    refused(cli("ingest-file", str(path)), conn, f"{path}: line 2", "longer than")


def test_huge_line_in_a_runs_jsonl_and_list(tmp_path, cli, conn, monkeypatch):
    monkeypatch.setattr(readers, "MAX_LINE", 1 << 16)
    run = _run_dir(tmp_path)
    (run / "gold").mkdir()
    (run / "gold" / "evals.jsonl").write_text('{"post_id": "' + "p" * (1 << 17) + '"}\n')
    refused(cli("ingest-file", str(run)), conn, "evals.jsonl: line 1", "longer than")
    (run / "gold" / "evals.jsonl").unlink()
    (run / "raw" / "posts_list.json").write_text('[{"id": "' + "p" * (1 << 17) + '"}]')
    refused(cli("ingest-file", str(run)), conn, "posts_list.json", "longer than")


def test_newlines_only_are_quick_and_an_error(tmp_path, cli, conn):
    path = tmp_path / "b.ndjson.gz"
    head = json.dumps({"type": "snapshot", "run_id": RUN}).encode()
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(head + b"\n")
        for _ in range(64):
            fh.write(b"\n" * (1 << 20))
    clock = time.monotonic()
    refused(cli("ingest-file", str(path)), conn, str(path), "no records")
    assert time.monotonic() - clock < 30
    only = tmp_path / "n.ndjson"
    only.write_bytes(b"\n \r\n" * 1000)
    refused(cli("ingest-file", str(only)), conn, str(only), "empty bundle")


def test_empty_run_is_an_error(tmp_path, cli, conn):
    run = tmp_path / RUN
    write_json(run / "raw" / "posts_list.json", [])
    write_json(run / "raw" / "agents_list.json", {"agents": []})
    refused(cli("ingest-file", str(run)), conn, str(run), "no records")
    header_only = write_bundle(tmp_path / "h.ndjson", RUN, [])
    refused(cli("ingest-file", str(header_only)), conn, str(header_only), "no records")


# ---------------------------------------------------------------- --strict and the header


def test_strict_covers_the_bundle_header(tmp_path, cli, conn):
    path = tmp_path / "b.ndjson"
    path.write_text(
        '{"type": "snapshot", "run_id": "20260130T100000Z", "site_stats": {"n": "x\\ud800"}}\n'
        + json.dumps(agent("a1", name="alice"))
        + "\n"
    )
    refused(
        cli("ingest-file", "--strict", str(path)),
        conn,
        f"{path}: line 1",
        "lone surrogate",
        "--strict",
    )
    r = cli("ingest-file", str(path))
    assert r.exit_code == 0, r.stderr
    assert "1 lone surrogates replaced (first at" in r.stderr and "line 1" in r.stderr


def test_strict_covers_a_runs_meta(tmp_path, cli, conn):
    run = _run_dir(tmp_path)
    (run / "meta").mkdir()
    (run / "meta" / "snapshot.json").write_text('{"run_id": "' + RUN + '", "note": "\\u0000"}')
    refused(cli("ingest-file", "--strict", str(run)), conn, "snapshot.json", "NUL")
