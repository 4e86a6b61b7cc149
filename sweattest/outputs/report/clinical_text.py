"""Flag texts as a clinician reads them: device commands and wire detail stay in the audit trail.

An abort reason may quote what an instrument was sent or replied (``'OUTP1?'``, ``SOUR1:CURR 0``, a
``sim://`` port). On the report such a reason is summarised as a fault of the instrument it names; the full
text is kept unchanged in the run's events and audit trail.
"""

from __future__ import annotations

import re

#: A quoted command or reply in capitals (``'OUTP1?'``, ``'S +'``), an SCPI header (``OUTP1?``, ``SOUR2:CURR``,
#: ``*IDN?``), a port URL, or a raw byte string. Quoted clinical text (in lower case) is kept.
DEVICE_DETAIL = re.compile(
    r"""'[A-Z*@][^a-z']*'|"[A-Z*@][^a-z"]*"|\bb'|\*[A-Z]{3}\??|\b[A-Z]{3,5}\d*(?::[A-Z]{3,5}\d*)*\?"""
    r"""|\b[A-Z]{4}\d*:[A-Z]{3,5}|\b(?:sim|socket|rfc2217|loop)://|/dev/tty""")
ROLES = ("inducer", "balance", "analyzer", "chloridometer")


def has_device_detail(text: str) -> bool:
    return DEVICE_DETAIL.search(text) is not None


def clinical_text(text: str) -> str:
    """``text`` unchanged when it holds no device detail; else a summary naming the instrument."""
    if not has_device_detail(text):
        return text
    lower = text.lower()
    role = next((r for r in ROLES if r in lower), "instrument")
    return f"{role} fault (device detail in the audit trail)"
