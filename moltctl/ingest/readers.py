"""Find the snapshots in the given paths and stream their records into a sink.

Inputs: a run directory (layout A or B), a directory holding run directories, or a bundle
(NDJSON, optionally gzipped: first line ``{"type": "snapshot", ...}``, then typed records).
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from moltctl.ingest import records as rec
from moltctl.ingest.clean import INCOMPLETE, InputError, Warnings, parse

_RUN_ID = re.compile(r"^(\d{8}T\d{6})(?:\.\d+)?Z$")
RUN_MARKERS = (
    "raw/posts_list.json",
    "raw/agents_list.json",
    "raw/submolts_list.json",
    "raw/all_comments.json",
    "gold/evals.jsonl",
)

Progress = Callable[[int], None]


def run_time(run_id: str) -> dt.datetime | None:
    """The time a run id names (``20260130T170118Z``), or None if it names none."""
    m = _RUN_ID.match(run_id)
    if m:
        try:
            return dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)
        except ValueError:
            return None
    return None


def _parse_time(value, where: str) -> dt.datetime:
    if not isinstance(value, str):
        raise InputError(f"{where}: expected a timestamp string, got {value!r}")
    try:
        ts = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"{where}: timestamp {value!r} does not parse") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)


def _time_for(run_id: str, explicit, where: str) -> dt.datetime:
    if explicit is not None:
        return _parse_time(explicit, where)
    ts = run_time(run_id)
    if ts is None:
        raise InputError(
            f"{where}: run id {run_id!r} is not a time (expected e.g. 20260130T170118Z)",
            hint="name the run directory by its UTC time, or give meta/snapshot.json a 'timestamp'",
        )
    return ts


@dataclass
class Source:
    """One snapshot to load: a run directory or a bundle file."""

    path: Path
    kind: str  # "run" | "bundle"
    run_id: str
    created_at: dt.datetime
    site_stats: dict = field(default_factory=dict)
    size: int = 0

    def feed(self, sink: rec.Sink, warns: Warnings, progress: Progress | None = None) -> None:
        if self.kind == "bundle":
            _feed_bundle(self, sink, warns, progress)
        else:
            _feed_run(self, sink, warns, progress)


def _read_json(path: Path, warns: Warnings):
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    return parse(data, str(path), warns)


def _envelope(value, path: Path, key: str) -> list:
    """A list, or an API envelope ``{key: [...]}``."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        inner = value.get(key)
        if isinstance(inner, list):
            return inner
        if inner is None:
            raise InputError(f"{path}: expected a list or an object with '{key}' (field '{key}')")
        raise InputError(f"{path}: field '{key}': expected a list, got {rec._type_name(inner)}")
    raise InputError(f"{path}: expected a list or an object with '{key}'")


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and (
        any((path / m).is_file() for m in RUN_MARKERS)
        or any((path / "raw").glob("post_*.json"))
        or (path / "raw" / "posts").is_dir()
    )


def _run_source(path: Path) -> Source:
    meta_path = path / "meta" / "snapshot.json"
    meta: dict = {}
    if meta_path.is_file():
        value = _read_json(meta_path, Warnings())
        if not isinstance(value, dict):
            raise InputError(f"{meta_path}: expected an object")
        meta = value
    run_id = meta.get("run_id") or path.name
    if not isinstance(run_id, str):
        raise InputError(f"{meta_path}: field 'run_id': expected a string")
    explicit = meta.get("timestamp") or meta.get("created_at")
    created = _time_for(run_id, explicit, str(meta_path if explicit else path))
    stats = meta.get("site_stats")
    if not isinstance(stats, dict):
        stats = {
            k: v
            for k, v in meta.items()
            if k not in ("run_id", "timestamp", "created_at") and not isinstance(v, dict | list)
        }
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return Source(path, "run", run_id, created, dict(stats), size)


def _open_bundle(path: Path):
    raw = path.open("rb")
    if path.suffix == ".gz":
        return raw, gzip.GzipFile(fileobj=raw, mode="rb")
    return raw, raw


def _bundle_source(path: Path) -> Source:
    raw, stream = _open_bundle(path)
    with raw:
        try:
            first = b""
            lineno = 0
            for line in stream:
                lineno += 1
                if line.strip():
                    first = line
                    break
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{path}: cannot read ({exc})") from None
    where = f"{path}: line {lineno or 1}"
    if not first:
        raise InputError(f"{path}: empty bundle (expected a first line of type 'snapshot')")
    head = parse(first, where, Warnings())
    if not isinstance(head, dict) or head.get("type") != "snapshot":
        raise InputError(f'{where}: the first record must be {{"type": "snapshot", "run_id": ...}}')
    run_id = head.get("run_id")
    if not isinstance(run_id, str) or not run_id:
        raise InputError(f"{where}: record without its id (field 'run_id')")
    created = _time_for(run_id, head.get("created_at"), where)
    stats = head.get("site_stats") or {}
    if not isinstance(stats, dict):
        raise InputError(f"{where}: field 'site_stats': expected an object")
    return Source(path, "bundle", run_id, created, dict(stats), _bundle_size(path))


def _bundle_size(path: Path) -> int:
    """Bytes a bundle holds uncompressed: for gzip, the trailer's size (mod 2**32, so raised
    to at least the compressed size); progress counts uncompressed bytes."""
    size = path.stat().st_size
    if path.suffix != ".gz" or size < 18:
        return size
    with path.open("rb") as fh:
        fh.seek(-4, 2)
        isize = int.from_bytes(fh.read(4), "little")
    while isize < size:
        isize += 1 << 32
    return isize


def discover(paths: list[str | Path]) -> list[Source]:
    """The snapshots in ``paths``, in run-time order. Bad paths raise InputError."""
    out: list[Source] = []
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        if path.is_file():
            out.append(_bundle_source(path))
        elif is_run_dir(path):
            out.append(_run_source(path))
        else:
            children = sorted(c for c in path.iterdir() if is_run_dir(c))
            if not children:
                what = "an empty directory" if not any(path.iterdir()) else "not a run directory"
                raise InputError(
                    f"{path}: {what} (expected raw/posts_list.json etc., or run directories)"
                )
            out.extend(_run_source(c) for c in children)
    seen: dict[str, Path] = {}
    for s in out:
        if s.run_id in seen:
            raise InputError(f"{s.path}: run {s.run_id} is also given as {seen[s.run_id]}")
        seen[s.run_id] = s.path
    return sorted(out, key=lambda s: (s.created_at, s.run_id))


def _feed_list(path: Path, key: str, fn, sink, warns, progress, **kw) -> None:
    if not path.is_file():
        return
    items = _stream_list(path, warns, progress)
    if items is None:  # not a plain list of objects: an envelope, parsed whole
        items = _envelope(_read_json(path, warns), path, key)
        if progress:
            progress(path.stat().st_size)
    for i, d in enumerate(items):
        fn(d, f"{path}: {key}[{i}]", warns, sink, **kw)


# where a top-level element may end: a closing brace followed by the list's , or ]
_ELEMENT_END = re.compile(rb"\}\s*[,\]]")
_SPACE = b" \t\r\n"


def _stream_list(path: Path, warns: Warnings, progress, chunk: int = 1 << 20):
    """The objects of a file holding one JSON list, parsed one at a time (bounded memory:
    all_comments.json of a big pull is hundreds of MB), or None if the file does not start as a
    list of objects (the caller parses it whole).

    Each element is cut at a closing brace followed by ``,`` or ``]`` and parsed; a cut inside
    a string or a nested object is not one whole value, so the cut moves to the next candidate.
    A complete JSON value is never the prefix of a longer one, so the first cut that parses is
    the element. Text that is not valid JSON gets the whole-file parse's error (same message
    and position as without streaming).
    """
    fh = path.open("rb")
    head = fh.read(max(chunk, 1 << 16))  # enough to see how the file starts
    lead = head.lstrip(_SPACE)
    if not lead.startswith(b"[") or lead[1:].lstrip(_SPACE)[:1] not in (b"{", b"]"):
        fh.close()
        return None
    if progress:
        progress(len(head))

    def more(buf: bytearray) -> bool:
        data = fh.read(chunk)
        if progress and data:
            progress(len(data))
        buf.extend(data)
        return bool(data)

    def rest_is_blank(buf: bytearray, start: int) -> bool:
        while more(buf):
            pass
        return not buf[start:].strip(_SPACE)

    def items():
        ok = False
        with fh:
            buf = bytearray(head)
            start = buf.index(b"[") + 1
            first = True
            while True:
                while True:  # skip the blanks before the next element
                    while start < len(buf) and buf[start] in _SPACE:
                        start += 1
                    if start < len(buf) or not more(buf):
                        break
                if start < len(buf) and buf[start] == ord("]") and first:  # []
                    ok = rest_is_blank(buf, start + 1)
                    break
                if start >= len(buf) or buf[start] != ord("{"):
                    break  # truncated, or not an object
                try:
                    value, end = _next_element(buf, start, str(path), warns, more)
                except InputError:
                    break  # not valid JSON: the whole-file parse below says where
                if value is INCOMPLETE:
                    break  # truncated
                yield value
                first = False
                start = end + 1  # past the , or ]
                if buf[end] == ord("]"):
                    ok = rest_is_blank(buf, start)
                    break
                if start > chunk:  # drop what was consumed (amortised: one copy per chunk)
                    del buf[:start]
                    start = 0
        if not ok:
            _read_json(path, warns)  # raises the whole-file parse's error
            raise InputError(f"{path}: expected a list of objects")

    return items()


def _next_element(buf: bytearray, start: int, where: str, warns: Warnings, more):
    """(value, index of the , or ] after it) of the object starting at ``start``."""
    pos = start
    while True:
        m = _ELEMENT_END.search(buf, pos)
        if m is None:
            if not more(buf):
                return INCOMPLETE, -1
            continue
        cut = m.start() + 1
        value = parse(bytes(buf[start:cut]), where, warns, cut=True)
        if value is not INCOMPLETE:
            return value, m.end() - 1
        pos = cut


def _feed_jsonl(path: Path, fn, sink, warns, progress) -> None:
    if not path.is_file():
        return
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                where = f"{path}: line {lineno}"
                fn(parse(line, where, warns), where, warns, sink)
            if progress:
                progress(len(line))


def _feed_run(src: Source, sink, warns: Warnings, progress) -> None:
    raw = src.path / "raw"
    _feed_list(raw / "agents_list.json", "agents", rec.agent, sink, warns, progress)
    _feed_list(raw / "submolts_list.json", "submolts", rec.submolt, sink, warns, progress)
    _feed_list(raw / "posts_list.json", "posts", rec.post, sink, warns, progress)
    details = sorted(raw.glob("post_*.json")) + sorted((raw / "posts").glob("*.json"))
    for path in details:
        rec.post_detail(_read_json(path, warns), str(path), warns, sink)
        if progress:
            progress(path.stat().st_size)
    _feed_list(raw / "all_comments.json", "comments", rec.comment_flat, sink, warns, progress)
    gold = src.path / "gold"
    _feed_jsonl(gold / "evals.jsonl", rec.post_evaluation, sink, warns, progress)
    _feed_jsonl(gold / "comment_evals.jsonl", rec.comment_evaluation, sink, warns, progress)


def _feed_bundle(src: Source, sink, warns: Warnings, progress) -> None:
    raw, stream = _open_bundle(src.path)
    done = last = 0  # uncompressed bytes read, and reported
    with raw:
        started = False
        lineno = 0
        try:
            for line in stream:
                lineno += 1
                done += len(line)
                if progress and lineno % 2048 == 0:
                    progress(done - last)
                    last = done
                if not line.strip():
                    continue
                if not started:
                    started = True  # the header, read by discover()
                    continue
                where = f"{src.path}: line {lineno}"
                value = parse(line, where, warns)
                if not isinstance(value, dict):
                    raise InputError(f"{where}: expected an object with a 'type'")
                kind = value.get("type")
                handler = rec.HANDLERS.get(kind) if isinstance(kind, str) else None
                if handler is None:
                    if kind is None:
                        raise InputError(f"{where}: record without its type (field 'type')")
                    if kind == "snapshot":
                        raise InputError(f"{where}: a second 'snapshot' record in one bundle")
                    continue  # unknown record types are ignored, like unknown fields
                handler(value, where, warns, sink)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(
                f"{src.path}: line {lineno}: cannot read ({exc}; truncated file?)"
            ) from None
    if progress:
        progress(done - last)
