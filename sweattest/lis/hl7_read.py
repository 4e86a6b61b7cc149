"""Reading received HL7 v2 messages: the structure (segments, fields, repetitions, components,
subcomponents) by python-hl7 (``hl7.parse``), the escapes by ``sweattest.outputs.lims.hl7_escape.unescape``
(one pass: python-hl7's own ``unescape`` turns ``\\.br\\`` into CR and loses the backslash of ``\\E\\R\\``,
python-hl7 #84), and what the escapes decode to kept as text: a line break in a one-line field (a name, an
identifier) becomes a space, in formatted text (NTE-3) a line break; any other control character (NUL, VT,
ESC...) is dropped, so it never reaches the record, a screen or a CSV file.

A composite field is kept as it was sent: a list of repetitions, each a list of components, each a list of
subcomponents (text), trailing empty parts removed: PID-3 ``MRN^^^USSSA&2.16.840.1.113883.4.1&ISO^MR`` is
``[[["MRN"], [""], [""], ["USSSA", "2.16.840.1.113883.4.1", "ISO"], ["MR"]]]``; ``hl7_escape.join`` writes it
back.
"""

from __future__ import annotations

import re

import hl7

from sweattest.outputs.lims.hl7_escape import unescape

_LINE_ENDS = re.compile(r"\r\n|\r|\n")
#: line breaks: CR, LF and Unicode's own (NEL, line and paragraph separators: str.splitlines breaks on them)
_BREAKS = re.compile(r"[\r\n\x85\u2028\u2029]+")
#: no text: C0 and C1 controls (U+009B is a terminal's CSI), bidirectional marks and overrides (U+202E shows
#: what follows reversed)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SEGMENT = re.compile(r"^[A-Z][A-Z0-9]{2}$")

#: HL7 v2.5.1 maximum lengths (chapter 2 to 8 segment tables) of the fields sweattest reads.
MAX_LENGTH: dict[tuple[str, int], int] = {
    ("MSH", 3): 227, ("MSH", 4): 227, ("MSH", 9): 15, ("MSH", 10): 20, ("MSH", 11): 3, ("MSH", 12): 60,
    ("PID", 3): 250, ("PID", 5): 250, ("PID", 7): 26, ("PID", 8): 1,
    ("MRG", 1): 250,
    ("PV1", 2): 1, ("PV1", 3): 80, ("PV1", 19): 250,
    ("ORC", 1): 2, ("ORC", 2): 22, ("ORC", 3): 22, ("ORC", 4): 22, ("ORC", 12): 250,
    ("OBR", 2): 22, ("OBR", 3): 22, ("OBR", 4): 250, ("OBR", 16): 250,
    ("SPM", 2): 80,
}

#: ... and of the coded components (IS: 20 characters) inside the composites sweattest echoes: (segment, field)
#: -> ((component, subcomponent), limit): the namespace of an assigning authority (HD-1), an EI's namespace,
#: a location's point of care, room and bed.
COMPONENT_LENGTH: dict[tuple[str, int], tuple[tuple[tuple[int, int], int], ...]] = {
    ("PID", 3): (((4, 1), 20),), ("PV1", 19): (((4, 1), 20),),
    ("PV1", 3): (((1, 1), 20), ((2, 1), 20), ((3, 1), 20), ((4, 1), 20)),
    ("ORC", 12): (((9, 1), 20),), ("OBR", 16): (((9, 1), 20),),
    ("ORC", 2): (((2, 1), 20),), ("ORC", 3): (((2, 1), 20),), ("ORC", 4): (((2, 1), 20),),
    ("OBR", 2): (((2, 1), 20),), ("OBR", 3): (((2, 1), 20),), ("SPM", 2): (((1, 2), 20), ((2, 2), 20)),
}

#: ... and the shape of the composites sweattest echoes (in the answer, the result), HL7 v2.5.1 data types: for
#: each component, the longest text of each of its subcomponents (one: a simple value; ST 199 characters, IS 20),
#: so that what comes back passes a parser.
TEXT_LENGTH, CODE_LENGTH = 199, 20
_S, _C = (TEXT_LENGTH,), (CODE_LENGTH,)
_HD = (CODE_LENGTH, TEXT_LENGTH, TEXT_LENGTH)
_EI_PARTS = (TEXT_LENGTH, CODE_LENGTH, TEXT_LENGTH, TEXT_LENGTH)
_FN, _CE, _CWE, _DR, _TS = (TEXT_LENGTH,) * 5, (TEXT_LENGTH,) * 6, (TEXT_LENGTH,) * 9, (TEXT_LENGTH,) * 2, \
    (TEXT_LENGTH,) * 2
TYPES: dict[str, tuple[tuple[int, ...], ...]] = {
    "CX": (_S, _S, _S, _HD, _S, _HD, _S, _S, _CWE, _CWE),
    "CE": (_S,) * 6,
    "EI": tuple((n,) for n in _EI_PARTS),
    "EIP": (_EI_PARTS, _EI_PARTS),
    "PL": (_C, _C, _C, _HD, _C, _C, _C, _C, _S, _EI_PARTS, _HD),
    "XPN": (_FN, _S, _S, _S, _S, _C, _S, _S, _CE, _DR, _S, _TS, _TS, _S),
    "XCN": (_S, _FN, _S, _S, _S, _S, _C, _C, _HD, _S, _S, _S, _S, _HD, _S, _CE, _DR, _S, _TS, _TS, _S, _CWE, _CWE),
}
SHAPE: dict[tuple[str, int], str] = {
    ("PID", 3): "CX", ("PID", 5): "XPN", ("PV1", 3): "PL", ("PV1", 19): "CX", ("ORC", 2): "EI", ("ORC", 3): "EI",
    ("ORC", 4): "EI", ("ORC", 12): "XCN", ("OBR", 2): "EI", ("OBR", 3): "EI", ("OBR", 4): "CE", ("OBR", 16): "XCN",
    ("SPM", 2): "EIP",
}

Composite = list[list[list[str]]]  # one repetition: components of subcomponents


class Unreadable(Exception):
    """The text is not an HL7 v2 message python-hl7 can read (the reason in the message)."""


def read(text: str) -> hl7.Message:
    """The message, segments ending CR (a file's LF or CR LF line ends are accepted)."""
    lines = [line for line in _LINE_ENDS.split(text.strip("\x00 \t\r\n")) if line.strip()]
    if not lines or not lines[0].startswith("MSH"):
        raise Unreadable("the message does not start with an MSH segment")
    if lines[0][3:8] != "|^~\\&":
        raise Unreadable("only the standard delimiters |^~\\& are read")
    if sum(1 for line in lines if line.startswith("MSH")) > 1:  # a frame end forgotten between two messages
        raise Unreadable("more than one MSH segment: send one message per frame (or file); nothing was taken, "
                         "so that no order is filed under another message's patient")
    for line in lines:
        if not _SEGMENT.match(line[:3]) or (len(line) > 3 and line[3] != "|"):
            raise Unreadable(f"{line[:10]!r} is not a segment name (a segment cut in half or a line break inside "
                             "a field?)")
    try:
        return hl7.parse("\r".join(lines))
    except Exception as exc:  # noqa: BLE001 - python-hl7 raises plain exceptions on what it cannot read
        raise Unreadable(f"the message cannot be read: {exc}") from exc


def segments(message: hl7.Message, name: str) -> list[hl7.Segment]:
    return [s for s in message if str(s[0]) == name]


def first(message: hl7.Message, name: str) -> hl7.Segment | None:
    found = segments(message, name)
    return found[0] if found else None


def _field(segment: hl7.Segment | None, n: int):
    """python-hl7's field ``n`` (python-hl7 numbers MSH as HL7 does: MSH-1 the field separator), None when
    absent."""
    if segment is None:
        return None
    return segment[n] if len(segment) > n else None


def raw(segment: hl7.Segment | None, n: int) -> str:
    """Field ``n`` as sent (still escaped)."""
    field = _field(segment, n)
    return "" if field is None else str(field)


def text(value: str, *, lines: bool = False) -> str:
    """An escaped value decoded into text (see the module's docstring)."""
    return plain(unescape(value), lines=lines)


def plain(value: str, *, lines: bool = False) -> str:
    """Text with no control character: line breaks a space (a line break with ``lines``), the others dropped."""
    value = _BREAKS.sub("\n", value) if lines else _BREAKS.sub(" ", value)
    value = _CONTROL.sub("", value)
    return value if lines else value.strip()


def field_text(segment: hl7.Segment | None, n: int) -> str:
    """Field ``n`` as text: its first repetition's first component (what a simple field holds)."""
    value = composite(segment, n)
    return component(value[0], 1) if value else ""


def composite(segment: hl7.Segment | None, n: int) -> list[Composite]:
    """Field ``n`` with its repetitions, components and subcomponents as text (empty repetitions left out)."""
    field = _field(segment, n)
    if field is None:
        return []
    reps = []
    for rep in (field if field and isinstance(field[0], hl7.Repetition) else [field]):
        parts = [[text(str(sub)) for sub in (comp if isinstance(comp, hl7.Component) else [comp])]
                 for comp in rep]
        for comp in parts:
            while len(comp) > 1 and not comp[-1]:
                comp.pop()
        while parts and parts[-1] == [""]:
            parts.pop()
        if parts:
            reps.append(parts)
    return reps


def component(value: Composite, n: int, sub: int = 1) -> str:
    """Component ``n`` (subcomponent ``sub``) of one repetition, "" when absent."""
    comp = value[n - 1] if len(value) >= n else []
    return comp[sub - 1] if len(comp) >= sub else ""


def too_long(message: hl7.Message) -> tuple[str, str, int, int] | None:
    """The first field (or component of it) longer than HL7 v2.5.1 allows: (segment, where: "3" or "3.4.1",
    its length, the limit). Lengths are of the text as sent (escaped)."""
    for segment in message:
        name = str(segment[0])
        for n, limit in _LIMITS.get(name, ()):
            if len(segment) <= n:
                continue
            reps = str(segment[n]).split("~")
            length = max(len(r) for r in reps)
            if length > limit:
                return name, str(n), length, limit
            for (comp, sub), most in COMPONENT_LENGTH.get((name, n), ()):
                for rep in reps:
                    parts = rep.split("^")
                    subs = parts[comp - 1].split("&") if len(parts) >= comp else []
                    if len(subs) >= sub and len(subs[sub - 1]) > most:
                        return name, f"{n}.{comp}.{sub}", len(subs[sub - 1]), most
    return None


def misshapen(message: hl7.Message) -> tuple[str, int, str] | None:
    """The first echoed composite with a component or subcomponent its HL7 v2.5.1 type does not have (trailing
    empty parts aside): (segment, field, what is wrong for a person); None when all are well formed."""
    for segment in message:
        name = str(segment[0])
        for (seg, n), kind in SHAPE.items():
            if seg != name or len(segment) <= n:
                continue
            shape = TYPES[kind]
            for rep in str(segment[n]).split("~"):
                parts = rep.rstrip("^&").split("^")
                if len(parts) > len(shape):
                    article = "an" if kind[0] in "AEIOSX" else "a"
                    return name, n, f"{name}-{n} has {len(parts)} components; {article} {kind} has {len(shape)}"
                for i, (part, limits) in enumerate(zip(parts, shape, strict=False), 1):
                    subs = part.rstrip("&").split("&")
                    if len(subs) > len(limits):
                        return name, n, (f"{name}-{n}.{i} has {len(subs)} subcomponents; it has {len(limits)} (an & "
                                         "in a value is sent as \\T\\)")
                    for j, (sub, most) in enumerate(zip(subs, limits, strict=False), 1):
                        if len(sub) > most:
                            where = f"{name}-{n}.{i}" + (f".{j}" if len(limits) > 1 else "")
                            return name, n, f"{where} has {len(sub)} characters; HL7 v2.5.1 allows {most}"
    return None


_LIMITS: dict[str, list[tuple[int, int]]] = {}
for (_name, _n), _limit in MAX_LENGTH.items():
    _LIMITS.setdefault(_name, []).append((_n, _limit))
