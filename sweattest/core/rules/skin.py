"""The skin of a stimulated site, checked when the electrodes come off: none, erythema, blister or burn.

Redness (erythema) under the electrodes is common and fades within hours. A blister or a burn is an adverse
event: burns are the main hazard of pilocarpine iontophoresis (CLSI C34; current density rises when the
electrode's contact area shrinks). The tech documents it (a note is required), tells the requesting clinician,
and the lab reviews it (UK 2014: adverse events of the sweat test are recorded and investigated).
"""

from __future__ import annotations

from dataclasses import dataclass

from sweattest.core.errors import ValidationError

GRADES: tuple[str, ...] = ("none", "erythema", "blister", "burn")
#: Grades that are adverse events: a note is required, the clinician is told, QA reviews them.
ADVERSE: frozenset[str] = frozenset({"blister", "burn"})
#: The longest note kept (a few sentences).
NOTE_MAX = 500
#: What the tech is told to do after an adverse event (shown at the bench and printed on the report).
ADVICE = ("Adverse skin reaction: document it (the note is kept with the run), inform the requesting "
          "clinician today, care for the site as the lab's procedure says, and tell QA.")
SOURCE = "CLSI C34 (burns are the main hazard of iontophoresis); UK 2014 (adverse events recorded)"


@dataclass(frozen=True)
class SkinCheck:
    """One site's skin after stimulation, as the tech saw it."""

    grade: str
    note: str = ""

    @property
    def adverse(self) -> bool:
        return self.grade in ADVERSE


def not_chosen(where: str) -> str:
    """What the tech is told when no grade was chosen: nothing is chosen for them (a scanner's Enter, a
    confirmation by habit), the skin must be looked at."""
    return (f"{where}: choose how its skin looks where the electrodes were (no reaction, redness, blister or burn); "
            "nothing is chosen for you")


def skin_check(grade: object, note: object = "", where: str = "skin") -> SkinCheck:
    """The tech's entry checked: a grade chosen (no grade is assumed), a known one, and a note for a blister or a
    burn."""
    text = str(grade or "").strip().lower()
    if not text:
        raise ValidationError(not_chosen(where))
    if text not in GRADES:
        raise ValidationError(f"{where}: skin reaction {grade!r} is not a grade; choose one of {', '.join(GRADES)}")
    note_text = " ".join(str(note or "").split())
    if text in ADVERSE and not note_text:
        raise ValidationError(f"{where}: a {text} is an adverse event: write what you saw and did in the note "
                              "(size, site, care given, clinician told)")
    if len(note_text) > NOTE_MAX:
        raise ValidationError(f"{where}: the note has {len(note_text)} characters; keep it under {NOTE_MAX}")
    return SkinCheck(text, note_text)
