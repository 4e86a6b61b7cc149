"""Clinical rules of the sweat test, as pure functions on pint quantities.

Every rule cites its source (guideline and section); ``docs/rules.md`` lists them all. No rule reads a
clock or performs I/O: dates and times come in as arguments.
"""

from sweattest.core.rules.findings import Finding, Severity

__all__ = ["Finding", "Severity"]
