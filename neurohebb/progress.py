"""Progress bars for long runs: ``tqdm.auto`` (a widget in Jupyter when
ipywidgets is installed, text on a terminal).  ``progress=None`` shows a bar
on a terminal (stderr is a tty) and in a Jupyter kernel, and nowhere else
(logs, pipes, tests); True or False force it."""
from __future__ import annotations

import sys


def in_notebook() -> bool:
    """True inside a Jupyter (IPython kernel) session."""
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython

        ip = get_ipython()
    except Exception:  # IPython missing or broken
        return False
    return ip is not None and hasattr(ip, "kernel")


def show_progress(progress=None) -> bool:
    if progress is not None:
        return bool(progress)
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stderr
        tty = False
    return tty or in_notebook()


def _tqdm():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tqdm.auto without ipywidgets: falls back to text, quietly
        from tqdm.auto import tqdm
    return tqdm


def bar(total, progress=None, desc="run"):
    """A ``tqdm.auto`` bar for ``total`` steps, or None when not shown (:func:`show_progress`)."""
    if not show_progress(progress):
        return None
    return _tqdm()(total=total, desc=desc, unit="step", mininterval=0.5)


def progress_bar(total, desc="run", progress=None, unit="step", **kw):
    """A ``tqdm.auto`` bar that is disabled (not None) when not shown."""
    return _tqdm()(total=total, disable=not show_progress(progress), desc=desc, unit=unit,
                   mininterval=kw.pop("mininterval", 0.5), **kw)
