"""Control lots as records: the control materials and lots of each analyzer and level, each with its target mean
and SD (mmol/L) and its expiry date, entered by QA; the lots a control run may be recorded on.

A lot is entered either with the lab's own targets (``established``), or ``provisional`` with the
manufacturer's assigned values until the lab has its own: CLSI C24 asks each laboratory to establish the mean and
SD of a new lot from its own results, at least 20 of them on separate days (analytical runs), measured in
parallel with the lot in use. So a provisional lot is run alongside an established one; its results are
recorded, but they are not judged against the manufacturer's values and they cannot release patient results on
their own (the release gate, ``analytical_qc``, wants an established lot of each level in the analytical run).
``establish_targets`` then computes the mean and SD from the lot's first N results (N set by the lab, 20 by
default), recorded with who and when.

The table is append-only: adding, establishing and retiring each write a new row (the lot as it stands from
then on); a lot's latest row is its state.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sweattest.core.errors import ValidationError
from sweattest.core.rules.qc import ControlLot
from sweattest.core.units import Q_
from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.rowhash import range_item

#: The bench's chloridometer, as QC results name it.
DEFAULT_ANALYZER = "chloridometer-1"
LEVELS = ("normal", "abnormal")
STATES = ("provisional", "established", "retired")
#: CLSI C24: a new lot's mean and SD from at least 20 results on separate days.
ESTABLISH_RUNS = 20
SRC_ESTABLISH = "CLSI C24: the lab's own mean and SD of a new control lot, from at least 20 runs"
#: The two control lots the bench has always run (CLSI C34: normal ~40, abnormal ~100 mmol/L), with the targets
#: it has always used: recorded the first time a run needs QC on a store that has no lot of the default analyzer
#: (a new store, or one that kept QC before lots were records), so the demo, simulated and training runs and an
#: existing installation go on as before. QA retires them and enters the lab's own lots.
SEED_LOTS = (("normal", "QCN-2611", 40.0, 1.5), ("abnormal", "QCA-2611", 100.0, 3.0))
SEED_MATERIAL = "sweat chloride control (initial lot; QA enters the lab's own)"
#: Shelf life given to the seeded lots, from the day they are recorded.
SEED_SHELF_LIFE = timedelta(days=365)


@dataclass(frozen=True)
class Lot:
    """A control lot as it stands (its latest row)."""

    analyzer: str
    level: str
    lot: str
    material: str
    expires: date
    mean: float
    sd: float
    state: str
    establish_runs: int
    at: datetime
    who: str
    reason: str | None = None

    @property
    def established(self) -> bool:
        return self.state == "established"

    def control_lot(self) -> ControlLot:
        return ControlLot(self.level, self.lot, Q_(self.mean, "mmol/L"), Q_(self.sd, "mmol/L"))

    def as_dict(self) -> dict[str, Any]:
        return {"analyzer": self.analyzer, "level": self.level, "lot": self.lot, "material": self.material,
                "expires": self.expires.isoformat(), "target_mean": self.mean, "target_sd": self.sd,
                "state": self.state, "establish_runs": self.establish_runs, "since": self.at.isoformat(),
                "by": self.who}


def lots(store, analyzer: str | None = None) -> list[Lot]:
    """Every lot as it stands, by analyzer, level and lot."""
    t = schema.qc_lots
    query = sa.select(t).order_by(t.c.id)
    if analyzer is not None:
        query = query.where(t.c.analyzer == analyzer)
    latest: dict[tuple[str, str], Lot] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query).mappings():
            latest[(row["analyzer"], row["lot"])] = _lot(row)
    return sorted(latest.values(), key=lambda x: (x.analyzer, LEVELS.index(x.level) if x.level in LEVELS else 9,
                                                   x.lot))


def history(store, analyzer: str, lot: str) -> list[dict[str, Any]]:
    """Every row of one lot, oldest first: what was done to it, by whom and when."""
    t = schema.qc_lots
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(t).where(t.c.analyzer == analyzer, t.c.lot == lot)
                                              .order_by(t.c.id)).mappings()]


def find_lot(store, analyzer: str, lot: str) -> Lot | None:
    return next((x for x in lots(store, analyzer) if x.lot == lot), None)


def lots_in_use(store, analyzer: str, day: date) -> list[Lot]:
    """The lots a control run of ``analyzer`` is measured on that day: not retired, not expired; by level,
    established lots first."""
    usable = [x for x in lots(store, analyzer) if x.state != "retired" and x.expires >= day]
    return sorted(usable, key=lambda x: (LEVELS.index(x.level) if x.level in LEVELS else 9, not x.established,
                                         x.lot))


def usable_lot(store, analyzer: str, level: str, lot: str, day: date) -> Lot:
    """The lot a control result is recorded on, or a ValidationError that says why it may not be."""
    found = find_lot(store, analyzer, lot)
    if found is None:
        other = next((x for x in lots(store) if x.lot == lot), None)
        if other is not None:
            raise ValidationError(f"control lot {lot} belongs to analyzer {other.analyzer}, not {analyzer}: "
                                  "nothing was recorded; use a lot entered for this analyzer")
        raise ValidationError(f"control lot {lot} is not a known lot of analyzer {analyzer}: nothing was "
                              "recorded; QA enters the lot first (sweattest qc lot add)")
    if found.level != level:
        raise ValidationError(f"control lot {lot} is a {found.level} control, not {level}: nothing was recorded")
    if found.state == "retired":
        raise ValidationError(f"control lot {lot} was retired on {found.at:%Y-%m-%d} ({found.reason}): nothing "
                              "was recorded; use the lot in use")
    if found.expires < day:
        raise ValidationError(f"control lot {lot} expired on {found.expires.isoformat()}: nothing was recorded; "
                              "use a lot in date")
    return found


def record_control(store, *, analyzer: str, level: str, lot: str, value: float, qc_run: str, at: datetime,
                   who: str) -> int:
    """One control result (mmol/L) on a lot that may be used that day, stored with the lot's targets then."""
    found = usable_lot(store, analyzer, level, lot, at.date())
    return store.add_qc_result(analyzer=analyzer, level=level, lot=lot, target_mean=found.mean,
                               target_sd=found.sd, value=value, qc_run=qc_run, at=at, who=who)


def add_lot(store, *, analyzer: str, level: str, lot: str, material: str, expires: date, mean: float, sd: float,
            provisional: bool, who: str, establish_runs: int = ESTABLISH_RUNS) -> Lot:
    """A new lot. ``provisional``: ``mean`` and ``sd`` are the manufacturer's, until the lab establishes its own."""
    at = store.clock.utcnow()
    analyzer, lot, material = _text(analyzer, "analyzer"), _text(lot, "lot"), _text(material, "material")
    if level not in LEVELS:
        raise ValidationError(f"level {level!r}: use one of {', '.join(LEVELS)}")
    if expires < at.date():
        raise ValidationError(f"lot {lot}: expiry {expires.isoformat()} is past; a lot out of date cannot be added")
    _check_targets(lot, mean, sd)
    if isinstance(establish_runs, bool) or not isinstance(establish_runs, int) or not 2 <= establish_runs <= 100:
        raise ValidationError(f"lot {lot}: runs to establish targets {establish_runs!r}: a whole number from 2 to "
                              f"100 ({SRC_ESTABLISH})")
    existing = next((x for x in lots(store) if x.lot == lot), None)
    if existing is not None:
        raise ValidationError(f"lot {lot} is already recorded ({existing.level} control of {existing.analyzer}, "
                              f"{existing.state}); nothing was added")
    row = {"analyzer": analyzer, "level": level, "lot": lot, "material": material, "expires": expires.isoformat(),
           "target_mean": float(mean), "target_sd": float(sd),
           "state": "provisional" if provisional else "established", "establish_runs": establish_runs,
           "action": "add", "reason": None}
    return _append(store, row, at, who)


def establish_targets(store, analyzer: str, lot: str, *, who: str) -> tuple[Lot, int]:
    """The lab's own mean and SD of a provisional lot, from its first ``establish_runs`` results (one per
    analytical run, the first of each). Returns the lot as established and the number of results used."""
    found = find_lot(store, analyzer, lot)
    if found is None:
        raise ValidationError(f"lot {lot} is not a known lot of analyzer {analyzer}")
    if found.state != "provisional":
        raise ValidationError(f"lot {lot} is {found.state}: only a provisional lot has its targets established")
    per_run: dict[str, float] = {}
    for r in store.qc_results(analyzer, found.level):
        if r["lot"] == lot:
            per_run.setdefault(r["qc_run"], r["value"])
    values = list(per_run.values())[:found.establish_runs]
    if len(values) < found.establish_runs:
        raise ValidationError(f"lot {lot} has {len(values)} of the {found.establish_runs} runs needed to establish "
                              f"its targets ({SRC_ESTABLISH}); it stays provisional")
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    if sd <= 0:
        raise ValidationError(f"lot {lot}: its first {len(values)} results are all equal (SD 0): check the analyzer "
                              "and the results before establishing targets")
    row = _row(found) | {"target_mean": round(mean, 3), "target_sd": round(sd, 3), "state": "established",
                         "action": "establish",
                         "reason": f"mean and SD of its first {len(values)} runs ({SRC_ESTABLISH})"}
    return _append(store, row, store.clock.utcnow(), who), len(values)


def retire_lot(store, analyzer: str, lot: str, *, reason: str, who: str) -> Lot:
    found = find_lot(store, analyzer, lot)
    if found is None:
        raise ValidationError(f"lot {lot} is not a known lot of analyzer {analyzer}")
    if found.state == "retired":
        raise ValidationError(f"lot {lot} is already retired")
    row = _row(found) | {"state": "retired", "action": "retire", "reason": _text(reason, "reason")}
    return _append(store, row, store.clock.utcnow(), who)


def seed_initial_lots(store, analyzer: str = DEFAULT_ANALYZER) -> None:
    """The bench's two initial control lots, recorded once: when the store has no lot of ``analyzer``."""
    if lots(store, analyzer):
        return
    expires = store.clock.utcnow().date() + SEED_SHELF_LIFE
    for level, lot, mean, sd in SEED_LOTS:
        add_lot(store, analyzer=analyzer, level=level, lot=lot, material=SEED_MATERIAL, expires=expires,
                mean=mean, sd=sd, provisional=False, who="system")


def targets(store, analyzer: str) -> dict[str, Lot]:
    """Lot -> the lot as it stands, for the analyzer's lots."""
    return {x.lot: x for x in lots(store, analyzer)}


def _check_targets(lot: str, mean: float, sd: float) -> None:
    if not 0 < mean <= 200:
        raise ValidationError(f"lot {lot}: target mean {mean:g} mmol/L is outside 0-200 mmol/L; check the value")
    if not 0 < sd < mean:
        raise ValidationError(f"lot {lot}: target SD {sd:g} mmol/L must be above 0 and below the mean")


def _text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > 120:
        raise ValidationError(f"{what}: give a text of 1 to 120 characters")
    return value


def _row(lot: Lot) -> dict[str, Any]:
    return {"analyzer": lot.analyzer, "level": lot.level, "lot": lot.lot, "material": lot.material,
            "expires": lot.expires.isoformat(), "target_mean": lot.mean, "target_sd": lot.sd, "state": lot.state,
            "establish_runs": lot.establish_runs, "action": "", "reason": None}


def _append(store, row: dict[str, Any], at: datetime, who: str) -> Lot:
    with store.writing() as conn:
        new_id = conn.execute(schema.qc_lots.insert().values(**row, at=at, who=who)).inserted_primary_key[0]
        append_audit(conn, who=who, what=f"qc_lot_{row['action']}", at=at, why=row["reason"], new=row,
                     rows=[range_item(conn, "qc_lots", new_id, new_id)])
    return _lot(row | {"at": at, "who": who})


def _lot(row) -> Lot:
    return Lot(row["analyzer"], row["level"], row["lot"], row["material"], date.fromisoformat(row["expires"]),
               row["target_mean"], row["target_sd"], row["state"], row["establish_runs"], row["at"], row["who"],
               row["reason"])


@dataclass(frozen=True)
class Judging:
    """How an analyzer's control results are judged: by the lab's targets of each lot, from the time they were
    the lab's (``since``); results on a lot before that (provisional) are recorded but not judged. Results on a
    lot that has no record (stored before lots were records) are judged by the targets stored with them."""

    targets: dict[str, tuple[ControlLot, datetime]]
    recorded: frozenset[str]

    def judged(self, row: dict[str, Any]) -> bool:
        if row["lot"] not in self.recorded:
            return True
        target = self.targets.get(row["lot"])
        return target is not None and row["at"] >= target[1]

    def target(self, row: dict[str, Any]) -> ControlLot:
        if row["lot"] in self.targets:
            return self.targets[row["lot"]][0]
        return ControlLot(row["level"], row["lot"], Q_(row["target_mean"], "mmol/L"), Q_(row["target_sd"], "mmol/L"))


def judging(store, analyzer: str) -> Judging:
    t = schema.qc_lots
    out: dict[str, tuple[ControlLot, datetime]] = {}
    recorded: set[str] = set()
    with store.engine.connect() as conn:
        for row in conn.execute(sa.select(t).where(t.c.analyzer == analyzer).order_by(t.c.id)).mappings():
            recorded.add(row["lot"])
            if row["lot"] not in out and row["state"] == "established":
                out[row["lot"]] = (_lot(row).control_lot(), row["at"])
    return Judging(out, frozenset(recorded))
