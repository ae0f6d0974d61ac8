"""Fuzzing ingest: corrupted and hostile versions of runs and bundles written by moltctl's
generator (issue 9: "a fuzz corpus ... asserting: exit non-zero, one line, no traceback, no rows
loaded, invariants intact").

Each case is made from a seed (seeded ``random``: the same seed, the same case; a failure
prints it). Where the outcome follows from the mutation it is asserted exactly (a cut inside
line 7 is an error naming line 7; NaN in a count is loaded as null with a warning); where it
does not (random byte flips), the contract is: loaded completely, or refused with one line
naming the file, nothing of the run loaded; never any other exception.

The default run takes a fast sample (``FAST`` cases) through the core and a few through the CLI;
``-m slow`` runs ``SLOW`` cases.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from moltctl.errors import MoltError
from moltctl.ingest import InputError, ingest_paths
from moltctl.synth import generate_runs
from tests.helpers.ingest import assert_invariants, data_counts, rows

# a hang (a FIFO read blocks forever) fails the test instead of the suite
pytestmark = pytest.mark.usefixtures("no_hang")

FAST = 30
SLOW = 400
BASE = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)

DEEP = "[" * 1500 + "]" * 1500
# (JSON text, field kind it is put in) -> expected outcome: ("ok", warning kind or None) or
# ("error", words of the message)
HOSTILE = {
    "int": [
        (str(2**70), ("error", ["out of range"])),
        ("-" + str(2**65), ("error", ["out of range"])),
        ('"12"', ("error", ["expected an integer"])),
        ("1.5", ("error", ["expected an integer"])),
        ("true", ("error", ["expected an integer"])),
        ("NaN", ("ok", "nan")),
        ("-Infinity", ("ok", "nan")),
        ("1e400", ("ok", "nan")),
        ("-7", ("ok", None)),
        ("null", ("ok", None)),
        (DEEP, ("error", ["nested deeper than"])),
    ],
    "text": [
        ('"lone \\ud800 surrogate"', ("ok", "surrogate")),
        ('"nul \\u0000 char"', ("ok", "nul")),
        ('"evil\\u001b]0;pwned\\u0007\\u001b[2J"', ("ok", None)),
        ('"=HYPERLINK(\\"http://x\\")"', ("ok", None)),
        ('"' + "long " * 20000 + '"', ("ok", None)),
        (str(2**70), ("ok", None)),
        ("{}", ("error", ["expected a string"])),
        ("[1, 2]", ("error", ["expected a string"])),
        (DEEP, ("error", ["nested deeper than"])),
    ],
    "time": [
        ('"9999-12-31T23:00:00-05:00"', ("ok", None)),
        ('"0001-01-01T00:00:00+14:00"', ("ok", None)),
        ('"2026-01-30T10:00:00"', ("ok", "naive_ts")),
        ('"2026-13-01T00:00:00Z"', ("error", ["does not parse"])),
        ('"yesterday"', ("error", ["does not parse"])),
        ("12", ("error", ["expected a timestamp string"])),
    ],
}
# the fields of API-shaped records, by record type, that the hostile values go into
FIELDS = {
    "post": {"upvotes": "int", "comment_count": "int", "title": "text", "created_at": "time"},
    "comment": {"upvotes": "int", "content": "text", "created_at": "time"},
    "agent": {"karma": "int", "description": "text", "last_active": "time"},
    "submolt": {"subscriber_count": "int", "description": "text", "created_at": "time"},
}


@dataclass
class Case:
    seed: int
    what: str
    path: Path
    # "ok" | "error" | "either"
    expect: str = "either"
    words: list[str] = field(default_factory=list)
    warning: str | None = None


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fuzz-originals")
    small = {"runs": 1, "agents": 8, "posts": 4, "comments_per_post": 2, "seed": 9}
    return {
        "bundle": generate_runs(root / "b", fmt="bundle", **small)[0],
        "bundle_mixed": generate_runs(root / "m", fmt="bundle", dialect="mixed", **small)[0],
        "gz": generate_runs(root / "g", fmt="bundle", gzip=True, **small)[0],
        "dir": generate_runs(root / "d", **small)[0],
        "dir_a": generate_runs(root / "a", layout="A", dialect="extracted", **small)[0],
    }


def _run_id(i: int) -> tuple[str, str]:
    t = BASE + dt.timedelta(minutes=i)
    return t.strftime("%Y%m%dT%H%M%SZ"), t.isoformat()


def _bundle_lines(src: Path, i: int) -> list[bytes]:
    """The bundle's lines with its header naming run ``i`` (each case is a run of its own)."""
    data = src.read_bytes()
    if src.suffix == ".gz":
        data = gzip.decompress(data)
    lines = data.split(b"\n")
    head = json.loads(lines[0])
    head["run_id"], head["created_at"] = _run_id(i)
    lines[0] = json.dumps(head).encode()
    return lines


def _copy_run(src: Path, dest_root: Path, i: int) -> Path:
    run_id, ts = _run_id(i)
    dest = dest_root / run_id
    shutil.copytree(src, dest)
    meta = dest / "meta" / "snapshot.json"
    if meta.exists():
        value = json.loads(meta.read_text())
        value["run_id"], value["timestamp"] = run_id, ts
        meta.write_text(json.dumps(value))
    return dest


def _hostile_line(line: bytes, rng: random.Random):
    """``line`` with one field set to a hostile value, and the expected outcome; None if the
    record has no field to spoil."""
    rec = json.loads(line)
    fields = FIELDS.get(rec.get("type"), {})
    names = [f for f in fields if f in rec]
    if not names:
        return None
    name = rng.choice(names)
    text, outcome = rng.choice(HOSTILE[fields[name]])
    rec[name] = "\x00MARK\x00"
    out = json.dumps(rec).replace('"\\u0000MARK\\u0000"', text, 1).encode()
    return out, name, outcome


def _bundle_case(seed: int, src: Path, tmp: Path, i: int) -> Case:
    rng = random.Random(seed)
    lines = _bundle_lines(src, i)
    while lines and not lines[-1]:
        lines.pop()
    gz = src.suffix == ".gz"
    path = tmp / (f"case{i}.ndjson" + (".gz" if gz else ""))
    case = Case(seed, "", path)
    n = len(lines)
    kind = rng.choice(
        ["cut_at_line", "cut_in_line", "flip", "hostile", "hostile", "garbage_line", "blanks"]
        + (["gz_cut", "gz_flip"] if gz else [])
    )
    case.what = f"{src.name}: {kind}"
    if kind == "cut_at_line":
        k = rng.randint(1, n)
        lines = lines[:k]
        case.expect, case.words = ("ok", []) if k > 1 else ("error", ["no records"])
    elif kind == "cut_in_line":
        j = rng.randint(2, n)
        line = lines[j - 1]
        lines = [*lines[: j - 1], line[: rng.randint(1, len(line) - 1)]]
        case.expect, case.words = "error", [f"line {j}", "not valid JSON"]
    elif kind == "flip":
        j = rng.randint(2, n)
        b = bytearray(lines[j - 1])
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        lines[j - 1] = bytes(b)
        case.what += f" line {j}"
    elif kind == "hostile":
        order = list(range(2, n + 1))
        rng.shuffle(order)
        for j in order:
            spoiled = _hostile_line(lines[j - 1], rng)
            if spoiled:
                lines[j - 1], name, (case.expect, extra) = spoiled
                case.what += f" line {j} field {name}"
                if case.expect == "error":
                    case.words = [f"line {j}", *extra]
                else:
                    case.warning = extra
                break
    elif kind == "garbage_line":
        j = rng.randint(2, n + 1)
        lines.insert(j - 1, rng.choice([b"garbage", b"{", b"[]", b"42", b'"x"', b"\xff\xfe"]))
        bad = lines[j - 1]
        case.expect = "error"
        case.words = [f"line {j}"] + (["not valid JSON"] if bad in (b"garbage", b"{") else [])
    elif kind == "blanks":
        for _ in range(rng.randint(1, 5)):
            lines.insert(rng.randint(1, len(lines)), rng.choice([b"", b"  ", b"\r", b"\t "]))
        case.expect = "ok"
    data = b"\n".join(lines) + b"\n"
    if gz:
        data = gzip.compress(data, mtime=0)
        if kind == "gz_cut":
            data = data[: rng.randint(1, len(data) - 1)]
            case.expect, case.words = "error", ["cannot read"]
        elif kind == "gz_flip":
            b = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                b[rng.randrange(10, len(b))] ^= 1 << rng.randrange(8)
            data = bytes(b)
    path.write_bytes(data)
    return case


def _dir_case(seed: int, src: Path, tmp: Path, i: int) -> Case:
    rng = random.Random(seed)
    run = _copy_run(src, tmp, i)
    case = Case(seed, "", run)
    files = sorted(p for p in run.rglob("*") if p.is_file() and p.name != "aggregates.json")
    target = rng.choice(files)
    rel = target.relative_to(run)
    kind = rng.choice(["cut", "flip", "odd", "hostile", "hostile"])
    case.what = f"{src.name}/{rel}: {kind}"
    data = target.read_bytes()
    if kind == "cut":
        k = rng.randint(0, len(data) - 1)
        target.write_bytes(data[:k])
        rest = data[k:]
        if target.suffix == ".jsonl":
            if k == 0 or data[k - 1 : k] == b"\n":
                case.expect = "ok"  # whole lines: fewer evaluations
            else:
                line = data[:k].count(b"\n") + 1
                case.expect, case.words = "error", [str(rel), f"line {line}", "not valid JSON"]
        elif not rest.strip():
            case.expect = "ok"
        else:
            case.expect, case.words = "error", [str(rel), "JSON"]
    elif kind == "flip":
        b = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        target.write_bytes(bytes(b))
    elif kind == "odd":
        target.unlink()
        how = rng.choice(["fifo", "dir", "loop"])
        if how == "fifo":
            os.mkfifo(target)
        elif how == "dir":
            target.mkdir()
        else:
            target.symlink_to(target.name)
        case.expect, case.words = "error", [str(rel), "where a file should be"]
    elif kind == "hostile" and target.name in ("posts_list.json", "agents_list.json"):
        value = json.loads(data)
        key = "posts" if "posts" in target.name else "agents"
        items = value if isinstance(value, list) else value[key]
        j = rng.randrange(len(items))
        rec = {"type": key[:-1], **items[j]}
        spoiled = _hostile_line(json.dumps(rec).encode(), rng)
        if spoiled:
            text, name, (case.expect, extra) = spoiled
            items[j] = "\x00ITEM\x00"
            body = json.dumps(value).replace('"\\u0000ITEM\\u0000"', text.decode(), 1)
            target.write_text(body)
            case.what += f" {key}[{j}] field {name}"
            if case.expect == "error":
                # too deep for the parser: an envelope ({"posts": [...]}) is parsed whole, so
                # the file is named but not the element
                element = [] if "nested deeper than" in extra else [f"{key}[{j}]"]
                case.words = [str(rel), *element, *extra]
            else:
                case.warning = extra
    return case


def make_case(seed: int, originals: dict[str, Path], tmp: Path, i: int) -> Case:
    name = random.Random(seed * 7919).choice(sorted(originals))
    src = originals[name]
    if name.startswith("dir"):
        return _dir_case(seed, src, tmp, i)
    return _bundle_case(seed, src, tmp, i)


def check_core(case: Case, target, conn) -> str:
    """Ingest through the core; assert the case's outcome; return "loaded" or "refused"."""
    run_id = _run_id_of(case)
    before = data_counts(conn)
    info = f"seed {case.seed}: {case.what}"
    try:
        result = ingest_paths(target, [case.path], lock_timeout=5)
    except MoltError as exc:
        message = str(exc)
        assert "\n" not in message, (info, message)
        assert isinstance(exc, InputError), (info, message)
        assert case.expect in ("error", "either"), (info, message)
        assert str(case.path) in message, (info, message)
        for word in case.words:
            assert word in message, (info, word, message)
        assert data_counts(conn) == before, info
        assert rows(
            conn,
            "SELECT count(*) FROM snapshots WHERE run_id = %s AND status <> 'failed'",
            [run_id],
        ) == [(0,)], info
        return "refused"
    assert case.expect in ("ok", "either"), (info, "loaded, but expected an error", case.words)
    [snap] = result.snapshots
    assert snap.status == "loaded", info
    kinds = set(snap.warnings.counts)
    if case.expect == "ok":
        assert kinds == ({case.warning} if case.warning else set()), (info, kinds)
    assert rows(conn, "SELECT status FROM snapshots WHERE run_id = %s", [snap.run_id]) == [
        ("completed",)
    ]
    return "loaded"


def _run_id_of(case: Case) -> str:
    m = re.search(r"case(\d+)", case.path.name)
    return _run_id(int(m.group(1)))[0] if m else case.path.name


def _run_cases(seeds, originals, tmp_path, target, conn) -> dict[str, int]:
    seen = {"loaded": 0, "refused": 0}
    for i, seed in enumerate(seeds):
        case = make_case(seed, originals, tmp_path, i)
        seen[check_core(case, target, conn)] += 1
        if i % 50 == 49:
            assert_invariants(conn)
    assert_invariants(conn)
    return seen


def test_fuzz_sample(originals, tmp_path, target, conn):
    seen = _run_cases(range(FAST), originals, tmp_path, target, conn)
    assert seen["loaded"] and seen["refused"], seen  # the sample exercises both outcomes


@pytest.mark.slow
def test_fuzz_many(originals, tmp_path, target, conn):
    seen = _run_cases(range(1000, 1000 + SLOW), originals, tmp_path, target, conn)
    assert seen["loaded"] > SLOW // 10 and seen["refused"] > SLOW // 4, seen


@pytest.mark.parametrize("seed", [3, 11, 17, 23, 42, 57])
def test_fuzz_through_the_cli(originals, tmp_path, cli, conn, seed):
    case = make_case(seed, originals, tmp_path, 500 + seed)
    before = data_counts(conn)
    r = cli("ingest-file", str(case.path))
    out = r.stdout + r.stderr
    assert "Traceback" not in out and "internal error" not in out, out
    assert r.stdout == ""
    if r.exit_code == 0:
        assert case.expect in ("ok", "either"), (case, out)
        return
    assert r.exit_code == 1, out
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and str(case.path) in lines[0], lines
    assert all(ln.startswith("hint: ") for ln in lines[1:]), lines
    assert data_counts(conn) == before
