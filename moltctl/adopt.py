"""``adopt``: take over a database built by hand from the spec's DDL, in place, nothing lost.

The spec tells its readers to create the schema themselves; such a database has the spec's
eight tables (ordinary, unpartitioned, no cascades, no SCD2 constraints) and none of moltctl's
bookkeeping. ``plan`` recognises it from the catalog and says what adopt would change;
``adopt`` converts it step by step, one transaction per table:

1. ``moltctl_adopt_changes`` (the original of every value adopt changes) and moltctl's own
   objects of migration 001 (``dimensions``, the observation logs, ...), run from 001's text;
2. ``snapshots``: the status CHECK;
3. ``agents``, ``submolts``: SCD2 repairs (only with ``repair``), 001's constraints and
   indexes, and the observation logs derived from the versions (each version observed at its
   valid_from), so that a run ingested later (older or newer) lands in the right place;
4. the five high-volume tables: every row gets its snapshot's time (original kept), then
   migration 003 converts the table by ATTACHING it as a partition (no row copied);
5. 001 is recorded as applied; 002, 003 (finds nothing left to convert), 004 and any later
   migration run as ``migrate`` runs them; views are regenerated, partitions created ahead.

Each table's step computes its row count and content checksum (every column the user had,
ids included; changed values read back from ``moltctl_adopt_changes``) before and after, in
the same transaction, and rolls back on a difference. A step that committed is recognised
when adopt runs again, so a killed adopt leaves the database adoptable again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from moltctl import locks, migrations, partitions, schema, sqlfiles, views
from moltctl.errors import MoltError, UsageError
from moltctl.ingest.staging import ENTITIES
from moltctl.rows import dicts
from moltctl.session import session
from moltctl.sqlrun import database_errors, run_script

SPEC_TABLES = migrations.SPEC_TABLES
BIG = partitions.PARTITIONED  # table -> partition key (the snapshot's time)
ENTITY_TABLES = ("agents", "submolts")
SPEC_VIEWS = views.VIEWS  # the spec's three materialized views, replaced by moltctl's
# columns whose one row per snapshot moltctl makes a key (README differs, 8)
PER_SNAPSHOT = {
    "posts": "external_id",
    "comments": "external_id",
    "agent_score_history": "agent_id",
}
# the spec's own 002 (spec "Adding New Dimension") adds this column; it is kept as it is
SPEC_002_COLUMN = "has_high_new_dimension"
CHANGES = "moltctl_adopt_changes"
REPAIRS = ("chain",)
ADOPTED_VERSION = "001"  # adopt establishes 001's effect itself; later migrations then run
_HIDDEN = "{}__adopt_wait"
# rows to align, as a fraction of a table, from which its indexes are rebuilt, not maintained
REBUILD_FRACTION = 0.1

ProgressFn = Callable[[str], None]


@dataclass
class TableInfo:
    name: str
    kind: str  # r: as the spec made it; p: already converted (an earlier, interrupted adopt)
    columns: list[dict] = field(default_factory=list)  # every column: name, type
    extra_columns: list[str] = field(default_factory=list)
    extra_indexes: list[dict] = field(default_factory=list)  # name, definition
    missing_indexes: list[str] = field(default_factory=list)
    rows: int = 0
    null_times: int = 0
    other_times: int = 0
    done: bool = False  # its step committed in an earlier run

    @property
    def misaligned(self) -> int:
        return self.null_times + self.other_times


@dataclass
class Violation:
    table: str
    external_id: str
    version_id: object
    kind: str
    valid_from: object
    valid_to: object

    def line(self) -> str:
        return f"{self.table} {self.external_id}: {self.kind}"


@dataclass
class Plan:
    tables: dict[str, TableInfo] = field(default_factory=dict)
    views: list[str] = field(default_factory=list)
    extensions: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    repair: str | None = None
    resumed: bool = False

    @property
    def rewrite_rows(self) -> int:
        """Rows adopt updates in place (times aligned, SCD2 versions repaired)."""
        repaired = len({(v.table, v.version_id) for v in self.violations}) if self.repair else 0
        return repaired + sum(t.misaligned for t in self.tables.values() if not t.done)

    @property
    def attach_rows(self) -> int:
        """Rows of the big tables that become a partition without being copied."""
        return sum(self.tables[t].rows for t in BIG if not self.tables[t].done)

    def changes(self) -> list[str]:
        """What adopt will change, by README's "Where moltctl differs from the spec" items."""
        out = []
        if "uuid-ossp" in self.extensions:
            out.append("1. uuid-ossp is not needed (gen_random_uuid() is built in); it is kept")
        big = [t for t in BIG if not self.tables[t].done]
        if big:
            out.append(
                "3. posts, comments, evaluations and score history reference "
                "snapshots (id, created_at) ON DELETE CASCADE (migration 004)"
            )
        if self.views:
            out.append(
                "4, 5, 11, 12. the materialized views "
                + ", ".join(self.views)
                + " are replaced by moltctl's (numeric scores, generated from dimensions)"
            )
        out.append("6. SCD2 constraints on agents and submolts (one current version, no overlap)")
        out.append("7. a dimensions table: the spec's four dimensions, manipulation (002)")
        if big:
            out.append(
                "8. one row per entity per snapshot: UNIQUE (snapshot_id, external_id, time)"
            )
            aligned = sum(self.tables[t].misaligned for t in big)
            out.append(
                f"9. NOT NULL times set to the snapshot's time: {aligned} row(s) "
                f"rewritten, originals kept in {CHANGES}"
            )
            out.append(
                "9. monthly partitions: "
                + ", ".join(big)
                + " become partitioned; their rows are ATTACHED as <table>_legacy (not copied)"
            )
            out.append("10. the whole-document GIN indexes on scores are replaced")
        out.append("13. snapshots.status is checked (running, completed, failed)")
        out.append(
            "15. moltctl's tables: agent_observations / submolt_observations (derived from "
            f"the versions), moltctl_migrations, moltctl_view_refreshes, {CHANGES}"
        )
        return out

    def checks(self) -> list[str]:
        return [
            "per table, in the step's transaction: row count and md5 checksum of every column "
            "you had (ids included), before and after; a difference rolls the step back",
            "before anything changes: no duplicate row per entity and snapshot, snapshot "
            "status values, SCD2 invariants of agents and submolts, no other view on the "
            "converted tables",
        ]


@dataclass
class TableCheck:
    table: str
    rows_before: int
    rows_after: int
    checksum_before: str
    checksum_after: str
    seconds: float = 0.0
    action: str = ""

    @property
    def ok(self) -> bool:
        return (self.rows_before, self.checksum_before) == (self.rows_after, self.checksum_after)


@dataclass
class AdoptResult:
    plan: Plan
    dry_run: bool = False
    cancelled: bool = False
    checks: list[TableCheck] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)  # table, column, reason, rows
    applied: list[str] = field(default_factory=list)
    version: str | None = None
    partitions: list[str] = field(default_factory=list)
    seconds: float = 0.0


# ---------------------------------------------------------------- recognising


def _rows(conn, template: str, params: dict | None = None, **ctx) -> list[dict]:
    return dicts(conn.execute(sqlfiles.render(template, **ctx), params))


def _one(conn, template: str, params: dict | None = None, **ctx):
    return conn.execute(sqlfiles.render(template, **ctx), params).fetchone()


def _kinds(conn, names) -> dict[str, str]:
    return {
        r["name"]: r["kind"] for r in _rows(conn, "adopt/relations.sql", {"names": list(names)})
    }


def _moltctl_names() -> set[str]:
    """Index and constraint names migration 001 creates (not the user's extras)."""
    text = _migration(ADOPTED_VERSION).text
    return (
        set(re.findall(r"(?:INDEX|CONSTRAINT)\s+(\w+)", text))
        | {f"{t}_{suffix}" for t in SPEC_TABLES for suffix in ("pkey", "snapshot_id_fkey")}
        | {"snapshots_run_id_key"}
    )  # run_id TEXT UNIQUE: its default name


is_spec_database = migrations.is_spec_database


def plan(conn, repair: str | None = None) -> Plan:
    """Recognise a spec-built schema and work out what adopt would do; changes nothing."""
    p = Plan(repair=repair)
    if migrations.current_version(conn) is not None:
        raise MoltError(
            "the database is already managed by moltctl (schema version "
            f"{migrations.current_version(conn)}): nothing to adopt",
            hint="moltctl migrate applies what is pending",
        )
    kinds = _kinds(conn, (*SPEC_TABLES, *SPEC_VIEWS, CHANGES, "dimensions"))
    missing = [t for t in SPEC_TABLES if kinds.get(t) not in ("r", "p")]
    if len(missing) == len(SPEC_TABLES):
        raise MoltError(
            "the database holds none of the spec's tables: nothing to adopt",
            hint="moltctl init creates the schema on an empty database",
        )
    if missing:
        raise MoltError(
            f"not a schema built from the spec: table {', '.join(missing)} missing",
            hint="adopt takes over the spec's eight tables; create the missing ones from "
            "the spec's DDL first, or use an empty database and moltctl init",
        )
    p.resumed = CHANGES in kinds
    if "dimensions" in kinds and not p.resumed:
        p.blockers.append("a table named dimensions exists (moltctl creates its own)")
    p.views = [v for v in SPEC_VIEWS if kinds.get(v) == "m"]
    p.extensions = [r["extname"] for r in _rows(conn, "adopt/extensions.sql")]
    for t in SPEC_TABLES:
        p.tables[t] = TableInfo(t, kinds[t])
    _columns(conn, p)
    _indexes(conn, p)
    if "has_high_manipulation" in p.tables["agent_score_history"].extra_columns:
        p.blockers.append(
            "agent_score_history.has_high_manipulation exists: moltctl's migration 002 adds it "
            "(rename yours)"
        )
    if p.blockers:
        return p
    for view in _rows(
        conn, "adopt/foreign_views.sql", {"tables": list(BIG), "replaced": list(SPEC_VIEWS)}
    ):
        if p.tables[view["table_name"]].kind == "r":
            p.blockers.append(
                f"view {view['view_name']} reads {view['table_name']}: drop it, run moltctl "
                "adopt, then recreate it"
            )
    for r in _rows(conn, "adopt/snapshot_status.sql"):
        p.blockers.append(
            f"snapshots.status {r['status']!r} in {r['rows']} row(s) is not one of running, "
            "completed, failed"
        )
    _done(conn, p)
    for t, info in p.tables.items():
        info.rows = _one(conn, "adopt/table_rows.sql.j2", table=t)[0]
        if t in BIG and not info.done:
            info.null_times, info.other_times = _one(
                conn, "adopt/misaligned.sql.j2", table=t, key=BIG[t]
            )
        if t in PER_SNAPSHOT and not info.done:
            dup = _rows(conn, "adopt/duplicates.sql.j2", table=t, entity=PER_SNAPSHOT[t])
            if dup:
                d = dup[0]
                p.blockers.append(
                    f"{t} has {len(dup)} entity(ies) stored more than once in one snapshot "
                    f"(e.g. {PER_SNAPSHOT[t]} {d['entity']!r} {d['copies']} times in snapshot "
                    f"{d['snapshot_id']}): moltctl keeps one row per entity per snapshot"
                )
    for t in ENTITY_TABLES:
        if not p.tables[t].done:
            p.violations += [
                Violation(t, r["external_id"], r["id"], r["kind"], r["valid_from"], r["valid_to"])
                for r in _rows(conn, "adopt/scd2_violations.sql.j2", table=t)
            ]
    return p


def _columns(conn, p: Plan) -> None:
    for r in _rows(conn, "adopt/columns.sql"):
        info = p.tables[r["table_name"]]
        if r["actual"] is None:
            p.blockers.append(f"column {r['table_name']}.{r['column_name']} missing")
            continue
        info.columns.append({"name": r["column_name"], "type": r["actual"]})
        if r["expected"] is None:
            info.extra_columns.append(r["column_name"])
        elif r["expected"] != r["actual"]:
            p.blockers.append(
                f"column {r['table_name']}.{r['column_name']} is {r['actual']}, the spec "
                f"says {r['expected']}"
            )


# the spec's keys, under PostgreSQL's default names for its DDL: ids, run ids and versions
SPEC_KEYS = tuple(f"{t}_pkey" for t in SPEC_TABLES) + (
    "snapshots_run_id_key",
    "unique_agent_version",
    "unique_submolt_version",
)


def _indexes(conn, p: Plan) -> None:
    ours = _moltctl_names()
    rows = _rows(conn, "adopt/indexes.sql")
    keys = {r["constraint_name"] for r in rows}
    for name in SPEC_KEYS:
        if name not in keys:
            p.blockers.append(f"the spec's key {name} is missing (its uniqueness is relied on)")
    for r in rows:
        info = p.tables[r["table_name"]]
        if r["definition"] is None:
            info.missing_indexes.append(r["index_name"])
        elif (
            not r["in_spec"]
            and r["index_name"] not in ours
            and not (info.kind == "p" or r["index_name"].startswith("legacy_"))
        ):
            if r["is_unique"] and r["table_name"] in BIG:
                p.blockers.append(
                    f"unique index {r['index_name']} on {r['table_name']} cannot be kept on a "
                    "partitioned table: drop it or add the time column to it"
                )
            info.extra_indexes.append({"name": r["index_name"], "definition": r["definition"]})


def _done(conn, p: Plan) -> None:
    """Which steps an earlier, interrupted adopt committed."""
    for t, info in p.tables.items():
        if t in BIG:
            info.done = info.kind == "p"
        elif t in ENTITY_TABLES:
            info.done = _exists_constraint(conn, t, f"{t}_no_overlap")
        else:
            info.done = _exists_constraint(conn, t, "snapshots_status_check")


def _exists_constraint(conn, table: str, name: str) -> bool:
    return bool(_one(conn, "adopt/constraint_exists.sql", {"table": table, "name": name})[0])


# ---------------------------------------------------------------- adopting


def adopt(
    target,
    *,
    dry_run: bool = False,
    repair: str | None = None,
    confirm: Callable[[Plan], bool] | None = None,
    progress: ProgressFn | None = None,
    lock_timeout: float = locks.WAIT,
    months_ahead: int = 3,
) -> AdoptResult:
    """Recognise, then (unless ``dry_run``) convert a spec-built database in place.

    Raises MoltError, changing nothing, when the schema is not recognised, when something
    moltctl's keys forbid is found (listed), or when SCD2 versions break the invariants and no
    ``repair`` policy is given. ``confirm(plan)`` is asked before the first change.
    """
    if repair is not None and repair not in REPAIRS:
        raise UsageError(f"--repair {repair!r}: unknown policy (the policies are chain)")
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    with session(
        target, locks.MIGRATE, lock_timeout=lock_timeout, check_schema=False, autocommit=False
    ) as conn:
        conn.execute("SET TimeZone = 'UTC'")  # the text of a kept original time is exact
        p = plan(conn, repair)
        conn.commit()
        result = AdoptResult(plan=p, dry_run=dry_run)
        if dry_run:
            return result
        _refuse(p)
        if confirm is not None and not confirm(p):
            result.cancelled = True
            return result
        say(
            f"adopting: {p.rewrite_rows} row(s) to rewrite in place, {p.attach_rows} row(s) "
            "to attach as partitions without copying"
        )
        _prepare(conn, say)
        for i, t in enumerate(SPEC_TABLES, 1):
            label = f"[{i}/{len(SPEC_TABLES)}] {t}"
            if any(v.table == t for v in p.violations):
                _repair(conn, p, t, label, say)
            result.checks.append(_step(conn, p, t, label, say))
        say("recording migration 001 as applied; running the later migrations")
        with conn.transaction():
            conn.execute(sqlfiles.render("migration_history/create.sql"))
            m = _migration(ADOPTED_VERSION)
            conn.execute(
                sqlfiles.render("migration_history/record.sql"),
                {
                    "version": m.version,
                    "name": m.name,
                    "checksum": m.checksum,
                    "duration_ms": (time.perf_counter() - started) * 1000,
                    "transactional": m.transactional,
                },
            )
        conn.commit()

        def applied(mig, ms, notices):
            say(f"applied {mig.label} ({ms:.0f} ms)")
            for text in notices:
                say(f"  {mig.label}: {text}")

        done = schema.apply_migrations(conn, on_applied=applied)
        result.applied = [ADOPTED_VERSION + "_" + m.name] + [x.label for x, _ in done.applied]
        result.version = done.current_version
        with conn.transaction():
            before = set(partitions.existing(conn))
            result.partitions = [
                n
                for n in partitions.ensure_ahead(conn, months_ahead=months_ahead)
                if n not in before
            ]
        _final_check(conn, p, result, say)
        result.changes = _rows(conn, "adopt/changes_summary.sql")
        conn.commit()
    result.seconds = time.perf_counter() - started
    return result


def _refuse(p: Plan) -> None:
    if p.blockers:
        more = f" (and {len(p.blockers) - 1} more)" if len(p.blockers) > 1 else ""
        raise MoltError(
            f"cannot adopt: {p.blockers[0]}{more}; nothing changed",
            hint="moltctl adopt --dry-run lists everything it found",
        )
    if p.violations and p.repair is None:
        shown = "; ".join(v.line() for v in p.violations[:10])
        more = f"; and {len(p.violations) - 10} more" if len(p.violations) > 10 else ""
        raise MoltError(
            f"{len(p.violations)} SCD2 violation(s), nothing changed: {shown}{more}",
            hint="fix them, or pass --repair chain (each version ends where the next one "
            "starts; docs/adopt.md); moltctl adopt --dry-run lists them all",
        )


def _migration(version: str):
    return next(m for m in migrations.discover() if m.version == version)


def _statements_001():
    """Migration 001's statements, each with the object it creates or fills."""
    out = []
    for _, stmt in sqlfiles.split_statements(_migration(ADOPTED_VERSION).text):
        code = re.sub(r"--[^\n]*\n", "", stmt + "\n").strip()
        m = re.match(
            r"(?:CREATE (?:UNIQUE )?INDEX (\w+) ON (\w+)|CREATE TABLE (\w+)|INSERT INTO (\w+)|"
            r"CREATE EXTENSION)",
            code,
        )
        if not m:
            continue
        index, on, table, into = m.groups()
        out.append({"index": index, "table": on or table or into, "sql": code})
    return out


def _prepare(conn, say: ProgressFn) -> None:
    """The changes table and moltctl's own objects of 001 (one transaction)."""
    with conn.transaction():
        conn.execute(sqlfiles.render("adopt/changes_table.sql"))
        if not _kinds(conn, ["dimensions"]):
            say("creating moltctl's own tables (dimensions, observation logs, ...)")
            for s in _statements_001():
                if s["table"] is None or s["table"] in schema.OWN_TABLES:
                    conn.execute(s["sql"])


def _checksum(conn, t: str, p: Plan) -> tuple[int, str]:
    changeable = [BIG[t]] if t in BIG else ["valid_to", "is_current"] if t in ENTITY_TABLES else []
    has_changes = bool(_kinds(conn, [CHANGES]))
    rows, total = _one(
        conn,
        "adopt/checksum.sql.j2",
        {"table": t},
        table=t,
        columns=p.tables[t].columns,
        changeable=changeable if has_changes else [],
    )
    return rows, f"{int(total) % 2**64:016x}"


def _step(conn, p: Plan, t: str, label: str, say: ProgressFn, work=None) -> TableCheck:
    """One table, one transaction: lock, checksum, change (``work``), checksum, compare."""
    clock = time.perf_counter()
    info = p.tables[t]
    with conn.transaction():
        conn.execute(sqlfiles.render("adopt/lock_table.sql.j2", table=t))
        rows, before = _checksum(conn, t, p)
        if work is not None:
            action = work()
        elif info.done:
            action = "done in an earlier run"
        elif t in BIG:
            action = _convert_big(conn, p, t, label, say)
        elif t in ENTITY_TABLES:
            action = _convert_entity(conn, t, label, say)
        else:
            conn.execute(sqlfiles.render("adopt/snapshots_constraints.sql"))
            _missing_001_indexes(conn, t)
            action = "status checked"
        rows_after, after = _checksum(conn, t, p)
        check = TableCheck(t, rows, rows_after, before, after, action=action)
        if not check.ok:
            raise MoltError(
                f"adopt stopped at {t}: {rows} row(s) checksum {before} before, {rows_after} "
                f"row(s) checksum {after} after; rolled back this table",
                hint="nothing of this table changed; report this as a bug",
            )
    check.seconds = time.perf_counter() - clock
    say(f"{label}: {action}; {rows} row(s), checksum {after} unchanged ({check.seconds:.1f} s)")
    return check


def _repair(conn, p: Plan, t: str, label: str, say: ProgressFn) -> TableCheck:
    """SCD2 repairs commit on their own, before the constraints are added: an index build
    also reads the rows' old versions, whose ranges (valid_to before valid_from) it refuses."""
    bad = [v for v in p.violations if v.table == t]

    def work() -> str:
        say(f"{label}: repairing {len(bad)} SCD2 violation(s) ({p.repair})")
        with database_errors():
            run_script(conn, f"adopt/scd2_repair_{p.repair}.sql.j2", {"table": t}, table=t)
        return f"{len(bad)} SCD2 violation(s) repaired"

    return _step(conn, p, t, label, say, work)


def _missing_001_indexes(conn, t: str) -> None:
    have = set(_kinds(conn, [s["index"] for s in _statements_001() if s["index"]]))
    for s in _statements_001():
        if s["index"] and s["table"] == t and s["index"] not in have:
            conn.execute(s["sql"])


def _convert_entity(conn, t: str, label: str, say: ProgressFn) -> str:
    say(f"{label}: adding SCD2 constraints")
    with database_errors():
        run_script(conn, "adopt/scd2_constraints.sql.j2", table=t)
    _missing_001_indexes(conn, t)
    e = next(e for e in ENTITIES if e["table"] == t)
    n = conn.execute(sqlfiles.render("adopt/observations.sql.j2", e=e)).rowcount
    return f"constraints added, {n} observation(s) derived"


def _drop_indexes(conn, t: str, every: bool) -> None:
    """Before the update that aligns the times: the spec's GIN on the whole scores document
    (003 replaces it anyway), the most expensive index to maintain; and when many rows change,
    every index and the id key: 003 then builds 001's indexes once (and adopt yours) instead
    of the update inserting an entry per changed row into each."""
    for r in _rows(conn, "adopt/indexes.sql"):
        if r["table_name"] != t or r["definition"] is None:
            continue
        if not (every or r["definition"].endswith("USING gin (scores)")):
            continue
        if r["constraint_name"] is None:
            conn.execute(sqlfiles.render("adopt/drop_index.sql.j2", name=r["index_name"]))
        elif r["constraint_name"] == f"{t}_pkey":  # 003 drops the id-only key anyway
            conn.execute(
                sqlfiles.render("adopt/drop_constraint.sql.j2", table=t, constraint=f"{t}_pkey")
            )


def _convert_big(conn, p: Plan, t: str, label: str, say: ProgressFn) -> str:
    info = p.tables[t]
    key = BIG[t]
    if info.misaligned:
        _drop_indexes(conn, t, every=info.misaligned >= REBUILD_FRACTION * info.rows)
        say(f"{label}: setting {info.misaligned} {key} value(s) to their snapshot's time")
        with database_errors():
            run_script(conn, "adopt/align.sql.j2", {"table": t, "key": key}, table=t, key=key)
    say(f"{label}: attaching {info.rows} row(s) as {t}_legacy (migration 003's conversion)")
    # 003 converts every ordinary table it finds under the five names; the others step aside
    # for this transaction so that each table is converted (and committed) on its own
    others = [o for o in BIG if o != t and not p.tables[o].done]
    for o in others:
        conn.execute(sqlfiles.render("adopt/rename_table.sql.j2", old=o, new=_HIDDEN.format(o)))
    for _, stmt in sqlfiles.split_statements(_migration("003").text):
        conn.execute(stmt)
    for o in others:
        conn.execute(sqlfiles.render("adopt/rename_table.sql.j2", old=_HIDDEN.format(o), new=o))
    # 003 keeps only the indexes of 001; the user's own are rebuilt on the partitioned table
    for ix in info.extra_indexes:
        conn.execute(ix["definition"])
    info.kind = "p"
    return f"{info.misaligned} time(s) aligned, {info.rows} row(s) attached" + (
        f", {len(info.extra_indexes)} index(es) of yours rebuilt" if info.extra_indexes else ""
    )


def _final_check(conn, p: Plan, result: AdoptResult, say: ProgressFn) -> None:
    """After every migration ran: the same counts and checksums as before the first step."""
    for check in result.checks:
        rows, total = _checksum(conn, check.table, p)
        check.rows_after, check.checksum_after = rows, total
        if not check.ok:
            raise MoltError(
                f"{check.table}: {check.rows_before} row(s) checksum {check.checksum_before} "
                f"before adopt, {rows} row(s) checksum {total} now",
                hint="every step was verified and committed; report this as a bug",
            )
    say("checked: every table has the rows and content it had")
