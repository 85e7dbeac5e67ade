"""Progress bars for long runs: a terminal bar on a tty, a widget in notebooks."""
from __future__ import annotations

import sys


def bar(total, progress=None, desc="run"):
    """A ``tqdm.auto`` bar for ``total`` steps, or None when not shown.
    ``progress``: True/False, or None to show one only when stderr is a terminal."""
    show = sys.stderr.isatty() if progress is None else bool(progress)
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", mininterval=0.5)
