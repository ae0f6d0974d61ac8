"""Start-up time of the CLI: `moltctl --help` and `moltctl --version` (target: under 0.3 s).

Run: python bench/bench_startup.py [--runs 20]
Measured side by side with a bare `python -c pass` so the ratio survives a noisy machine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(cmd: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    exe = str(Path(sys.executable).parent / "moltctl")
    if not Path(exe).exists():
        exe = shutil.which("moltctl") or sys.exit("moltctl is not installed")
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "moltctl --version": [exe, "--version"],
        "moltctl --help": [exe, "--help"],
        "moltctl query --help": [exe, "query", "--help"],
    }
    print("| command | median seconds | target |")
    print("|---|---|---|")
    for name, cmd in cases.items():
        try:
            sec = timed(cmd, args.runs)
        except subprocess.CalledProcessError:
            continue
        target = "< 0.3" if name == "moltctl --help" else ""
        print(f"| `{name}` | {sec:.3f} | {target} |")


if __name__ == "__main__":
    main()
