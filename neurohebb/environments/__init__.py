"""Closed-loop environments (tasks, agents) for external populations
(:class:`neurohebb.ir.schema.External`).  Each module holds one environment and a
factory usable from a document as ``function: "neurohebb.environments.<module>:<factory>"``."""
