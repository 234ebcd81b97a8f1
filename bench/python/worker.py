"""One variant, one mode, one process; prints one JSON line with the result.

Interleaved modes (sync, stream, async): rounds of three blocks of N calls,
plain-traced-plain, each block right after an on/off switch, for a time
budget, so drift and machine noise hit both arms alike; the two plain blocks
of a round also give an A/A difference (the noise floor). Per block: wall time (perf_counter_ns) and
this thread's CPU time (thread_time_ns, which leaves out time the thread was
preempted or waited for the GIL). The driver takes medians of the per-round
differences.

`sustained`: tracing on, `--calls` calls back to back from one thread, then the
SDK's normal flush/shutdown; the driver counts what the receiver decoded.

`check`: a few traced calls of every kind, so the driver can read the spans
and see that prompt and completion text were captured.

    python worker.py --variant tokentrace --mode sync --endpoint http://127.0.0.1:4318
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any, Awaitable, Callable

import httpx2
import openai

from payload import MODEL, PROMPT, STREAM_CHUNKS, handler
from sdks import VARIANTS, Sdk

Block = Callable[[int], tuple[int, int]]


def sync_block(call: Callable[[], None]) -> Block:
    """`n` calls; returns (wall ns, thread CPU ns)."""

    def block(n: int) -> tuple[int, int]:
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        for _ in range(n):
            call()
        return time.perf_counter_ns() - w0, time.thread_time_ns() - c0

    return block


def async_block(loop: asyncio.AbstractEventLoop, call: Callable[[], Awaitable[None]]) -> Block:
    """`n` awaited calls inside one coroutine, timed inside the loop."""

    async def run(n: int) -> tuple[int, int]:
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        for _ in range(n):
            await call()
        return time.perf_counter_ns() - w0, time.thread_time_ns() - c0

    return lambda n: loop.run_until_complete(run(n))


def clients() -> tuple[openai.OpenAI, openai.AsyncOpenAI]:
    base = "http://bench.invalid/v1"
    sync = openai.OpenAI(api_key="k", base_url=base, http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    aclient = openai.AsyncOpenAI(
        api_key="k", base_url=base, http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    )
    return sync, aclient


def make_block(mode: str, loop: asyncio.AbstractEventLoop) -> Block:
    client, aclient = clients()
    if mode == "stream":

        def stream() -> None:
            n = 0
            for _ in client.chat.completions.create(
                model=MODEL, messages=PROMPT, stream=True, stream_options={"include_usage": True}
            ):
                n += 1
            if n != STREAM_CHUNKS:
                raise RuntimeError(f"stream yielded {n} chunks, expected {STREAM_CHUNKS}")

        return sync_block(stream)
    if mode == "async":

        async def achat() -> None:
            await aclient.chat.completions.create(model=MODEL, messages=PROMPT)

        return async_block(loop, achat)

    def chat() -> None:
        client.chat.completions.create(model=MODEL, messages=PROMPT)

    return sync_block(chat)


class Switch:
    """Turns the SDK on or off only on a change (an instrumentor warns when
    asked to uninstrument twice)."""

    def __init__(self, sdk: Sdk) -> None:
        self.sdk = sdk
        self.on = True  # every SDK starts instrumented

    def set(self, on: bool) -> None:
        if on != self.on:
            (self.sdk.enable if on else self.sdk.disable)()
            self.on = on


def interleaved(sdk: Sdk, block: Block, calls: int, budget_s: float, warmup: int) -> dict[str, Any]:
    """Rounds of three blocks until `budget_s` is spent (at least 8 rounds),
    alternately plain-traced-plain and traced-plain-traced: a round's A/B
    difference is the traced arm minus the plain arm, the middle block against
    the mean of its two neighbours (linear drift cancels), and alternating
    which arm sits in the middle cancels whatever the middle position itself
    costs or saves (the untraced variant showed such a bias of several µs).
    Its A/A difference is the last block minus the first (the same arm)."""
    switch = Switch(sdk)
    traced_calls = 0
    for _ in range(2):
        switch.set(False)
        block(warmup)
        switch.set(True)
        block(warmup)
        traced_calls += warmup
    # (traced in the middle?, then (wall, cpu) of the three blocks in order)
    rounds: list[tuple[bool, int, int, int, int, int, int]] = []
    deadline = time.monotonic() + budget_s
    while len(rounds) < 8 or time.monotonic() < deadline:
        middle = len(rounds) % 2 == 0
        # Every block follows a switch, the first one too (a switch replaces
        # class attributes, which costs the next block the interpreter's
        # invalidated caches; a block that skipped it would look faster).
        switch.set(middle)
        switch.set(not middle)
        b1 = block(calls)
        switch.set(middle)
        b2 = block(calls)
        switch.set(not middle)
        b3 = block(calls)
        traced_calls += calls if middle else 2 * calls
        rounds.append((middle, *b1, *b2, *b3))
    switch.set(True)
    return {"calls_per_block": calls, "rounds": rounds, "traced_calls": traced_calls}


def sustained(sdk: Sdk, block: Block, calls: int) -> dict[str, Any]:
    sdk.enable()
    wall, cpu = block(calls)
    return {"traced_calls": calls, "wall_ns": wall, "cpu_ns": cpu}


def check(sdk: Sdk, loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    sdk.enable()
    for mode in ("sync", "stream", "async"):
        make_block(mode, loop)(1)
    return {"traced_calls": 3}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", choices=sorted(VARIANTS), required=True)
    ap.add_argument("--mode", choices=["sync", "stream", "async", "sustained", "check"], required=True)
    ap.add_argument("--endpoint", required=True, help="OTLP/HTTP base URL of the receiver")
    ap.add_argument("--calls", type=int, default=100, help="calls per block (sustained: calls in total)")
    ap.add_argument("--budget", type=float, default=20.0, help="seconds of interleaved rounds")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--flush-timeout", type=float, default=60.0)
    args = ap.parse_args()

    sdk = VARIANTS[args.variant](args.endpoint)
    loop = asyncio.new_event_loop()
    if args.mode == "check":
        out = check(sdk, loop)
    elif args.mode == "sustained":
        out = sustained(sdk, make_block("sync", loop), args.calls)
    else:
        out = interleaved(sdk, make_block(args.mode, loop), args.calls, args.budget, args.warmup)
    t0 = time.perf_counter()
    out.update(sdk.finish(args.flush_timeout))
    out["finish_s"] = time.perf_counter() - t0
    out.update(
        variant=args.variant,
        mode=args.mode,
        spans_expected=out["traced_calls"] * sdk.spans_per_call,
        versions={"openai": openai.__version__, "httpx2": httpx2.__version__},
    )
    loop.close()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
