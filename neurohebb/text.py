"""Plain-text output shared by the CLI and the reports."""
from __future__ import annotations


def table(rows, headers) -> str:
    """``rows`` (lists of cells, shown with ``str``) under ``headers``: columns
    left-aligned, two spaces apart, a dashed rule under the header, no trailing
    spaces."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max([len(str(h))] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(r):
        return "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])
