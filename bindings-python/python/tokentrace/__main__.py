"""`python -m tokentrace view|stats|tail|replay`: the tokentrace CLI.

The wheel ships the CLI binary (`tokentrace/_bin/tokentrace`, built from the
`cli/` crate), so neither cargo nor a separate install is needed. This
module only finds it and replaces the Python process with it (exit codes,
Ctrl-C in `tail` and pipes then behave as with the binary itself). Without
a packaged binary (an editable dev install) a `tokentrace` on PATH is used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Optional


def binary() -> Optional[str]:
    """The CLI executable: the one shipped in the package, else one on PATH."""
    name = "tokentrace.exe" if os.name == "nt" else "tokentrace"
    packaged = Path(__file__).resolve().parent / "_bin" / name
    if packaged.is_file() and os.access(packaged, os.X_OK):
        return str(packaged)
    found = shutil.which("tokentrace")
    if found is None:
        return None
    try:
        with open(found, "rb") as f:
            if f.read(2) == b"#!":  # our own console script (or another wrapper): not the binary
                return None
    except OSError:
        return None
    return found


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    exe = binary()
    if exe is None:
        sys.stderr.write(
            "tokentrace: no CLI binary in this install (an editable build without `_bin/`), "
            "and no `tokentrace` on PATH\n"
        )
        return 2
    if os.name == "nt" or argv is not None:
        return subprocess.call([exe, *args])
    sys.stdout.flush()
    os.execv(exe, [exe, *args])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
