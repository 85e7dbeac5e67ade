"""User-facing errors.  Every message names the file (when there is one), the
field path, what was found and what is allowed; the CLI prints them without a
traceback and exits with code 2."""
from __future__ import annotations


class NeurohebbError(Exception):
    """Base class of every error neurohebb raises on purpose."""


class NetworkError(NeurohebbError):
    """One or more problems in a network document.

    ``problems`` is a list of ``(path, message)`` pairs; ``path`` is a dotted
    field path such as ``projections.p1.rule.template``.
    """

    def __init__(self, problems, source: str | None = None):
        self.problems = [(str(p), str(m)) for p, m in problems]
        self.source = source
        super().__init__(self._format())

    def _format(self) -> str:
        prefix = f"{self.source}: " if self.source else ""
        lines = [f"{prefix}{p}: {m}" if p else f"{prefix}{m}" for p, m in self.problems]
        return "\n".join(lines)

    def with_source(self, source: str) -> "NetworkError":
        return NetworkError(self.problems, source)


class BackendUnavailable(NeurohebbError):
    """A backend was asked for but cannot run here (a package is missing)."""


class UnsupportedFeature(NeurohebbError):
    """A backend or target cannot express part of a network."""


def known(values) -> str:
    vals = sorted(values)
    return ", ".join(vals) if vals else "(none)"


class HardwareConfigError(NeurohebbError):
    """A hardware config (``hardware_configs/*.yaml``) is missing or invalid."""


class CompileError(UnsupportedFeature):
    """A network cannot be compiled for a target.  ``problems`` is a list of
    ``(path, message)`` pairs (``path`` as in :class:`NetworkError`)."""

    kind = "cannot compile"

    def __init__(self, problems, target: str = ""):
        self.problems = [(str(p), str(m)) for p, m in problems]
        self.target = target
        head = f"{self.kind} for {target}" if target else self.kind
        lines = [f"{p}: {m}" if p else m for p, m in self.problems]
        super().__init__(head + ":\n  " + "\n  ".join(lines) if len(lines) > 1 else f"{head}: {lines[0]}")


class NotExpressible(CompileError):
    """A rule term, parameter or population the target's arithmetic cannot express."""

    kind = "not expressible"


class CapacityExceeded(CompileError):
    """The network does not fit on the target (cores, compartments, axons, synapse memory)."""

    kind = "does not fit"


class NonFiniteState(NeurohebbError):
    """A run's state became NaN or infinite (see :mod:`neurohebb.health`).
    ``where``: the population, projection or modulator (``populations.out``);
    ``step``: the step at which it was detected."""

    def __init__(self, message: str, where: str = "", step: int | None = None):
        self.where, self.step = where, step
        super().__init__(message)


class UnitsWarning(UserWarning):
    """A document's time step ``run.dt`` is not 1 ms, and its durations are in
    steps (see :mod:`neurohebb.units`)."""
