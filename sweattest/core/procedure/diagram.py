"""The state machine as a Mermaid diagram, generated from the transition table."""

from __future__ import annotations

from sweattest.core.procedure.table import ACTIVE_STATES, FINAL_STATES, TRANSITIONS


def mermaid() -> str:
    lines = ["stateDiagram-v2", "    [*] --> created"]
    for t in TRANSITIONS:
        if t.event == "abort":
            continue
        label = t.event if not t.only else f"{t.event} ({t.only})"
        lines.append(f"    {t.source} --> {t.target}: {label}")
    lines.append(f"    note right of aborted: abort(reason) from every active state ({len(ACTIVE_STATES)})")
    for state in ACTIVE_STATES:
        lines.append(f"    {state} --> aborted: abort")
    for state in sorted(FINAL_STATES):
        lines.append(f"    {state} --> [*]")
    return "\n".join(lines)
