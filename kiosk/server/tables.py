"""The server's tables, as the code reads and writes them: one ``MetaData`` for every table.

This module describes the schema as it is after the last migration step
(``kiosk.server.migrations``); the steps themselves carry frozen copies of what
they create, so that a table added or changed here needs a new step too. A test
compares a freshly migrated database with these definitions.

Portable types only (SQLite and PostgreSQL run the same statements): times are
ISO text for people and epoch seconds (``Float``: double precision on
PostgreSQL) where they are compared.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    text,
)

metadata = MetaData()

#: record statuses that hold a student's one place in review per batch; ``duplicate`` marks a
#: second record of a student who already has one (kept, never lost, never queued)
IN_REVIEW_STATUSES = ("queued", "approved", "confirmed")
DUPLICATE = "duplicate"

#: migration steps applied (one row per step); the runner creates it before any step
schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", Text, nullable=False),
)

batches = Table(
    "batches", metadata,
    Column("feature_code", Text, primary_key=True),
    Column("data", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)

tokens = Table(
    "tokens", metadata,
    Column("station_id", Text, primary_key=True),
    Column("token_sha256", Text, nullable=False, unique=True),
    Column("issued_at", Text, nullable=False),
    Column("revoked_at", Text),
)

records = Table(
    "records", metadata,
    Column("record_id", Text, primary_key=True),
    Column("fingerprint", Text, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("batch", Text, nullable=False),
    #: the uploading station as its token names it (never the metadata's claim)
    Column("station_id", Text, nullable=False),
    Column("uploaded_by", Text, nullable=False),
    Column("captured_at", Text, nullable=False),
    Column("captured_ts", Float, nullable=False),
    Column("received_at", Text, nullable=False),
    Column("photo_sha256", Text, nullable=False),
    Column("photo_bytes", Integer, nullable=False),
    Column("original_sha256", Text),
    Column("codeless", Integer, nullable=False),
    Column("ticket", Text, unique=True),
    Column("code_payload", Text),
    Column("code_json", Text),
    Column("student_uid", Text),
    Column("id_last4", Text),
    Column("status", Text, nullable=False),
    #: the record's number in the review queue, from ``queue_numbers`` (never MAX()+1)
    Column("queue_seq", BigInteger),
    Column("reason", Text),
    Column("bound_at", Text),
    Column("reviewed_at", Text),
    #: who made the last review decision ("admin" for the admin token)
    Column("reviewed_by", Text),
    #: sha256 (hex) of the student's status link secret; the secret itself is never stored
    Column("status_secret_sha256", Text),
    #: the phone number the student left for review results, and when they consented (both or neither)
    Column("contact_phone", Text),
    Column("contact_consent_at", Text),
    #: when the photo was confirmed, and by whom: "student", "auto" (batch ended) or "admin"
    Column("confirmed_at", Text),
    Column("confirmed_by", Text),
    #: the student's last dispute of an approved photo (it went back to the queue)
    Column("dispute_reason", Text),
    Column("disputed_at", Text),
)
Index("records_queue", records.c.status, records.c.queue_seq)
Index("records_captured", records.c.captured_ts)
Index("records_photo", records.c.photo_sha256)
Index("records_original", records.c.original_sha256)
Index("records_status_secret", records.c.status_secret_sha256, unique=True)
Index("records_code_payload", records.c.code_payload)
#: one student, one photo in review per batch, whichever station took it
ONE_IN_REVIEW = "records_one_in_review"
_in_review = text("status IN ('queued', 'approved', 'confirmed') AND student_uid IS NOT NULL")
Index(ONE_IN_REVIEW, records.c.batch, records.c.student_uid, unique=True,
      sqlite_where=_in_review, postgresql_where=_in_review)

#: queue numbers are handed out by this table's identity column: unique across processes
queue_numbers = Table(
    "queue_numbers", metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True),
    Column("taken_at", Text, nullable=False),
    sqlite_autoincrement=True,
)

#: evaluated bind guesses per subject (``ticket:T``, ``client:ADDRESS``, ``station:ID``) in the
#: current lock period; ``locked_until`` (epoch seconds) once the subject's limit is reached
bind_attempts = Table(
    "bind_attempts", metadata,
    Column("subject", Text, primary_key=True),
    Column("misses", Integer, nullable=False),
    Column("locked_until", Float),
)

#: console accounts (reviewers, coordinators, admins), passwords as scrypt hashes
users = Table(
    "users", metadata,
    Column("name", Text, primary_key=True),
    Column("role", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("disabled_at", Text),
    #: wrong passwords in a row, and the end of the lock they caused (epoch seconds)
    Column("misses", Integer, nullable=False, server_default="0"),
    Column("locked_until_ts", Float),
)

#: console sessions by the sha256 of their cookie token, each with its CSRF token
console_sessions = Table(
    "console_sessions", metadata,
    Column("token_sha256", Text, primary_key=True),
    Column("user_name", Text, ForeignKey("users.name"), nullable=False, index=True),
    Column("csrf_token", Text, nullable=False),
    Column("created_ts", Float, nullable=False),
    Column("last_seen_ts", Float, nullable=False),
    Column("ended_ts", Float),
)

#: wrong passwords per client address, and the lock they caused
login_addresses = Table(
    "login_addresses", metadata,
    Column("address", Text, primary_key=True),
    Column("misses", Integer, nullable=False),
    Column("locked_until_ts", Float),
)

#: which reviewer holds which record until when (taken by one conditional upsert)
review_claims = Table(
    "review_claims", metadata,
    Column("record_id", Text, primary_key=True),
    Column("reviewer", Text, nullable=False),
    Column("claimed_ts", Float, nullable=False),
    Column("expires_ts", Float, nullable=False, index=True),
)

#: every review decision: who, when, what, why (kept past retention: names the record by id only)
review_audit = Table(
    "review_audit", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True),
    Column("record_id", Text, nullable=False, index=True),
    Column("batch", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("reason_code", Text),
    Column("reason", Text),
    Column("at", Text, nullable=False),
    Column("at_ts", Float, nullable=False, index=True),
)

#: each station's last heartbeat
station_heartbeats = Table(
    "station_heartbeats", metadata,
    Column("station_id", Text, primary_key=True),
    Column("version", Text, nullable=False),
    Column("queue_length", Integer, nullable=False),
    Column("sent_at", Text, nullable=False),
    Column("received_at", Text, nullable=False),
    Column("received_ts", Float, nullable=False),
)

#: stations asking for staff, by the request id the station made
help_requests = Table(
    "help_requests", metadata,
    Column("request_id", Text, primary_key=True),
    Column("station_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("raised_at", Text, nullable=False),
    Column("raised_ts", Float, nullable=False),
    Column("acknowledged_at", Text),
    Column("received_at", Text, nullable=False),
)

#: review results waiting to be (or already) handed to the notifier; written in the transaction of the
#: decision, deleted with the record
notification_outbox = Table(
    "notification_outbox", metadata,
    Column("notice_id", BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True),
    Column("record_id", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text),
    Column("created_at", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("delivered_at", Text),
    Column("last_error", Text),
    sqlite_autoincrement=True,
)
Index("notification_outbox_pending", notification_outbox.c.delivered_at, notification_outbox.c.notice_id)
Index("notification_outbox_record", notification_outbox.c.record_id)

#: photos held in the database (``[server] blob_store = "database"``), by sha256, with when each was
#: last stored (retention lists old ones by the ``stored_ts`` index)
blobs = Table(
    "blobs", metadata,
    Column("sha256", Text, primary_key=True),
    Column("stored_ts", Float, nullable=False, index=True),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

#: the index of photo files (``blob_store = "files"``): when each was last stored, so retention never
#: walks the photo folder
blob_files = Table(
    "blob_files", metadata,
    Column("sha256", Text, primary_key=True),
    Column("stored_ts", Float, nullable=False, index=True),
    Column("size", Integer, nullable=False),
)
