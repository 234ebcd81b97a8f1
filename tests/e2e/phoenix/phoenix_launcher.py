"""Runs `phoenix serve` with its OTLP gRPC receiver bound to 127.0.0.1.

Phoenix binds the HTTP server to PHOENIX_HOST but always binds gRPC to
`[::]` (all interfaces), and no setting changes that. The end-to-end test
must listen on loopback only, so this launcher rewrites the gRPC bind address
before handing over to Phoenix's own entry point, and prints a marker line
that the fixture waits for: if a Phoenix upgrade stops going through
`grpc.aio.server(...).add_insecure_port`, the fixture fails instead of
silently listening on every interface.

Usage: python phoenix_launcher.py serve
"""

import sys
from collections.abc import Callable
from typing import Any

LOOPBACK_MARKER = "tokentrace-e2e: OTLP gRPC bound to"


def _loopback(real_server: Callable[..., Any]) -> Callable[..., Any]:
    def server_factory(*args: Any, **kwargs: Any) -> Any:
        return _bind_loopback(real_server(*args, **kwargs))

    return server_factory


def _bind_loopback(server: Any) -> Any:
    real_add = server.add_insecure_port

    def add_insecure_port(address: str) -> int:
        host, sep, port = address.rpartition(":")
        if sep and host in ("[::]", "0.0.0.0", ""):
            address = f"127.0.0.1:{port}"
        bound: int = real_add(address)
        print(f"{LOOPBACK_MARKER} {address}", flush=True)
        return bound

    server.add_insecure_port = add_insecure_port
    return server


def main() -> None:
    import grpc.aio

    grpc.aio.server = _loopback(grpc.aio.server)
    from phoenix.server.main import main as phoenix_main

    sys.argv = ["phoenix", *sys.argv[1:]]
    phoenix_main()


if __name__ == "__main__":
    main()
