"""`python -m tokentrace view|stats|tail|replay`: the tokentrace CLI.

The CLI is compiled into the native extension (`_native.cli_main`), so every
install has it — wheel, sdist or `pip install ./bindings-python` — with no
cargo and no separate binary. The `tokentrace` console script lands here too.
"""

from __future__ import annotations

import signal
import sys
from typing import List, Optional

from . import _native


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # The CLI writes to the file descriptors itself: nothing of Python's may be left buffered.
    sys.stdout.flush()
    sys.stderr.flush()
    if argv is None:
        # A terminal command, as the binary is: Ctrl-C ends it at once (Python's handler would
        # only run once the native call returns); `tail` installs its own clean-stop handler.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    return _native.cli_main(["tokentrace", *args])


if __name__ == "__main__":
    sys.exit(main())
