"""Tables. Changes to them are made only by a new migration in ``migrations.py``."""

from __future__ import annotations

import sqlalchemy as sa

from sweattest.record.store.types import UTCDateTime

metadata = sa.MetaData()

schema_migrations = sa.Table(
    "schema_migrations", metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column("accession", sa.String(40), nullable=False, index=True),
    sa.Column("method", sa.String(40), nullable=False),
    sa.Column("operator", sa.String(80), nullable=False, index=True),
    sa.Column("patient_mrn", sa.String(40), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, index=True),
    sa.Column("state", sa.String(32), nullable=False, index=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("order_json", sa.JSON, nullable=False),
    # denormalized for QA queries (migration 3), kept up to date by the store as events are recorded
    sa.Column("month", sa.String(7), nullable=True),  # "YYYY-MM" of created_at (UTC), for monthly QA
    sa.Column("age_group", sa.String(8), nullable=True),  # "<=3m" or ">3m" at the test date; NULL: no dob
    sa.Column("sites_measured", sa.Integer, nullable=True),  # sites with a sample measured, once judged
    sa.Column("qns", sa.Boolean, nullable=True),  # every measured site QNS; NULL: not judged yet
    sa.Column("reported_at", UTCDateTime, nullable=True),
    # the method the run was created with (migration 6); NULL for runs created before it: those replay
    # against the shipped method file of the same name
    sa.Column("protocol_text", sa.Text, nullable=True),
    sa.Column("protocol_sha256", sa.String(64), nullable=True),
    # the process performing the run (migration 6; sweattest/record/lease.py): host:pid:random, and until when
    sa.Column("lease_owner", sa.String(120), nullable=True),
    sa.Column("lease_until", UTCDateTime, nullable=True),
    # the bench station performing the run (migration 28; sweattest/record/holder.py ``this_station``), set with
    # the lease when a run is created or taken; operational: a station resumes its own runs at start-up
    sa.Column("station", sa.String(120), nullable=True),
    # why the run was performed (migration 13): patient, simulated, training, proficiency (core/purpose.py);
    # chained with the run's content
    sa.Column("purpose", sa.String(12), nullable=False, server_default=sa.text("'patient'"), index=True),
    # the patient's date of birth (YYYY-MM-DD) from the order, beside the MRN (migration 17): the patient's
    # history is found by both. Derived from the chained order_json (the history reads the order itself).
    sa.Column("patient_dob", sa.String(10), nullable=True),
    sa.Index("ix_runs_qa", "operator", "month", "age_group", "qns"),
    sa.Index("ix_runs_patient", "patient_mrn", "patient_dob"),
)

events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("site", sa.String(40), nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("t", sa.Float, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("accepted", sa.Boolean, nullable=False),
    sa.UniqueConstraint("run_id", "seq", name="uq_events_run_seq"),
)

#: One row per reading (migration 1); packed into ``reading_blocks`` and dropped by migration 11. Kept here for
#: the migrations that come before.
readings = sa.Table(
    "readings", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("site", sa.String(40), nullable=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("t", sa.Float, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Index("ix_readings_run_site_kind", "run_id", "site", "kind"),
)

#: Device readings, compactly (migration 11): the readings of one run, site and kind between two audit entries
#: (a whole stimulation, usually) in one row, packed by ``packing.pack``; ``at`` is when the last was committed,
#: ``t_first``..``t_last`` their times. ``readings_pending`` holds the writes not sealed yet, one row each
#: (``pending_readings``).
reading_blocks = sa.Table(
    "reading_blocks", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("site", sa.String(40), nullable=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("t_first", sa.Float, nullable=False),
    sa.Column("t_last", sa.Float, nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Index("ix_reading_blocks_run_site_kind", "run_id", "site", "kind"),
)

readings_pending = sa.Table(
    "readings_pending", metadata,
    *(c._copy() for c in reading_blocks.columns),
    sa.Index("ix_readings_pending_run_site_kind", "run_id", "site", "kind"),
    sqlite_autoincrement=True,  # ids are never reused once sealed rows are removed: the head's fold follows them
)

# -- users, e-signatures, amendments (migration 2) ------------------------------------------------------
users = sa.Table(
    "users", metadata,
    sa.Column("username", sa.String(80), primary_key=True),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # migration 9: lock-out after failed passwords, password age
    sa.Column("failed_passwords", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("password_changed_at", UTCDateTime, nullable=True),  # NULL: when the user was created
)

signatures = sa.Table(
    "signatures", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("username", sa.String(80), sa.ForeignKey("users.username"), nullable=False),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("meaning", sa.String(20), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    # what was signed (migration 8): the run's last event then, and the hash of the run's content, its events up
    # to that one and its result versions up to ``version`` (NULL for signatures made before migration 8)
    sa.Column("signed_seq", sa.Integer, nullable=True),
    sa.Column("signed_hash", sa.String(64), nullable=True),
)

result_versions = sa.Table(
    "result_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("by", sa.String(80), sa.ForeignKey("users.username"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("run_id", "version", name="uq_result_versions_run_version"),
)

# -- the audit trail (migration 2): append-only, hash-chained; format in docs/store.md ------------------
audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
    sa.Column("run_id", sa.String(40), nullable=True, index=True),
    sa.Column("who", sa.String(80), nullable=False),
    sa.Column("what", sa.String(80), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("why", sa.Text, nullable=True),
    sa.Column("old", sa.Text, nullable=False),  # canonical JSON text (hashed as stored)
    sa.Column("new", sa.Text, nullable=False),
    sa.Column("rows", sa.Text, nullable=True),  # chain items of the rows written with it (migration 8)
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

#: One row (id 1): the last entry's id and hash. Appends lock it, so the chain never forks; verify compares
#: the chain's end with it, so cutting entries off the end is detected too.
audit_head = sa.Table(
    "audit_head", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
    # readings folded into the chain (migration 8): ids up to readings_from are sealed by an entry; those up to
    # readings_to are folded into readings_acc, which the next entry seals
    sa.Column("readings_from", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False,
              server_default="0"),
    sa.Column("readings_to", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False,
              server_default="0"),
    sa.Column("readings_acc", sa.String(64), nullable=True),
)

# -- QC results of the chloride analyzer (migration 3) -------------------------------------------------
qc_results = sa.Table(
    "qc_results", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("analyzer", sa.String(40), nullable=False),
    sa.Column("level", sa.String(20), nullable=False),
    sa.Column("lot", sa.String(40), nullable=False),
    sa.Column("target_mean", sa.Float, nullable=False),  # mmol/L
    sa.Column("target_sd", sa.Float, nullable=False),  # mmol/L
    sa.Column("value", sa.Float, nullable=False),  # mmol/L
    sa.Column("qc_run", sa.String(40), nullable=False),  # the analytical run the control belongs to
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("who", sa.String(80), nullable=False),
    sa.Index("ix_qc_results_analyzer_level", "analyzer", "level", "at"),
)

# -- QC verdicts and the acts on a held analytical run (migration 22; docs/qc.md) ---------------------------
#: Each Westgard verdict on an analytical run, recorded when it is made, with what it was made from: the run's
#: controls (lot, target, value, z-score), the earlier runs' z-scores of the series and the rules in use
#: (``made_from``, JSON text). Append-only; a run judged again (a control added) gets a new row, and a run once
#: rejected stays held whatever comes after (``sweattest.record.qc_verdicts``).
qc_verdicts = sa.Table(
    "qc_verdicts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("qc_run", sa.String(80), nullable=False, index=True),
    sa.Column("analyzer", sa.String(80), nullable=False),  # the analyzer's serial number
    sa.Column("purpose", sa.String(12), nullable=False),  # the series: patient, simulated, training, proficiency
    sa.Column("verdict", sa.String(10), nullable=False),  # accepted, rejected, incomplete
    sa.Column("findings", sa.Text, nullable=False),  # JSON list of [code, severity, message]
    sa.Column("made_from", sa.Text, nullable=False),  # JSON: controls, history, rules
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("who", sa.String(80), nullable=False),
    sa.Index("ix_qc_verdicts_series", "analyzer", "purpose", "at"),
)
#: What was done about a rejected analytical run: a corrective action (what was found and done) or an override
#: of the hold (a separate signed act, with the reason). Append-only.
qc_actions = sa.Table(
    "qc_actions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("qc_run", sa.String(80), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),  # corrective_action, override
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("who", sa.String(80), nullable=False),
)

# -- repeat tests (migration 17) ----------------------------------------------------------------------
#: A run declared a repeat of an earlier run of the same patient, with the reason (``sweattest.record.repeats``).
#: Append-only: a correction is a new row for the same run; the latest row is the link in force.
repeat_links = sa.Table(
    "repeat_links", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("repeat_of", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("reason", sa.String(40), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("who", sa.String(80), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)

# -- the LIS interface (sweattest/lis; docs/lis.md) -----------------------------------------------------
#: Messages leaving for the LIS (migration 9): queued with the signature that releases them, delivered until
#: acknowledged, never sent again once accepted. ``channel``: "mllp" or "folder"; ``destination``: the drop
#: folder, or for MLLP "lis" (whatever LIS the sending process is configured for; an address before migration
#: 24). ``state``: pending, delivered (AA / file renamed into the folder), failed (AR, or AE repeated: needs
#: attention), superseded (a later version of the result went out instead). Migration 24: ``accession`` (the
#: messages of one accession leave in order; other accessions' do not wait), ``ae_count`` (AE answers so far),
#: ``run_id`` empty for an order status message of an order refused before any run.
outbox = sa.Table(
    "outbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=True, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("format", sa.String(10), nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("destination", sa.String(400), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),  # the file name in a drop folder
    sa.Column("control_id", sa.String(20), nullable=True),
    sa.Column("body", sa.Text, nullable=True),  # NULL: queued with its signature, not yet rendered
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Column("accession", sa.String(40), nullable=True),
    sa.Column("ae_count", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("run_id", "version", "format", "channel", "destination", name="uq_outbox_delivery"),
    sa.Index("ix_outbox_state", "channel", "state", "id"),
)

#: Orders from the LIS (migration 10): the worklist. ``state``: open, started (a run was created), cancelled.
lis_orders = sa.Table(
    "lis_orders", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # ORC-2 / OBR-2: the accession; one order open or started per accession (migration 26: a cancelled
    # accession may be ordered again, so it is no longer unique)
    sa.Column("placer", sa.String(40), nullable=False, index=True),
    sa.Column("filler", sa.String(40), nullable=True),  # ORC-3 / OBR-3
    sa.Column("mrn", sa.String(40), nullable=False),
    sa.Column("test_code", sa.String(40), nullable=False),
    sa.Column("state", sa.String(12), nullable=False, index=True),
    sa.Column("order_json", sa.JSON, nullable=False),  # patient, identifiers, provider, codes as received
    sa.Column("control_id", sa.String(40), nullable=False),  # MSH-10 of the message that placed it
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("run_id", sa.String(40), nullable=True),
    # migration 25: why the laboratory closed the order (code, text, note, who, at), told to the LIS
    sa.Column("closed_reason", sa.JSON, nullable=True),
)

#: Every order message received (migration 10), once per sender and MSH-10: a repeat is answered with the
#: acknowledgement given the first time and changes nothing.
lis_messages = sa.Table(
    "lis_messages", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sender", sa.String(100), nullable=False),
    sa.Column("control_id", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),  # of the message (segments ending CR)
    sa.Column("ack_code", sa.String(2), nullable=False),
    sa.Column("ack", sa.Text, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("sender", "control_id", name="uq_lis_messages_sender_control"),
)

# -- server-side web sessions (migration 12) ------------------------------------------------------------
#: One row per log-in; the browser's cookie holds a random token, the row only its SHA-256. A session ends
#: (``ended_at``, ``end_reason``) at log-out, when its user is disabled, or after the idle time.
web_sessions = sa.Table(
    "web_sessions", metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(80), sa.ForeignKey("users.username"), nullable=False, index=True),
    sa.Column("station", sa.String(120), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("locked", sa.Boolean, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Column("end_reason", sa.String(40), nullable=True),
)

# -- proficiency testing (migration 16; sweattest/record/proficiency.py, docs/pt.md) ---------------------
#: A PT event of an external provider (CAP SW survey, UK NEQAS sweat scheme): the shipment of samples. Dates are
#: ISO text (YYYY-MM-DD, the lab's calendar).
pt_events = sa.Table(
    "pt_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("provider", sa.String(40), nullable=False),
    sa.Column("scheme", sa.String(80), nullable=False),
    sa.Column("event_code", sa.String(40), nullable=False),
    sa.Column("received_on", sa.String(10), nullable=False),
    sa.Column("due_on", sa.String(10), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("who", sa.String(80), nullable=False),
    sa.UniqueConstraint("provider", "scheme", "event_code", name="uq_pt_events_code"),
)

#: The samples of an event, by the provider's sample id (what the tech enters as the accession).
pt_samples = sa.Table(
    "pt_samples", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.Integer, sa.ForeignKey("pt_events.id"), nullable=False, index=True),
    sa.Column("sample_id", sa.String(40), nullable=False, unique=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("who", sa.String(80), nullable=False),
)

#: The provider's target and acceptable range per sample (mmol/L), entered by QA when the provider reports them;
#: a correction is a new row (the latest counts), with its reason.
pt_targets = sa.Table(
    "pt_targets", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sample_id", sa.String(40), sa.ForeignKey("pt_samples.sample_id"), nullable=False, index=True),
    sa.Column("target", sa.Float, nullable=False),
    sa.Column("low", sa.Float, nullable=False),
    sa.Column("high", sa.Float, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("who", sa.String(80), nullable=False),
)

#: Each sample's grade when QA grades the event: the lab's result (NULL: none returned), the run it came from,
#: the range it was judged by, acceptable or unacceptable. A regrading adds rows (the latest grading counts).
pt_grades = sa.Table(
    "pt_grades", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.Integer, sa.ForeignKey("pt_events.id"), nullable=False, index=True),
    sa.Column("sample_id", sa.String(40), nullable=False),
    sa.Column("run_id", sa.String(40), nullable=True),
    sa.Column("result", sa.Float, nullable=True),
    sa.Column("low", sa.Float, nullable=False),
    sa.Column("high", sa.Float, nullable=False),
    sa.Column("grade", sa.String(12), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("who", sa.String(80), nullable=False),
)

#: The corrective action of a failed event: what was found, what was done, by whom and on which day.
pt_corrective_actions = sa.Table(
    "pt_corrective_actions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.Integer, sa.ForeignKey("pt_events.id"), nullable=False, index=True),
    sa.Column("found", sa.Text, nullable=False),
    sa.Column("done", sa.Text, nullable=False),
    sa.Column("done_by", sa.String(200), nullable=False),
    sa.Column("done_on", sa.String(10), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("who", sa.String(80), nullable=False),
)

# -- QC lots, calibrations and the equipment log (migration 14; docs/equipment.md) ----------------------
#: Control lots per analyzer and level, append-only: each row is the lot as it stands from then on (added,
#: targets established, retired); a lot's latest row is its state. Dates are ISO text (YYYY-MM-DD).
#: ``state``: provisional (targets are the manufacturer's, until ``establish_runs`` results give the lab's own),
#: established, retired.
qc_lots = sa.Table(
    "qc_lots", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("analyzer", sa.String(40), nullable=False),
    sa.Column("level", sa.String(20), nullable=False),
    sa.Column("lot", sa.String(40), nullable=False),
    sa.Column("material", sa.String(120), nullable=False),
    sa.Column("expires", sa.String(10), nullable=False),
    sa.Column("target_mean", sa.Float, nullable=False),  # mmol/L
    sa.Column("target_sd", sa.Float, nullable=False),  # mmol/L
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("establish_runs", sa.Integer, nullable=False),
    sa.Column("action", sa.String(12), nullable=False),  # add, establish, retire
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("who", sa.String(80), nullable=False),
    sa.Index("ix_qc_lots_lot", "analyzer", "level", "lot"),
)

#: Calibrations and calibration verifications of an instrument (by its serial number), append-only.
calibrations = sa.Table(
    "calibrations", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("instrument", sa.String(80), nullable=False, index=True),  # serial number
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("kind", sa.String(12), nullable=False),  # calibration, verification
    sa.Column("outcome", sa.String(4), nullable=False),  # pass, fail
    sa.Column("performed_on", sa.String(10), nullable=False),
    sa.Column("interval_days", sa.Integer, nullable=False),
    sa.Column("next_due", sa.String(10), nullable=False),
    sa.Column("reference", sa.Text, nullable=True),  # reference values (e.g. NaCl standard 100 mmol/L)
    sa.Column("notes", sa.Text, nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("who", sa.String(80), nullable=False),
)

#: The equipment log of an instrument (by its serial number), append-only: maintenance and repairs, electrode
#: and collector lots put in use, out of service and back in service.
equipment_log = sa.Table(
    "equipment_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("instrument", sa.String(80), nullable=False, index=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("on_date", sa.String(10), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("lot", sa.String(40), nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("who", sa.String(80), nullable=False),
)

# -- people: skin reactions after stimulation, operator competency (migration 15) ------------------------
#: The skin of each stimulated site when the electrodes came off (``sweattest.core.rules.skin``): none,
#: erythema, blister or burn, with the tech's note. A later row for the same run and site corrects an earlier.
skin_reactions = sa.Table(
    "skin_reactions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("site", sa.String(40), nullable=False),
    sa.Column("grade", sa.String(12), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("who", sa.String(80), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)

#: Training and competency assessments of the lab's operators (``sweattest.record.competency``): what, when
#: (a date), by which assessor, the outcome, and when the next one is due.
competency_records = sa.Table(
    "competency_records", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("operator", sa.String(80), sa.ForeignKey("users.username"), nullable=False, index=True),
    sa.Column("kind", sa.String(12), nullable=False),  # training | assessment
    sa.Column("what", sa.String(200), nullable=False),
    sa.Column("done_on", sa.String(10), nullable=False),  # YYYY-MM-DD
    sa.Column("assessor", sa.String(80), nullable=False),
    sa.Column("outcome", sa.String(4), nullable=False),  # pass | fail
    sa.Column("next_due", sa.String(10), nullable=True),  # YYYY-MM-DD; NULL: none set
    sa.Column("recorded_by", sa.String(80), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)
