"""ingest-file: load pipeline runs (run directories, NDJSON bundles) as snapshots.

Public API::

    from moltctl.ingest import ingest_paths
    result = ingest_paths(target, ["runs/20260130T170118Z"], replace=False, strict=False)

A pipeline: ``readers`` find the snapshots and yield their records ``(kind, where, value)``;
``records`` turns each into typed rows of ``staging`` (both dialects, type checks); ``load``
dispatches each record once, COPies the rows and runs the set-based SQL in named steps.
``clean`` repairs what PostgreSQL refuses (NUL, lone surrogates, NaN) and counts it in
``errors.Warnings``; bad input raises ``errors.InputError``; ``progress`` holds the events
``ingest_paths(progress=fn)`` reports per run and phase.
"""

from __future__ import annotations

from moltctl.ingest.errors import InputError, Warnings
from moltctl.ingest.load import IngestResult, SnapshotResult, ingest_paths, load_source
from moltctl.ingest.progress import Progress
from moltctl.ingest.readers import Source, discover

__all__ = [
    "IngestResult",
    "InputError",
    "Progress",
    "SnapshotResult",
    "Source",
    "Warnings",
    "discover",
    "ingest_paths",
    "load_source",
]
