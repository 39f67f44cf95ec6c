"""Console accounts and sessions in the database: who may review, coordinate or administer.

Passwords are kept as scrypt hashes (``passwords``); sessions as the sha256 of
their cookie token (``sessions``). A wrong password counts against the account
and against the client address; past the limit either is locked for a while,
and a locked account refuses even the right password until the lock ends.
Every refusal says the same "name or password wrong" unless a lock holds, so
the page does not tell which names exist.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update

from kiosk.config import ServerSection
from kiosk.errors import KioskError
from kiosk.server import tables as t
from kiosk.server.db import Database
from kiosk.server.passwords import DUMMY_HASH, hash_password, needs_rehash, password_problem, verify_password
from kiosk.server.sessions import (
    LockPolicy,
    SessionPolicy,
    after_miss,
    locked,
    new_token,
    session_alive,
    token_key,
)
from kiosk.server.upsert import insert_new, upsert

log = logging.getLogger(__name__)

ROLES = ("reviewer", "coordinator", "admin")
_NAME = re.compile(r"^[A-Za-z0-9._-]{2,32}$")
#: a session's last-seen time is written at most this often (not on every request)
_TOUCH_EVERY_S = 30.0


class AccountError(KioskError):
    """An account that cannot be created or changed as asked."""

    default_key = "console.user.bad_name"


class LoginRefused(KioskError):
    """A login that did not succeed: wrong name or password, or a lock."""

    default_key = "console.login.wrong"


@dataclass(frozen=True)
class User:
    """A console user."""

    name: str
    role: str


@dataclass(frozen=True)
class Session:
    """A live console session: its user and its CSRF token."""

    user: User
    csrf: str


def check_name(name: str) -> str:
    """``name`` if it is a valid user name; ``AccountError`` otherwise."""
    if not _NAME.match(name):
        raise AccountError("console.user.bad_name", detail="bad user name")
    return name


class Accounts:
    """Users, their logins and their sessions."""

    def __init__(self, db: Database, lock: LockPolicy, address_lock: LockPolicy, sessions: SessionPolicy) -> None:
        self._db = db
        self._lock = lock
        self._address_lock = address_lock
        self._sessions = sessions

    @classmethod
    def for_settings(cls, db: Database, section: ServerSection) -> Accounts:
        """Accounts with the lock-out and session limits of ``[server]``."""
        lock_s = section.login_lock_minutes * 60
        return cls(db, LockPolicy(section.login_max_misses, lock_s),
                   LockPolicy(section.login_address_max_misses, lock_s),
                   SessionPolicy(section.console_idle_minutes * 60, section.console_max_hours * 3600))

    # -- users ---------------------------------------------------------------

    def add(self, name: str, role: str, password: str, now: datetime) -> User:
        """Create a user; ``AccountError`` for a bad name, role or password, or a name already taken."""
        check_name(name)
        if role not in ROLES:
            raise AccountError("console.user.bad_name", detail=f"role {role!r}")
        problem = password_problem(password)
        if problem:
            raise AccountError(problem, detail="password refused")
        hashed = hash_password(password)
        with self._db.write() as conn:
            inserted = insert_new(conn, t.users, {"name": name, "role": role, "password_hash": hashed,
                                                  "created_at": now.isoformat(), "misses": 0}, ["name"])
        if not inserted:
            raise AccountError("console.user.exists", detail="name taken", name=name)
        log.info("user.added role=%s", role)
        return User(name, role)

    def disable(self, name: str, now: datetime) -> bool:
        """Disable ``name`` and end its sessions; whether such a user was enabled."""
        with self._db.write() as conn:
            done = conn.execute(update(t.users).where(t.users.c.name == name, t.users.c.disabled_at.is_(None))
                                .values(disabled_at=now.isoformat())).rowcount
            conn.execute(update(t.console_sessions).where(t.console_sessions.c.user_name == name,
                                                          t.console_sessions.c.ended_ts.is_(None))
                         .values(ended_ts=now.timestamp()))
        if done:
            log.info("user.disabled")
        return bool(done)

    def list(self) -> list[tuple[User, bool]]:
        """Every user with whether it is enabled, by name."""
        with self._db.read() as conn:
            rows = conn.execute(select(t.users.c.name, t.users.c.role, t.users.c.disabled_at)
                                .order_by(t.users.c.name)).all()
        return [(User(r.name, r.role), r.disabled_at is None) for r in rows]

    # -- logins --------------------------------------------------------------

    def login(self, name: str, password: str, address: str, now: datetime) -> tuple[str, Session]:
        """A new session for ``name`` when ``password`` is right: its cookie token and the session.

        ``LoginRefused`` otherwise ("console.login.wrong", or "console.login.locked" with ``minutes``).
        """
        ts = now.timestamp()
        address = address[:64] or "-"
        with self._db.read() as conn:
            place = conn.execute(select(t.login_addresses.c.locked_until_ts)
                                 .where(t.login_addresses.c.address == address)).first()
            row = conn.execute(select(t.users).where(t.users.c.name == name[:64])).first()
        if place is not None and locked(place.locked_until_ts, ts):
            log.info("login.refused why=address_locked")
            raise self._locked(place.locked_until_ts, ts)
        if row is not None and row.disabled_at is None and locked(row.locked_until_ts, ts):
            log.info("login.refused why=account_locked")
            raise self._locked(row.locked_until_ts, ts)
        usable = row is not None and row.disabled_at is None
        # An unknown name costs one hash too: the answer's timing does not tell which names exist.
        right = verify_password(password, row.password_hash if usable and row is not None else DUMMY_HASH)
        if not (usable and right) or row is None:
            self._miss(name if usable else None, address, ts)
            log.info("login.refused why=%s", "wrong_password" if usable else "no_such_user")
            raise LoginRefused("console.login.wrong", detail="wrong name or password")
        token, csrf = new_token(), new_token()
        with self._db.write() as conn:
            values: dict[str, object] = {"misses": 0, "locked_until_ts": None}
            if needs_rehash(row.password_hash):
                values["password_hash"] = hash_password(password)
            conn.execute(update(t.users).where(t.users.c.name == row.name).values(**values))
            conn.execute(update(t.login_addresses).where(t.login_addresses.c.address == address)
                         .values(misses=0, locked_until_ts=None))
            conn.execute(t.console_sessions.insert().values(
                token_sha256=token_key(token), user_name=row.name, csrf_token=csrf, created_ts=ts, last_seen_ts=ts))
        log.info("login.ok role=%s", row.role)
        return token, Session(User(row.name, row.role), csrf)

    def _miss(self, name: str | None, address: str, ts: float) -> None:
        with self._db.write() as conn:
            if name is not None:
                # the increment happens in the database: two wrong passwords at once both count
                conn.execute(update(t.users).where(t.users.c.name == name).values(misses=t.users.c.misses + 1))
                misses = conn.execute(select(t.users.c.misses).where(t.users.c.name == name)).scalar_one()
                if misses >= self._lock.max_misses:
                    state = after_miss(misses - 1, ts, self._lock)
                    conn.execute(update(t.users).where(t.users.c.name == name)
                                 .values(misses=state.misses, locked_until_ts=state.locked_until))
                    log.warning("login.account_locked")
            upsert(conn, t.login_addresses, {"address": address, "misses": 1}, ["address"],
                   {"misses": t.login_addresses.c.misses + 1})
            misses = conn.execute(select(t.login_addresses.c.misses)
                                  .where(t.login_addresses.c.address == address)).scalar_one()
            if misses >= self._address_lock.max_misses:
                state = after_miss(misses - 1, ts, self._address_lock)
                conn.execute(update(t.login_addresses).where(t.login_addresses.c.address == address)
                             .values(misses=state.misses, locked_until_ts=state.locked_until))
                log.warning("login.address_locked")

    @staticmethod
    def _locked(until: float, ts: float) -> LoginRefused:
        minutes = max(1, int((until - ts + 59) // 60))
        return LoginRefused("console.login.locked", detail="locked", minutes=minutes)

    # -- sessions ------------------------------------------------------------

    def session(self, token: str | None, now: datetime) -> Session | None:
        """The live session of cookie ``token``, or None (unknown, ended, expired, user disabled)."""
        if not token or len(token) > 128:
            return None
        ts = now.timestamp()
        key = token_key(token)
        s, u = t.console_sessions, t.users
        with self._db.read() as conn:
            row = conn.execute(select(s.c.created_ts, s.c.last_seen_ts, s.c.ended_ts, s.c.csrf_token, u.c.name,
                                      u.c.role, u.c.disabled_at)
                               .join_from(s, u, s.c.user_name == u.c.name).where(s.c.token_sha256 == key)).first()
        if row is None or row.ended_ts is not None or row.disabled_at is not None:
            return None
        if not session_alive(row.created_ts, row.last_seen_ts, ts, self._sessions):
            return None
        if ts - row.last_seen_ts > _TOUCH_EVERY_S:
            with self._db.write() as conn:
                conn.execute(update(s).where(s.c.token_sha256 == key).values(last_seen_ts=ts))
        return Session(User(row.name, row.role), row.csrf_token)

    def end_session(self, token: str | None, now: datetime) -> None:
        """End the session of cookie ``token`` (logout); a no-op for an unknown one."""
        if not token:
            return
        with self._db.write() as conn:
            conn.execute(update(t.console_sessions).where(t.console_sessions.c.token_sha256 == token_key(token))
                         .values(ended_ts=now.timestamp()))
        log.info("logout.ok")

    def forget_sessions(self, now: datetime) -> int:
        """Delete sessions that ended or can no longer be used (the periodic purge); how many."""
        s = t.console_sessions
        cutoff = now.timestamp() - max(self._sessions.idle_s, self._sessions.max_s)
        with self._db.write() as conn:
            gone = conn.execute(delete(s).where(or_(s.c.ended_ts.is_not(None), s.c.last_seen_ts < cutoff,
                                                    s.c.created_ts < cutoff))).rowcount
        return int(gone)

    def count_live_sessions(self) -> int:
        """Sessions not ended (for tests and the admin)."""
        with self._db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(t.console_sessions)
                                    .where(t.console_sessions.c.ended_ts.is_(None))).scalar_one())
