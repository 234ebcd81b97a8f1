"""Paired comparison of `pipeline` bench configurations on a noisy machine.

Runs `TT_BENCH_ONLY=tt-http` (or the runs given with --only) once per
configuration, configurations interleaved, for --iterations iterations, and
prints for each configuration the median export CPU per span and the median of
its ratio to the first configuration *within* each iteration. The pairing
cancels the machine's slow drifts (minutes of a busy neighbour) that make
unpaired medians of a few runs disagree.

    python3 bench/pipeline_ab.py -n 6 TT_BENCH_BATCH=512 TT_BENCH_BATCH=256
    python3 bench/pipeline_ab.py -n 6 "" "TT_BENCH_BATCH_BYTES=1048576"

A configuration is a space-separated list of NAME=VALUE environment settings
("" for none). The bench binary is built (release) on the first call;
`BENCH_BIN=PATH` in a configuration runs another build instead (a copy of
the binary before a change, to compare two builds the same way):

    cp target/release/deps/pipeline-<hash> /tmp/pipeline-before   # then change, rebuild
    python3 bench/pipeline_ab.py --only tt-http-new BENCH_BIN=/tmp/pipeline-before ""
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A per-round row of the bench's first table: run name, then the export CPU
# column (the 7th cell).
ROW = re.compile(r"^\| (?P<run>[^|]+?) \| queue [^|]*\|(?:[^|]*\|){4}\s*(?P<cpu>[0-9.]+)\s*\|")


def bench_binary() -> str:
    out = subprocess.run(
        ["cargo", "bench", "-p", "tokentrace-core", "--bench", "pipeline", "--no-run",
         "--message-format=json"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and \
                msg["target"]["name"] == "pipeline":
            return str(msg["executable"])
    sys.exit("pipeline bench executable not found")


def run_once(binary: str, config: str, only: str, rounds: int) -> dict[str, list[float]]:
    env = dict(os.environ, TT_BENCH_ONLY=only, TT_BENCH_ROUNDS=str(rounds))
    for setting in config.split():
        name, _, value = setting.partition("=")
        if name == "BENCH_BIN":
            binary = value
        else:
            env[name] = value
    out = subprocess.run([binary, "--bench"], env=env, capture_output=True, text=True).stdout
    cpu: dict[str, list[float]] = {}
    for line in out.splitlines():
        m = ROW.match(line)
        if m:
            cpu.setdefault(m["run"], []).append(float(m["cpu"]))
    return cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("configs", nargs="+", help="NAME=VALUE settings per configuration")
    ap.add_argument("-n", "--iterations", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=2, help="bench rounds per call")
    ap.add_argument("--only", default="tt-http")
    args = ap.parse_args()
    binary = bench_binary()
    # means[config][run] = one mean per iteration
    means: list[dict[str, list[float]]] = [{} for _ in args.configs]
    for _ in range(args.iterations):
        for i, config in enumerate(args.configs):
            for run, values in run_once(binary, config, args.only, args.rounds).items():
                means[i].setdefault(run, []).append(statistics.mean(values))
    for run in means[0]:
        print(f"{run} — export CPU µs/span")
        base = means[0][run]
        for config, by_run in zip(args.configs, means):
            values = by_run.get(run, [])
            if not values:
                continue
            ratios = [v / b for v, b in zip(values, base)]
            print(f"  {config or '(defaults)':50s} median {statistics.median(values):.3f}"
                  f"  paired ratio {statistics.median(ratios):.3f}"
                  f" ({min(ratios):.2f}–{max(ratios):.2f}, n={len(ratios)})")


if __name__ == "__main__":
    main()
