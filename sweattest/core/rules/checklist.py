"""The pre-stimulation checklist: site preparation and electrode placement (CLSI C34), confirmed item by item by
the tech before any current flows. The one list for every shell: the bench screens and the command line ask the
same items, in the same words."""

from __future__ import annotations

from sweattest.core.errors import ValidationError

#: (key, what the tech confirms). Every item must be confirmed.
CHECKLIST: tuple[tuple[str, str], ...] = (
    ("skin", "Skin at each site cleaned with deionised water and dried; intact, no eczema"),
    ("gel", "Pilocarpine gel discs (the scanned lot) seated in both electrodes"),
    ("anode", "Positive (red) electrode on the flexor forearm, negative electrode beside it"),
    ("straps", "Straps snug; nothing crosses the chest or the head"),
    ("leads", "Leads connected to the inducer channel for each site"),
)


def check_confirmed(confirmed: list[str] | tuple[str, ...], word: str = "confirmed") -> tuple[str, ...]:
    """The keys of every item, in order, when all were confirmed; else ValidationError naming the first missing
    (``word``: how the shell confirms, e.g. "ticked")."""
    missing = [text for key, text in CHECKLIST if key not in confirmed]
    if missing:
        raise ValidationError(f"check every item before stimulation; not yet {word}: {missing[0]}")
    return tuple(key for key, _ in CHECKLIST)
