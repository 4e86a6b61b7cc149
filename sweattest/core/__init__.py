"""The pure core: procedure state machine, clinical rules, units, clock, methods, errors."""
