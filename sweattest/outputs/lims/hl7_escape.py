"""HL7 v2 text escaping with the standard delimiters ``|^~\\&``, and composite fields written back with them.

Every text value goes through ``escape`` before it is placed in a field: ``|`` -> ``\\F\\``, ``^`` ->
``\\S\\``, ``~`` -> ``\\R\\``, ``\\`` -> ``\\E\\``, ``&`` -> ``\\T\\``; a line break (CR LF, LF or CR) ->
``\\.br\\`` (HL7 v2.5.1 chapter 2.7; formatted text); any other control character (which could break
MLLP framing, e.g. 0x0B) -> ``\\Xhh\\``. One pass over the characters, so an escape sequence
is never escaped twice and a backslash is never lost (python-hl7 #84, hapi #7).
"""

from __future__ import annotations

import re

FIELD, COMPONENT, REPETITION, ESCAPE, SUBCOMPONENT = "|", "^", "~", "\\", "&"
ENCODING_CHARACTERS = COMPONENT + REPETITION + ESCAPE + SUBCOMPONENT
_ESCAPES = {FIELD: "\\F\\", COMPONENT: "\\S\\", REPETITION: "\\R\\", ESCAPE: "\\E\\", SUBCOMPONENT: "\\T\\"}
_UNESCAPES = {"F": FIELD, "S": COMPONENT, "R": REPETITION, "E": ESCAPE, "T": SUBCOMPONENT, ".br": "\n"}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: every escape sequence of HL7 v2.5.1 chapter 2.7: delimiters, highlighting (H, N), hexadecimal data of one or
#: more bytes (X), charset switches (Z, C, M) and the formatting commands of formatted text (.br, .sp...)
_SEQUENCE = re.compile(r"\\(F|S|R|E|T|H|N|X(?:[0-9A-Fa-f]{2})+|Z[^\\\r\n]*|C[0-9A-Fa-f]{4}"
                       r"|M[0-9A-Fa-f]{4}(?:[0-9A-Fa-f]{2})?|\.(?:br|sp[+-]?\d*|in[+-]?\d*|ti[+-]?\d*|sk[+-]?\d*|ce|fi|nf))\\")


def escape(text: object) -> str:
    """``text`` made safe for any HL7 field, component or subcomponent."""
    s = _LINE_BREAK.sub("\n", "" if text is None else str(text))
    return "".join(_one(ch) for ch in s)


def _one(ch: str) -> str:
    if ch == "\n":
        return "\\.br\\"
    if ch < " " or ch == "\x7f":
        return f"\\X{ord(ch):02X}\\"
    return _ESCAPES.get(ch, ch)


def unescape(text: str) -> str:
    """The inverse of ``escape`` (line breaks come back as LF), and the text of any escape a LIS sends:
    highlighting and charset switches are dropped (the text stays), ``\\Xhh..\\`` is its bytes as UTF-8
    (one byte above 0x7F alone, as written by escapers of Latin-1, is that character), ``\\.sp\\`` and ``\\.ce\\``
    start a new line, the other formatting commands (indents, fill) are dropped."""
    return _SEQUENCE.sub(_unescaped, text)


def _unescaped(m: re.Match) -> str:
    code = m.group(1)
    if code in _UNESCAPES:
        return _UNESCAPES[code]
    if code[0] == "X":
        data = bytes.fromhex(code[1:])
        return data.decode("utf-8") if _utf8(data) else data.decode("latin-1")
    if code.startswith((".sp", ".ce")):
        return "\n"
    return ""  # H, N, Z.., C...., M...., .in, .ti, .sk, .fi, .nf


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def join(value: object) -> str:
    """A composite field written back as it was received (``sweattest.lis.hl7_read.composite``): a list of
    repetitions, each a list of components, each a list of subcomponents; every part escaped. One repetition
    may be given alone; an order stored before composites were kept holds text with ``^`` between components."""
    if not value:
        return ""
    if isinstance(value, str):
        return "^".join(escape(part) for part in value.split("^"))
    reps = [value] if value and isinstance(value[0], list) and value[0] and isinstance(value[0][0], str) else value
    return REPETITION.join(_repetition(rep) for rep in reps)


def _repetition(rep: object) -> str:
    if isinstance(rep, str):
        return "^".join(escape(part) for part in rep.split("^"))
    return COMPONENT.join(SUBCOMPONENT.join(escape(sub) for sub in ([comp] if isinstance(comp, str) else comp))
                          for comp in rep)
