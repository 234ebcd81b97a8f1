"""Type stubs of the native module (checked with `python -m mypy.stubtest tokentrace._native`)."""

from typing import Any, Dict, List, Optional, Union, final

__all__ = [
    "AlreadyShutdownError",
    "Attrs",
    "FlushTimeoutError",
    "InvalidConfigError",
    "TokentraceError",
    "Tracer",
    "__version__",
    "binding_errors",
    "cli_main",
    "fork_epoch",
]

__version__: str

class TokentraceError(Exception): ...
class InvalidConfigError(TokentraceError): ...
class FlushTimeoutError(TokentraceError): ...
class AlreadyShutdownError(TokentraceError): ...

@final
class Attrs:
    def __new__(cls, attrs: Dict[str, Any]) -> "Attrs": ...
    def merged(self, attrs: Dict[str, Any]) -> "Attrs": ...
    def __len__(self) -> int: ...
    def keys(self) -> List[str]: ...

@final
class Tracer:
    def __new__(cls, **options: Any) -> "Tracer": ...
    @property
    def root_always(self) -> bool: ...
    @property
    def parent_based(self) -> bool: ...
    @property
    def disabled(self) -> bool: ...
    @property
    def capture_content(self) -> bool: ...
    @property
    def service_name(self) -> str: ...
    @property
    def exporters(self) -> List[str]: ...
    @property
    def export_timeout(self) -> float: ...
    @property
    def config_warnings(self) -> List[str]: ...
    @property
    def is_shutdown(self) -> bool: ...
    def should_sample(self, trace_hi: int, trace_lo: int, parent: int) -> bool: ...
    def record_exchange(
        self,
        trace_hi: int,
        trace_lo: int,
        parent: int,
        parent_remote: bool,
        start_ns: int,
        end_ns: int,
        api: int,
        request_body: Optional[bytes],
        response_body: Union[bytes, List[bytes], None],
        streaming: bool,
        status: Optional[int],
        error_type: Optional[str],
        error_message: Optional[str],
        server_address: Optional[str],
        server_port: Optional[int],
        first_chunk_ns: int,
        incomplete: bool,
        inherited: Optional[Attrs],
        attrs: Optional[Dict[str, Any]],
    ) -> bool: ...
    def feedback(
        self,
        trace_hi: int,
        trace_lo: int,
        parent: int,
        score: float,
        label: Optional[str] = None,
        comment: Optional[str] = None,
    ) -> bool: ...
    def record_span(
        self,
        trace_hi: int,
        trace_lo: int,
        span: int,
        parent: int,
        parent_remote: bool,
        name: str,
        kind: Optional[str],
        start_ns: int,
        end_ns: int,
        error_type: Optional[str],
        error_message: Optional[str],
        inherited: Optional[Attrs],
        attrs: Optional[Dict[str, Any]],
        events: Optional[List[Any]],
    ) -> bool: ...
    def flush(self, timeout: float = 5.0) -> None: ...
    def shutdown(self, timeout: float = 5.0) -> int: ...
    def stats(self) -> Dict[str, Any]: ...
    def memory_spans(self) -> List[Dict[str, Any]]: ...
    def clear_memory(self) -> None: ...
    def before_fork(self) -> bool: ...
    def after_fork_parent(self) -> None: ...
    def after_fork_child(self) -> None: ...

def binding_errors() -> int: ...
def fork_epoch() -> int: ...
def cli_main(argv: List[str]) -> int: ...
