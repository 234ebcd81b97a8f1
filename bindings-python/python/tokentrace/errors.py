"""The errors tokentrace raises. Only `init`, `flush` and `shutdown` raise;
instrumentation never raises into the application."""

from ._native import AlreadyShutdownError, FlushTimeoutError, InvalidConfigError, TokentraceError

__all__ = ["TokentraceError", "InvalidConfigError", "FlushTimeoutError", "AlreadyShutdownError"]
