"""``audit verify``'s second half: every chained row of the record, recomputed against the chain.

The chain walk (``sweattest.record.audit``) hands over the items its entries carry; here each chained table
is read once, in key order, in one streaming pass, and each row's hash (``rowhash``) is compared with the
last hash the chain holds for it. Then each signature's binding (``signed``) is recomputed from the row hashes
just read. The first row that does not match is named: its table, its key and, where it has one, its run.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from sweattest.record.store.chain import FOLDED
from sweattest.record.store.derived import patient_dob
from sweattest.record.store.guards import PT_TABLES
from sweattest.record.store.rowhash import COLUMNS, KEYED, SOURCE, select_sql
from sweattest.record.store.rowhash import digest as row_digest
from sweattest.record.store.signed import signed_digest

_BATCH = 20_000
#: Rows read at a time from the tables of packed readings (tens of kB each): a year's blocks are never all
#: in memory at once.
_BLOB_BATCH = 200
_BLOB_TABLES = frozenset({"reading_blocks", "readings_pending"})
#: Tables in the order they are checked (the run before what belongs to it).
#: Items of tables no longer stored (``readings``, packed into ``reading_blocks`` by migration 11, which checked
#: them against the chain first) are not checked.
ORDER = ("runs", "run_state", "users", "user_access", "events", "reading_blocks", "readings_pending",
         "result_versions", "signatures", "qc_results", "qc_lots", "calibrations", "equipment_log", "skin_reactions",
         "competency_records", *PT_TABLES, "repeat_links", "qc_verdicts", "qc_actions", "lis_orders", "lis_messages",
         "outbox")
#: Chained tables whose rows belong to no run (named by their id alone).
RUNLESS = frozenset({"qc_results", "qc_lots", "calibrations", "equipment_log", "competency_records", *PT_TABLES,
                     "qc_verdicts", "qc_actions", "lis_messages"})


@dataclass(frozen=True)
class RowProblem:
    table: str
    row: str  # the key, with the run it belongs to where it has one
    problem: str
    expected: str
    found: str


@dataclass
class ChainItems:
    """What the chain says about the rows: the last hash of each keyed row, the ranges of the others."""

    keyed: dict[str, dict[str, tuple[str, int]]] = field(default_factory=lambda: defaultdict(dict))
    ranges: dict[str, list[tuple[int, int, str, int | None]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, entry_id: int, rows_text: str) -> None:
        for item in json.loads(rows_text):
            if item[0] in KEYED:
                self.keyed[item[0]][item[1]] = (item[2], entry_id)
            else:
                self.ranges[item[0]].append((item[1], item[2], item[3], entry_id))


def check_rows(raw, dialect: str, items: ChainItems, pending: tuple[int, int, str | None],
               db_error: type[Exception] = Exception) -> tuple[int, RowProblem | None]:
    """(rows checked, the first row that does not match or None). ``pending``: the head's readings fold
    not sealed yet (from, to, digest). A table that cannot be read as chained (a column dropped or renamed,
    the table dropped: ``db_error``, the driver's error) is named as such."""
    sealed, to, acc = pending
    if acc is not None:
        items.ranges[FOLDED].append((sealed + 1, to, acc, None))
    checked = 0
    run_hashes: dict[str, str] = {}
    event_hashes: dict[str, list[tuple[int, str]]] = defaultdict(list)
    version_hashes: dict[str, list[tuple[int, str]]] = defaultdict(list)
    signatures: list[tuple] = []
    for table in ORDER:
        columns = COLUMNS[table] + (("patient_dob",) if table == "runs" else ())  # checked against the order
        rows = _stream(raw, select_sql(table, dialect, columns=columns),
                       _BLOB_BATCH if table in _BLOB_TABLES else _BATCH)
        try:
            if table in KEYED:
                count, problem = _keyed(table, rows, items.keyed.get(table, {}),
                                        run_hashes if table == "runs" else None)
            else:
                keep = {"events": event_hashes, "result_versions": version_hashes}.get(table)
                count, problem = check_ranged(table, rows, sorted(items.ranges.get(table, [])), keep,
                                              signatures if table == "signatures" else None)
        except db_error as exc:
            text = str(exc).strip()
            return checked, RowProblem(SOURCE.get(table, table), "(all)", "the table cannot be read as chained "
                                       "(altered behind the program's back)", f"columns {', '.join(COLUMNS[table])}",
                                       text.splitlines()[0] if text else type(exc).__name__)
        checked += count
        if problem is not None:
            return checked, problem
    return checked, _bindings(signatures, run_hashes, event_hashes, version_hashes)


def _keyed(table, rows, chained, keep) -> tuple[int, RowProblem | None]:
    seen: set[str] = set()
    what = "the row was" if table not in SOURCE else f"its {', '.join(COLUMNS[table][1:])} were"
    name = SOURCE.get(table, table)
    for batch in rows:
        for row in batch:
            key = row[0]
            if keep is not None:  # runs: the date of birth copied beside the MRN comes last, outside the hash
                row, dob = row[:-1], row[-1]
                problem = _dob_copy(key, row[_ORDER_AT], dob)
                if problem is not None:
                    return len(seen), problem
            digest = row_digest(row)
            want = chained.get(key)
            if want is None:
                return len(seen), RowProblem(name, str(key), "the row is not in the chain (added behind the "
                                             "program's back)", "no such row", "a row")
            if want[0] != digest:
                return len(seen), RowProblem(name, str(key), f"{what} changed after entry {want[1]} chained "
                                             f"{'it' if table not in SOURCE else 'them'}",
                                             f"hash {want[0][:16]}", f"{digest[:16]}")
            if keep is not None:  # runs: also the hash without the purpose (signatures made before migration 13)
                keep[key] = (digest, row_digest(row[:-1]))
            seen.add(key)
    if len(seen) != len(chained):
        gone = min(set(chained) - seen)
        return len(seen), RowProblem(name, str(gone), f"the row was removed after entry {chained[gone][1]} chained it",
                                     f"{len(chained)} rows", f"{len(seen)} rows")
    return len(seen), None


_ORDER_AT = COLUMNS["runs"].index("order_json")


def _dob_copy(run_id: str, order_text: str, dob: str | None) -> RowProblem | None:
    """``runs.patient_dob`` (outside the run's hash, for the index the bench finds a patient's earlier runs by)
    must be the date of birth of the run's chained order. A substring test first: the order is parsed only
    when it does not show at once."""
    if dob is not None and f'"dob": "{dob}"' in order_text or dob is None and '"dob"' not in order_text:
        return None
    want = patient_dob(json.loads(order_text))
    if want == dob:
        return None
    return RowProblem("runs", str(run_id), "its patient_dob is not the date of birth of its chained order (changed "
                      "behind the program's back)", f"patient_dob {want}", f"{dob}")


def check_ranged(table, rows, ranges, keep, signatures) -> tuple[int, RowProblem | None]:
    """Rows with integer ids against the chain's ranges (sorted by first id): each range's fold must match."""
    seen, i, acc, first = 0, 0, "", None
    for batch in rows:
        for row in batch:
            rid = row[0]
            while i < len(ranges) and rid > ranges[i][1]:
                problem = _close(table, ranges[i], acc, first)
                if problem:
                    return seen, problem
                i, acc, first = i + 1, "", None
            if i == len(ranges) or rid < ranges[i][0]:
                return seen, RowProblem(table, _name(table, row), "the row is not in the chain (added behind the "
                                        "program's back)", "no such row", "a row")
            if first is None:
                first = row
            if ranges[i][0] == ranges[i][1]:
                acc = row_digest(row)
                if keep is not None:
                    keep[row[1]].append((row[2], acc))
            else:
                acc = row_digest(row, acc)
                if keep is not None:
                    keep[row[1]].append((row[2], row_digest(row)))
            if signatures is not None:
                signatures.append(row)
            seen += 1
    for r in ranges[i:]:
        problem = _close(table, r, acc, first)
        if problem:
            return seen, problem
        acc, first = "", None
    return seen, None


def _close(table, chained_range, acc, first) -> RowProblem | None:
    """The range's fold against the chain's; named by its rows (and the run of the first row still there)."""
    lo, hi, digest, entry = chained_range
    if acc == digest:
        return None
    rows = f"{lo}" if lo == hi else f"{lo}-{hi}"
    if first is not None and len(first) > 1 and table not in RUNLESS:
        rows += f" (run {first[1]})"
    by = f"entry {entry}" if entry is not None else "the head row (not yet sealed by an entry)"
    what = "changed or removed" if lo != hi else ("removed" if acc == "" else "changed")
    return RowProblem(table, rows, f"the row{'s' if lo != hi else ''} {what} after {by} chained "
                      f"{'them' if lo != hi else 'it'}", f"hash {digest[:16]}", f"{acc[:16] or 'no row'}")


def _name(table: str, row: tuple) -> str:
    return str(row[0]) if table in RUNLESS else f"{row[0]} (run {row[1]})"


def _bindings(signatures, run_hashes, event_hashes, version_hashes) -> RowProblem | None:
    """Each signature made since migration 8 still matches what it signed. A signature made before migration 13
    signed the run's content without its purpose (the purpose itself is checked with the run's row)."""
    cols = COLUMNS["signatures"]
    at = {name: cols.index(name) for name in ("run_id", "version", "signed_seq", "signed_hash", "meaning", "username")}
    for row in signatures:
        signed_hash = row[at["signed_hash"]]
        if signed_hash is None:
            continue
        run_id, version, seq = row[at["run_id"]], row[at["version"]], row[at["signed_seq"]]
        events = [h for s, h in sorted(event_hashes.get(run_id, [])) if s <= seq]
        versions = [h for v, h in sorted(version_hashes.get(run_id, [])) if v <= version]
        digests = [signed_digest(h, events, versions) for h in run_hashes.get(run_id, ("",))]
        if signed_hash not in digests:
            digest = digests[0]
            return RowProblem("signatures", f"{row[0]} (run {run_id}, {row[at['meaning']]} by "
                              f"{row[at['username']]})", "what was signed changed after signing",
                              f"signed hash {signed_hash[:16]}", f"{digest[:16]}")
    return None


def _stream(raw, sql: str, batch: int) -> Iterator[list[tuple]]:
    cursor = raw.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        cursor.close()
