"""Instructions the calling thread executes per chat call, counted by callgrind:
no tracing, tokentrace and the peer SDKs, sync and async.

Timing differences of a few µs on a ~1.5 ms client call are at the edge of what
the interleaved timing run (`run.py`) resolves on a shared 2-core VM; an
instruction count is exact and repeatable. Each variant runs in its own process
under `valgrind --tool=callgrind`, once with 100 and once with 300 measured
calls (after 50 warm-up calls), and only the main thread's count is read: the
difference of the two runs, over 200, is the per-call count without start-up.
Added instructions per call = the variant's count minus the untraced one.
`PYTHONHASHSEED=0` in every run: string hashes decide dict probe lengths, and
a different seed per process moves the count by thousands of instructions.

Instructions are not time (cache misses and branch mispredictions are not
counted); the ratio between SDKs is the point. Exporters point at a port
nobody listens on: their export threads are not counted anyway.

    python instructions.py [--only tokentrace,langfuse] [--modes sync,async]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from run import VARIANTS

HERE = Path(__file__).resolve().parent
WARMUP = 50
COUNTS = (100, 300)
ENDPOINT = "http://127.0.0.1:9"  # discard port: nothing listens


def child(variant: str, mode: str, n: int) -> None:
    from sdks import VARIANTS as SDKS
    from worker import make_block

    SDKS[variant](ENDPOINT)  # sets the SDK up, instrumented
    if variant == "tokentrace":
        # Under valgrind a call takes ~50x longer, so tokentrace's drain thread
        # (every 0.25 s) would record most batches, on its own thread and at
        # moments that differ from run to run. Parked after its first wake (in
        # the warm-up), it leaves every batch to the calling thread, as under
        # load in production, and the count repeats.
        sys.modules["tokentrace._runtime"].DRAIN_INTERVAL = 1e9
    block = make_block(mode, asyncio.new_event_loop())
    block(WARMUP)
    block(n)
    os._exit(0)  # no flush: nothing is listening, and shutdown is not counted


def count(variant: str, mode: str, n: int, out: Path) -> int:
    prefix = out / f"{variant}.{mode}.{n}"
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--separate-threads=yes",
        f"--callgrind-out-file={prefix}",
        sys.executable,
        str(HERE / "instructions.py"),
        "--child",
        variant,
        mode,
        str(n),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run(cmd, cwd=HERE, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    main_thread = Path(f"{prefix}-01").read_text()
    m = re.search(r"^summary: (\d+)", main_thread, re.M)
    if m is None:
        raise RuntimeError(f"no summary line in {prefix}-01")
    return int(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(VARIANTS))
    ap.add_argument("--modes", default="sync,async")
    ap.add_argument("--child", nargs=3, metavar=("VARIANT", "MODE", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        variant, mode, n = args.child
        child(variant, mode, int(n))
        return
    variants = ["none"] + [v for v in VARIANTS if v != "none" and v in args.only.split(",")]
    modes = args.modes.split(",")
    jobs = [(v, m, n) for m in modes for v in variants for n in COUNTS]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        counts = dict(zip(jobs, pool.map(lambda j: count(*j, Path(tmp)), jobs)))

    def per_call(v: str, m: str) -> float:
        return (counts[(v, m, COUNTS[1])] - counts[(v, m, COUNTS[0])]) / (COUNTS[1] - COUNTS[0])

    for m in modes:
        base = per_call("none", m)
        tt = per_call("tokentrace", m) - base if "tokentrace" in variants else None
        print(f"\n#### {m}: instructions per call on the calling thread (callgrind)\n")
        print("| variant | instructions / call | added / call | vs tokentrace |")
        print("|---|---:|---:|---:|")
        print(f"| none | {base:,.0f} | — | — |")
        for v in variants[1:]:
            pc = per_call(v, m)
            added = pc - base
            ratio = f"{added / tt:.0f}×" if tt and v != "tokentrace" else "—"
            print(f"| {v} | {pc:,.0f} | {added:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
