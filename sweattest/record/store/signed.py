"""What a signature signs: the run's content, its events up to the last one at signing, and its result
versions up to the version signed, as one hash over their row hashes (``rowhash.row_hash``).

``signed = SHA-256(run hash + "\\n" + event hashes by seq + "\\n" + version hashes by version)``, each list joined
with ",". The signature row stores the last event's seq and this hash; ``audit verify`` recomputes it, so a
signed result that changes afterwards shows as broken at the signature.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from sweattest.record.store.rowhash import read_rows, row_hash


def signed_digest(run_hash: str, event_hashes: list[str], version_hashes: list[str]) -> str:
    text = f"{run_hash}\n{','.join(event_hashes)}\n{','.join(version_hashes)}"
    return hashlib.sha256(text.encode()).hexdigest()


def signed_content(conn: sa.Connection, run_id: str, version: int) -> tuple[int, str]:
    """(the run's last event seq, the hash of what a signature of ``version`` signs now)."""
    run = read_rows(conn, "runs", "run_id = :r", r=run_id)
    events = read_rows(conn, "events", "run_id = :r", r=run_id)
    events.sort(key=lambda row: row[2])  # by seq
    versions = read_rows(conn, "result_versions", "run_id = :r AND version <= :v", r=run_id, v=version)
    versions.sort(key=lambda row: row[2])
    last_seq = events[-1][2] if events else 0
    return last_seq, signed_digest(row_hash(run[0]), [row_hash(e) for e in events],
                                   [row_hash(v) for v in versions])
