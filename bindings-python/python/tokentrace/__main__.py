"""`python -m tokentrace view|stats|tail|replay`: the tokentrace CLI.

The CLI is compiled into the native module (`_native.run_cli`), so the wheel
needs no separate binary and no cargo. Without it (a build of the native
module without the `cli` feature), a `tokentrace` binary on PATH is used.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from . import _native

    run = getattr(_native, "run_cli", None)
    if run is not None:
        # Ctrl-C must stop `tail`: the Rust code runs without the GIL, so
        # Python's own SIGINT handler would never get to run.
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
        except ValueError:
            pass
        return int(run(["tokentrace", *args]))
    exe = shutil.which("tokentrace")
    if exe is None:
        sys.stderr.write(
            "tokentrace: this build of the Python package has no CLI compiled in, "
            "and no `tokentrace` binary is on PATH\n"
        )
        return 2
    os.execv(exe, [exe, *args])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
