"""Run the ingest core (``moltctl.ingest.ingest_paths``) on PATHS and print its phase timings.

Used by bench_ingest.py as a subprocess (one process per load, like the CLI) to show where an
ingest's time goes: ``python bench/ingest_phases.py DSN PATH...`` prints one JSON object per
snapshot: {"run_id", "seconds", "timings": {phase: seconds}, "rows": {table: n},
"comments_merged": n, "leaderboard": how} (comments that took the per-field merge,
moltctl.ingest.direct; "ingest" if the load was folded into agent_leaderboard, else null).
"""

from __future__ import annotations

import json
import sys
import warnings


def main() -> None:
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    from moltctl.connection import resolve
    from moltctl.ingest import ingest_paths

    dsn, *paths = sys.argv[1:]
    result = ingest_paths(resolve(dsn), paths)
    for snap in result.snapshots:
        print(
            json.dumps(
                {
                    "run_id": snap.run_id,
                    "seconds": snap.seconds,
                    "timings": snap.timings,
                    "rows": snap.rows,
                    "comments_merged": snap.comments_merged,
                    "leaderboard": snap.leaderboard.method if snap.leaderboard else None,
                }
            )
        )


if __name__ == "__main__":
    main()
