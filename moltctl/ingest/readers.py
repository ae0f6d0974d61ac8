"""Find the snapshots in the given paths and stream their records: ``(kind, where, dict)``.

Inputs: a run directory (layout A or B), a directory holding run directories or bundles, or a
bundle (NDJSON, optionally gzipped: first line ``{"type": "snapshot", ...}``, then typed records).

Anything odd where a file should be (a FIFO, a device, a directory, a symbolic link loop) is an
InputError naming it, never a blocking read; so is an unreadable file, a line longer than
MAX_LINE bytes, and input without a single record.
"""

from __future__ import annotations

import datetime as dt
import errno
import gzip
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from moltctl.ingest import records as rec
from moltctl.ingest.clean import INCOMPLETE, parse, parse_objects
from moltctl.ingest.errors import InputError, TooDeep, Warnings
from moltctl.timestamps import parse_utc

_RUN_ID = re.compile(r"^(\d{8}T\d{6})(?:\.\d+)?Z$")
RUN_MARKERS = (
    "raw/posts_list.json",
    "raw/agents_list.json",
    "raw/submolts_list.json",
    "raw/all_comments.json",
    "gold/evals.jsonl",
)

BUNDLE_SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")
# one line of a bundle or JSONL file, one element of a JSON list: bounded, so a hostile
# input (1 MB of gzip holding one 1 GiB line) cannot take the machine's memory
MAX_LINE = 64 << 20
# snapshot times whose month and the next one are on the calendar (partition bounds)
EARLIEST = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9999, 12, 1, tzinfo=dt.UTC)

Progress = Callable[[int], None]
# (kind, where, parsed value): what a reader yields, dispatched to a handler by the loader
Record = tuple[str, str, object]


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 and not n % (1 << 20) else f"{n} bytes"


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


_MISSING = ""  # _what_is: nothing there


def _what_is(path: Path) -> str | None:
    """None for a regular file, _MISSING if nothing is there, else what is there."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "a broken symbolic link" if path.is_symlink() else _MISSING
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
        raise
    return None if stat.S_ISREG(mode) else _kind(mode)


def _odd(path: Path) -> str | None:
    """What is at ``path`` if it is neither a regular file nor missing (None otherwise)."""
    return _what_is(path) or None


def _is_input_file(path: Path) -> bool:
    """True for a regular file, False if nothing is there; InputError for anything else (a
    FIFO would block the read forever, a directory is not the file the layout names)."""
    what = _what_is(path)
    if what:
        raise InputError(f"{path}: {what} where a file should be")
    return what is None


def _check_time(ts: dt.datetime, where: str, what: str) -> dt.datetime:
    try:
        utc = ts.astimezone(dt.UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise InputError(
            f"{where}: {what} is outside the supported range of snapshot times "
            "(0001-01-01 to 9999-11-30 UTC)"
        )
    return ts


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
        ts = parse_utc(value)
    except ValueError:
        raise InputError(f"{where}: timestamp {value!r} does not parse") from None
    return _check_time(ts, where, f"{value!r}")


def _time_for(run_id: str, explicit, where: str, field: str = "created_at") -> dt.datetime:
    if explicit is not None:
        return _parse_time(explicit, f"{where}: field '{field}'")
    ts = run_time(run_id)
    if ts is not None:
        return _check_time(ts, where, f"the time of run id {run_id!r}")
    raise InputError(
        f"{where}: run id {run_id!r} is not a time (expected e.g. 20260130T170118Z)",
        hint="name the run directory by its UTC time, or give meta/snapshot.json a 'timestamp'",
    )


@dataclass
class Source:
    """One snapshot to load: a run directory or a bundle file."""

    path: Path
    kind: str  # "run" | "bundle"
    run_id: str
    created_at: dt.datetime
    site_stats: dict = field(default_factory=dict)
    size: int = 0
    # repairs made in the header (bundle's first line, meta/snapshot.json): the run's too
    header_warnings: Warnings = field(default_factory=Warnings)

    def records(self, warns: Warnings, progress: Progress | None = None) -> Iterator[Record]:
        """Every record, as ``(kind, where, parsed value)``: ``kind`` a key of
        ``records.HANDLERS`` (or ``records.POST_DETAIL_KIND``), ``where`` the place errors
        name. InputError for bad or unreadable input, and for input without a single record
        (an empty snapshot is a broken pull, not data)."""
        n = 0
        try:
            read = _bundle_records if self.kind == "bundle" else _run_records
            for record in read(self, warns, progress):
                n += 1
                yield record
        except OSError as exc:
            raise _unreadable(exc, self.path) from None
        except RecursionError:
            raise InputError(f"{self.path}: JSON nested too deep to read") from None
        if n == 0:
            raise InputError(
                f"{self.path}: no records (an empty run loads nothing; refused so that it "
                "does not pose as a snapshot of an empty site)"
            )


def _unreadable(exc: OSError, default: Path) -> InputError:
    where = exc.filename if exc.filename is not None else default
    return InputError(f"{where}: cannot read ({exc.strerror or exc})")


def _read_json(path: Path, warns: Warnings, progress: Progress | None = None):
    _is_input_file(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if progress:
        progress(len(data))
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
    # lexists: a marker that is odd (a FIFO, a loop) still makes a run, refused by name later
    return path.is_dir() and (
        any(os.path.lexists(path / m) for m in RUN_MARKERS)
        or any((path / "raw").glob("post_*.json"))
        or (path / "raw" / "posts").is_dir()
    )


def is_bundle(path: Path) -> bool:
    return path.name.endswith(BUNDLE_SUFFIXES) and not path.is_dir()


def _run_source(path: Path, strict: bool = False) -> Source:
    meta_path = path / "meta" / "snapshot.json"
    meta: dict = {}
    header = Warnings(strict=strict)
    if _is_input_file(meta_path):
        value = _read_json(meta_path, header)
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
    return Source(path, "run", run_id, created, dict(stats), size, header)


def _open_bundle(path: Path):
    raw = path.open("rb")
    if path.suffix == ".gz":
        return raw, gzip.GzipFile(fileobj=raw, mode="rb")
    return raw, raw


# the first byte that is not blank: the blank lines before it are skipped in one step
_NONBLANK = re.compile(rb"[^ \t\r\n\f\v]")


def _lines(stream, path: Path, chunk: int = 1 << 20):
    """(line number, line) of the non-blank lines of a binary stream, each at most MAX_LINE
    bytes (InputError past that, before reading more of it). Read a chunk at a time; a chunk
    of blank lines costs one scan, not a Python loop per line."""
    limit = MAX_LINE
    lineno = 0
    tail = bytearray()
    while True:
        try:
            data = stream.read(chunk)
        except (OSError, EOFError, zlib.error) as exc:
            why = f"{exc}; truncated file?" if isinstance(exc, EOFError) else str(exc)
            raise InputError(f"{path}: line {lineno + 1}: cannot read ({why})") from None
        if not data:
            if _NONBLANK.search(tail):
                yield lineno + 1, bytes(tail)
            return
        end = data.rfind(b"\n")
        if end < 0:
            tail += data
            if len(tail) > limit:
                raise InputError(f"{path}: line {lineno + 1}: longer than {_size(limit)}")
            continue
        tail += data[:end]
        block = bytes(tail)
        tail = bytearray(data[end + 1 :])
        if not _NONBLANK.search(block):
            lineno += block.count(b"\n") + 1
            continue
        for line in block.split(b"\n"):
            lineno += 1
            if len(line) > limit:
                raise InputError(f"{path}: line {lineno}: longer than {_size(limit)}")
            if line.strip():
                yield lineno, line


def _bundle_source(path: Path, strict: bool = False) -> Source:
    raw, stream = _open_bundle(path)
    with raw:
        try:
            first, lineno = b"", 1
            # a small chunk: a file damaged further on is reported where it is damaged
            for lineno, line in _lines(stream, path, 1 << 16):  # noqa: B007 - the first one
                first = line
                break
        except (EOFError, zlib.error) as exc:
            raise InputError(f"{path}: cannot read ({exc})") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    where = f"{path}: line {lineno}"
    if not first:
        raise InputError(f"{path}: empty bundle (expected a first line of type 'snapshot')")
    header = Warnings(strict=strict)
    head = parse(first, where, header)
    if not isinstance(head, dict) or head.get("type") != "snapshot":
        raise InputError(f'{where}: the first record must be {{"type": "snapshot", "run_id": ...}}')
    run_id = head.get("run_id")
    if not isinstance(run_id, str) or not run_id:
        raise InputError(f"{where}: record without its id (field 'run_id')")
    created = _time_for(run_id, head.get("created_at"), where)
    stats = head.get("site_stats") or {}
    if not isinstance(stats, dict):
        raise InputError(f"{where}: field 'site_stats': expected an object")
    return Source(path, "bundle", run_id, created, dict(stats), _bundle_size(path), header)


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


def discover(paths: list[str | Path], *, strict: bool = False) -> list[Source]:
    """The snapshots in ``paths``, in run-time order. Bad paths raise InputError.

    A directory is a run directory, or holds run directories and/or bundles (``.ndjson``,
    ``.ndjson.gz``), each a snapshot. ``strict`` refuses repairs in the headers too.
    """
    try:
        return _discover(paths, strict)
    except OSError as exc:
        raise _unreadable(exc, Path(paths[0]) if paths else Path(".")) from None


def _discover(paths: list[str | Path], strict: bool) -> list[Source]:
    out: list[Source] = []
    for p in paths:
        path = Path(p)
        what = _odd(path)
        if what is not None and what != "a directory":
            raise InputError(f"{path}: {what}, not a bundle or a run directory")
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        if path.is_file():
            out.append(_bundle_source(path, strict))
        elif is_run_dir(path):
            out.append(_run_source(path, strict))
        else:
            entries = sorted(path.iterdir())
            runs = [c for c in entries if is_run_dir(c)]
            bundles = [c for c in entries if c not in runs and is_bundle(c)]
            if not runs and not bundles:
                what = "an empty directory" if not entries else "not a run directory"
                raise InputError(
                    f"{path}: {what} (expected raw/posts_list.json etc., run directories, "
                    "or bundles: .ndjson, .ndjson.gz)"
                )
            out.extend(_run_source(c, strict) for c in runs)
            out.extend(_bundle_source(c, strict) for c in bundles)
    seen: dict[str, Path] = {}
    for s in out:
        if s.run_id in seen:
            raise InputError(f"{s.path}: run {s.run_id} is also given as {seen[s.run_id]}")
        seen[s.run_id] = s.path
    return sorted(out, key=lambda s: (s.created_at, s.run_id))


def _list_records(path: Path, key: str, kind: str, warns, progress) -> Iterator[Record]:
    if not _is_input_file(path):
        return
    items = _stream_list(path, warns, progress, key=key)
    if items is None:  # not a plain list of objects: an envelope, parsed whole
        items = _envelope(_read_json(path, warns), path, key)
        if progress:
            progress(path.stat().st_size)
    for i, d in enumerate(items):
        yield kind, f"{path}: {key}[{i}]", d


# where a top-level element may end: a closing brace followed by the list's , or ]
_ELEMENT_END = re.compile(rb"\}\s*[,\]]")
_SPACE = b" \t\r\n"


def _stream_list(path: Path, warns: Warnings, progress, chunk: int = 1 << 20, key="items"):
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
            i = 0
            one_by_one = 0  # before this index, elements are parsed one at a time
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
                batch = _whole_elements(buf, start) if start >= one_by_one else None
                if batch is not None:
                    values, end = batch
                else:
                    if start >= one_by_one:
                        # one at a time through what is buffered now: a failed parse of it
                        # all per element would cost the buffer's length each time
                        one_by_one = len(buf)
                    try:
                        value, end = _next_element(buf, start, str(path), warns, more)
                    except ElementTooLong:
                        raise InputError(
                            f"{path}: {key}[{i}]: longer than {_size(MAX_LINE)}"
                        ) from None
                    except TooDeep as exc:
                        raise TooDeep(
                            exc.message.replace(f"{path}:", f"{path}: {key}[{i}]:", 1)
                        ) from None
                    except InputError:
                        break  # not valid JSON: the whole-file parse below says where
                    if value is INCOMPLETE:
                        break  # truncated
                    values = (value,)
                yield from values
                i += len(values)
                first = False
                start = end + 1  # past the , or ]
                if buf[end] == ord("]"):
                    ok = rest_is_blank(buf, start)
                    break
                if start > chunk:  # drop what was consumed (amortised: one copy per chunk)
                    del buf[:start]
                    one_by_one -= start
                    start = 0
        if not ok:
            _read_json(path, warns)  # raises the whole-file parse's error
            raise InputError(f"{path}: expected a list of objects")

    return items()


class ElementTooLong(Exception):
    """A list element runs past MAX_LINE bytes."""


BATCH = 1 << 17


def _whole_elements(buf: bytearray, start: int):
    """(the objects from ``start`` to the last one that ends in ``buf``, index of the , or ]
    after it), parsed in one call (the common case: a clean file costs one parse per chunk, not
    per element), or None where they must be parsed one at a time. At most BATCH bytes: the
    parser's working memory is many times the text it is given. A cut that parses is at an
    element's end (see _stream_list); one that does not may be inside a string of the last,
    partial element (a "}," in a comment's code), so a few earlier cuts are tried."""
    end = min(len(buf), start + BATCH)
    tries = 3
    while tries:
        cut = buf.rfind(b"}", start, end)
        if cut < 0:
            return None
        end = cut
        after = cut + 1
        while after < len(buf) and buf[after] in _SPACE:
            after += 1
        if after < len(buf) and buf[after] in b",]":
            values = parse_objects(bytes(buf[start : cut + 1]))
            if values is not None:
                return values, after
            tries -= 1
    return None


def _next_element(buf: bytearray, start: int, where: str, warns: Warnings, more):
    """(value, index of the , or ] after it) of the object starting at ``start``."""
    pos = start
    while True:
        m = _ELEMENT_END.search(buf, pos)
        if m is None:
            if len(buf) - start > MAX_LINE:
                raise ElementTooLong
            if not more(buf):
                return INCOMPLETE, -1
            continue
        cut = m.start() + 1
        if cut - start > MAX_LINE:
            raise ElementTooLong
        value = parse(bytes(buf[start:cut]), where, warns, cut=True)
        if value is not INCOMPLETE:
            return value, m.end() - 1
        pos = cut


def _jsonl_records(path: Path, kind: str, warns, progress) -> Iterator[Record]:
    if not _is_input_file(path):
        return
    with path.open("rb") as fh:
        done = reported = 0  # bytes of the lines read (and of blank lines: at the end)
        for lineno, line in _lines(fh, path):
            where = f"{path}: line {lineno}"
            yield kind, where, parse(line, where, warns)
            if progress:
                done += len(line) + 1
                if lineno % 2048 == 0:  # a call per line (or a tell()) costs more than parsing
                    progress(done - reported)
                    reported = done
        if progress:
            progress(max(0, fh.tell() - reported))


def _run_records(src: Source, warns: Warnings, progress) -> Iterator[Record]:
    raw = src.path / "raw"
    yield from _list_records(raw / "agents_list.json", "agents", "agent", warns, progress)
    yield from _list_records(raw / "submolts_list.json", "submolts", "submolt", warns, progress)
    yield from _list_records(raw / "posts_list.json", "posts", "post", warns, progress)
    details = sorted(raw.glob("post_*.json")) + sorted((raw / "posts").glob("*.json"))
    for path in details:
        yield rec.POST_DETAIL_KIND, str(path), _read_json(path, warns, progress)
    # the evaluations before the flat comment list: parsing it mostly finds comments the
    # details already gave (moltctl.ingest.direct drops them), so the server works through
    # the queued evaluation rows meanwhile instead of waiting. Neutral to the merge: neither
    # file yields a row of a kind and rank the other does.
    gold = src.path / "gold"
    yield from _jsonl_records(gold / "evals.jsonl", "post_evaluation", warns, progress)
    yield from _jsonl_records(gold / "comment_evals.jsonl", "comment_evaluation", warns, progress)
    yield from _list_records(raw / "all_comments.json", "comments", "comment", warns, progress)


def _bundle_records(src: Source, warns: Warnings, progress) -> Iterator[Record]:
    raw, stream = _open_bundle(src.path)
    done = last = 0  # uncompressed bytes read, and reported
    seen = 0
    with raw:
        started = False
        lineno = 0
        try:
            for lineno, line in _lines(stream, src.path):  # noqa: B007 - lineno: in errors
                seen += 1
                done += len(line)
                if progress and seen % 2048 == 0:
                    progress(done - last)
                    last = done
                if not started:
                    started = True  # the header, read by discover()
                    continue
                where = f"{src.path}: line {lineno}"
                value = parse(line, where, warns)
                if not isinstance(value, dict):
                    raise InputError(f"{where}: expected an object with a 'type'")
                kind = value.get("type")
                if not isinstance(kind, str) or kind not in rec.HANDLERS:
                    if kind is None:
                        raise InputError(f"{where}: record without its type (field 'type')")
                    if kind == "snapshot":
                        raise InputError(f"{where}: a second 'snapshot' record in one bundle")
                    continue  # unknown record types are ignored, like unknown fields
                yield kind, where, value
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(
                f"{src.path}: line {lineno}: cannot read ({exc}; truncated file?)"
            ) from None
    if progress:
        progress(max(0, src.size - last))
