"""ingest-file: load pipeline runs (run directories, NDJSON bundles) as snapshots.

Public API::

    from moltctl.ingest import ingest_paths
    result = ingest_paths(target, ["runs/20260130T170118Z"], replace=False, strict=False)

Modules: ``readers`` (find snapshots, stream records), ``records`` (both dialects, type checks),
``clean`` (NUL / surrogate / NaN repair with warning counts), ``load`` (COPY + set-based SQL),
``progress`` (the events ``ingest_paths(progress=fn)`` reports per run and phase).
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
