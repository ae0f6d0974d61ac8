"""moltctl generate (needs no database)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from moltctl.cli import app


def _run(runner, *args):
    return runner.invoke(app, ["generate", *args])


def test_generate_dirs_prints_paths(runner, tmp_path):
    result = _run(runner, str(tmp_path), "--runs", "2", "--posts", "20", "--agents", "60")
    assert result.exit_code == 0, result.output
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert len(paths) == 2 and all(p.is_dir() for p in paths)
    assert paths[0].name < paths[1].name  # oldest first
    assert (paths[0] / "meta" / "snapshot.json").is_file()
    assert "20 posts" in result.stderr and paths[0].name in result.stderr


def test_generate_gzip_bundle_with_options(runner, tmp_path):
    result = _run(
        runner,
        str(tmp_path),
        "--runs",
        "1",
        "--posts",
        "10",
        "--agents",
        "30",
        "--comments-per-post",
        "2",
        "--seed",
        "9",
        "--start",
        "2026-02-01T08:00:00",
        "--format",
        "bundle",
        "--gzip",
        "--dialect",
        "extracted",
        "--hazards",
        "all",
        "--hazard-rate",
        "0.5",
    )
    assert result.exit_code == 0, result.output
    (path,) = [Path(line) for line in result.stdout.splitlines()]
    assert path.name.startswith("20260201T080") and path.name.endswith(".ndjson.gz")
    with gzip.open(path, "rt", encoding="utf-8", errors="surrogatepass") as fh:
        first = json.loads(fh.readline())
        rest = [json.loads(line) for line in fh]
    assert first["type"] == "snapshot" and first["run_id"] == path.name[:16]
    assert any(r["type"] == "post" and "post_external_id" in r for r in rest)
    assert "hazards" in result.stderr


def test_generate_same_seed_same_output(runner, tmp_path):
    for name in ("a", "b"):
        result = _run(runner, str(tmp_path / name), "-n", "1", "-f", "bundle", "--seed", "4")
        assert result.exit_code == 0, result.output
    (a,) = (tmp_path / "a").iterdir()
    (b,) = (tmp_path / "b").iterdir()
    assert a.name == b.name and a.read_bytes() == b.read_bytes()


def test_generate_quiet(runner, tmp_path):
    result = runner.invoke(app, ["--quiet", "generate", str(tmp_path), "-n", "1", "--posts", "5"])
    assert result.exit_code == 0
    assert result.stderr == "" and len(result.stdout.splitlines()) == 1


def test_generate_bad_options_are_one_line_errors(runner, tmp_path):
    cases = [
        (["--hazards", "nul,bogus"], "unknown hazard bogus"),
        (["--start", "yesterday"], "is not a time"),
        (["--gzip"], "bundles only"),
    ]
    for extra, message in cases:
        result = _run(runner, str(tmp_path / "x"), *extra)
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.stderr
        assert "Traceback" not in result.output
        assert not (tmp_path / "x").exists()
    result = _run(runner, str(tmp_path / "x"), "--format", "csv")
    assert result.exit_code == 2


def test_generate_help_has_an_example(runner):
    result = runner.invoke(app, ["generate", "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout
