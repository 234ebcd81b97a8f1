"""tokentrace's capture path alone, timed cold: what one traced chat call adds
on the calling thread when the client's own work has just evicted it from the
caches, as in an application (each `create` runs ~9.5 M instructions).

`run.py` measures the same thing end to end, but as the difference of two
~1.1 ms calls, so its medians move by 2–5 µs from run to run. Here a real,
untraced client call runs before each sample (it evicts what it evicts in
production), then the sample times only a stub `create` whose `send` hands
back a fresh request and response: the traced arm goes through tokentrace's
method wrapper, its `send` patch and its record (the batch drain included,
once per batch), the plain arm through the same stubs unwrapped. Arms
alternate; the figure is traced minus plain, as a mean (a drain lands on one
call in a batch: a median would hide it) with the slowest 1% of each arm left
out (preemption), and as a median.

`--compare DIR,...` adds one traced arm per directory, each holding a
`tokentrace/instrument/` whose `_http.py` and `_wrap.py` are loaded beside
the installed ones (same native module, same process): variants of the
capture path compared in one run, free of the several µs by which separate
processes differ.

What it leaves out: whatever tracing does to the client's own work (run.py
sees that) and the export worker's CPU on the other core.

    python coldpath.py [--samples 4000] [--batch 64] [--compare /tmp/a,/tmp/b]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import httpx2

from payload import BODY, MODEL, PROMPT
from sdks import VARIANTS
from worker import clients

URL = "http://bench.invalid/v1/chat/completions"
REQUEST_BODY = json.dumps({"messages": PROMPT, "model": MODEL}).encode()


def load(name: str, path: Path, renames: dict[str, str]) -> Any:
    """`path` as module `tokentrace.instrument.<name>`, its relative imports of
    the renamed modules pointed at their copies."""
    src = path.read_text()
    for old, new in renames.items():
        src = src.replace(f"from .{old} import", f"from .{new} import")
    spec = importlib.util.spec_from_loader(f"tokentrace.instrument.{name}", loader=None)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "tokentrace.instrument"
    sys.modules[spec.name] = mod
    exec(compile(src, str(path), "exec"), mod.__dict__)
    return mod


def arms(compare: list[str]) -> tuple[dict[str, Callable[[], Any]], list[Any]]:
    """The plain arm and one traced arm per capture path, all calling a stub
    `create` that sends `slot[0]` through a `send` returning `slot[1]`."""
    slot: list[Any] = [None, None]

    def orig_send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        return slot[1]

    def plain_create(self: Any, *args: Any, **kwargs: Any) -> Any:
        return orig_send(None, slot[0], stream=False)

    out: dict[str, Callable[[], Any]] = {"plain": lambda: plain_create(None, model=MODEL)}
    paths = [("tokentrace", sys.modules["tokentrace.instrument._http"], sys.modules["tokentrace.instrument._wrap"])]
    for i, d in enumerate(compare):
        src = Path(d) / "tokentrace" / "instrument"
        http = load(f"_http_{i}", src / "_http.py", {})
        wrap = load(f"_wrap_{i}", src / "_wrap.py", {"_http": f"_http_{i}"})
        paths.append((d, http, wrap))
    for name, http, wrap in paths:
        send = http.make_send(orig_send)

        def create(self: Any, *args: Any, _send: Any = send, **kwargs: Any) -> Any:
            return _send(None, slot[0], stream=False)

        traced = wrap.sync_method(http.CHAT)(create)
        out[name] = lambda traced=traced: traced(None, model=MODEL)
    return out, slot


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=4000, help="samples per arm")
    ap.add_argument("--batch", type=int, help="calls recorded per native drain (default: tokentrace's own)")
    ap.add_argument("--compare", default="", help="comma-separated directories of capture-path variants")
    args = ap.parse_args()

    import tokentrace

    sdk = VARIANTS["tokentrace"]("http://127.0.0.1:9")
    sdk.disable()  # the evicting client calls run untraced
    if args.batch:
        sys.modules["tokentrace._runtime"].BATCH = args.batch
    client, _ = clients()
    fns, slot = arms([d for d in args.compare.split(",") if d])
    names = list(fns)

    def sample(fn: Callable[[], Any]) -> int:
        client.chat.completions.create(model=MODEL, messages=PROMPT)  # evicts
        req = httpx2.Request("POST", URL, content=REQUEST_BODY)
        slot[0], slot[1] = req, httpx2.Response(200, content=BODY, request=req)
        t0 = time.perf_counter_ns()
        fn()
        return time.perf_counter_ns() - t0

    for _ in range(50):
        for n in names:
            sample(fns[n])
    times: dict[str, list[int]] = {n: [] for n in names}
    for i in range(args.samples):
        k = i % len(names)  # rotate the order: no arm always runs first
        for n in names[k:] + names[:k]:
            times[n].append(sample(fns[n]))

    def trimmed_mean(xs: list[int]) -> float:
        kept = sorted(xs)[: int(len(xs) * 0.99)]
        return sum(kept) / len(kept) / 1000

    plain_mean, plain_median = trimmed_mean(times["plain"]), statistics.median(times["plain"]) / 1000
    print(f"plain: {plain_mean:.2f} µs (mean), {plain_median:.2f} µs (median)")
    print("| capture path | added µs (mean) | added µs (median) | p5 / p50 / p95 µs |")
    print("|---|---:|---:|---|")
    for n in names[1:]:
        q = statistics.quantiles(times[n], n=20)
        print(
            f"| {n} | {trimmed_mean(times[n]) - plain_mean:.2f} | {statistics.median(times[n]) / 1000 - plain_median:.2f}"
            f" | {q[0] / 1000:.1f} / {q[9] / 1000:.1f} / {q[18] / 1000:.1f} |"
        )
    print(f"recorded: {tokentrace.stats()['enqueued']} calls")


if __name__ == "__main__":
    main()
