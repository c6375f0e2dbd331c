"""Rooms in one SQLite file: create, open, change in a transaction, expire, cap, rate-limit.

One row per room::

    rooms(code TEXT PRIMARY KEY,   -- the candidate's code, secrets.token_urlsafe(9): 72 bits
          key_hash TEXT,           -- sha256 of the presenter's key (token_urlsafe(16): 128 bits)
          state TEXT,              -- the room dict of kit.rooms.room, as JSON
          version INTEGER,         -- +1 on every change: a seat's poll reads only this
          created REAL, updated REAL,  -- Unix seconds; a room expires TTL after `updated`
          client TEXT)             -- who created it (for the per-client creation limit)

Every change is ``BEGIN IMMEDIATE`` → read the row → apply a pure function → write it back →
``COMMIT``: SQLite holds the write lock from the read on, so two seats writing at once are
serialised and neither update is lost. WAL mode lets polls read while a write is in flight.
Each call opens its own connection, so threads and processes may share one store file, and a
fresh ``RoomStore`` on the same file (a server restart) finds every room still there.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_DIR_ENV = "LATENT_LAB_DATA_DIR"
"""Environment variable naming the data folder (default ``./data``, created on first use)."""

DEFAULT_DATA_DIR = "data"
"""The data folder when the variable is unset, relative to the working directory."""

FILE_NAME = "rooms.sqlite3"
"""The store's file inside the data folder."""

TTL_S = 12 * 3600.0
"""A room expires this long after its last change."""

MAX_ROOMS = 200
"""Most rooms alive at once; creating one more is refused with a message."""

RATE_WINDOW_S = 3600.0
"""The window of the per-client creation limit."""

RATE_MAX = 10
"""Rooms one client may create per ``RATE_WINDOW_S``."""

MAX_STATE_CHARS = 1_000_000
"""Largest room state (JSON characters) the store accepts."""

CODE_BYTES = 9  # token_urlsafe(9): 12 characters, 72 random bits
KEY_BYTES = 16  # token_urlsafe(16): 22 characters, 128 random bits
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{12}\Z")
"""What a room code looks like (anything else is malformed)."""
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22}\Z")
"""What a presenter key looks like."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    code TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    client TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rooms_updated ON rooms (updated);
CREATE INDEX IF NOT EXISTS rooms_client ON rooms (client, created);
"""


class RoomError(Exception):
    """A room that cannot be opened or made; the message is one sentence for the visitor."""


@dataclass(frozen=True)
class Created:
    """A new room's code and the presenter's key (shown once, to its creator)."""

    code: str
    """The candidate's code: ``/?room=<code>``."""
    key: str
    """The presenter's secret: ``/?room=<code>&key=<key>``."""


@dataclass(frozen=True)
class Snapshot:
    """A room as read from the store."""

    code: str
    """The room's code."""
    state: dict[str, Any]
    """The room dict (see ``kit.rooms.room``)."""
    version: int
    """Its change counter."""


def data_dir() -> Path:
    """The data folder from ``LATENT_LAB_DATA_DIR`` (or ``./data``)."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_code(code: Any) -> str:
    """The code if it is well formed, else a ``RoomError``."""
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        raise RoomError("That room link is not valid: check that it was copied whole.")
    return code


class RoomStore:
    """Rooms in ``path`` (default ``data_dir()/rooms.sqlite3``).

    Holds no per-room state itself: every method reads and writes the file.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        ttl_s: float = TTL_S,
        max_rooms: int = MAX_ROOMS,
        rate_max: int = RATE_MAX,
        rate_window_s: float = RATE_WINDOW_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path) if path is not None else data_dir() / FILE_NAME
        self.ttl_s, self.max_rooms = ttl_s, max_rooms
        self.rate_max, self.rate_window_s = rate_max, rate_window_s
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        db.execute("PRAGMA busy_timeout=10000")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL: no fsync per commit, still atomic
        return db

    # ---- create ---------------------------------------------------------------------------

    def create(self, state: dict[str, Any], client: str) -> Created:
        """A new room holding ``state``.

        Refused when the store is full or ``client`` made ``rate_max`` rooms in the last
        ``rate_window_s``.
        """
        text = _dump(state)
        client = str(client or "unknown")[:200]
        code, key = secrets.token_urlsafe(CODE_BYTES), secrets.token_urlsafe(KEY_BYTES)
        now = self.clock()
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM rooms WHERE updated < ?", (now - self.ttl_s,))
            (alive,) = db.execute("SELECT COUNT(*) FROM rooms").fetchone()
            if alive >= self.max_rooms:
                raise RoomError(
                    f"All {self.max_rooms} interview rooms are in use: try again later, or "
                    "run the walkthrough in Quiz · Interview instead."
                )
            (recent,) = db.execute(
                "SELECT COUNT(*) FROM rooms WHERE client = ? AND created > ?",
                (client, now - self.rate_window_s),
            ).fetchone()
            if recent >= self.rate_max:
                minutes = round(self.rate_window_s / 60)
                raise RoomError(
                    f"You created {recent} rooms in the last {minutes} minutes, the most "
                    "allowed: reuse one of them or wait a while."
                )
            db.execute(
                "INSERT INTO rooms VALUES (?, ?, ?, 1, ?, ?, ?)",
                (code, _hash(key), text, now, now, client),
            )
            db.execute("COMMIT")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
            db.close()
        return Created(code, key)

    # ---- read ------------------------------------------------------------------------------

    def _live_row(self, db: sqlite3.Connection, code: str, columns: str):
        row = db.execute(f"SELECT {columns}, updated FROM rooms WHERE code = ?", (code,)).fetchone()
        if row is None or row[-1] < self.clock() - self.ttl_s:
            raise RoomError(
                "There is no open room with that code: it may have expired (rooms close "
                f"{self.ttl_s / 3600:g} h after their last change) or been mistyped."
            )
        return row

    def open(self, code: str) -> Snapshot:
        """The room with this code (a ``RoomError`` when malformed, unknown or expired)."""
        code = check_code(code)
        with closing(self._connect()) as db:
            state, version, _ = self._live_row(db, code, "state, version")
        return Snapshot(code, json.loads(state), version)

    def version(self, code: str) -> int:
        """The room's change counter: the cheap read a seat polls."""
        code = check_code(code)
        with closing(self._connect()) as db:
            version, _ = self._live_row(db, code, "version")
        return version

    def is_presenter(self, code: str, key: Any) -> bool:
        """Whether ``key`` is this room's presenter key (compared in constant time)."""
        code = check_code(code)
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            return False
        with closing(self._connect()) as db:
            stored, _ = self._live_row(db, code, "key_hash")
        return secrets.compare_digest(stored, _hash(key))

    # ---- change ----------------------------------------------------------------------------

    def update(self, code: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Snapshot:
        """Apply ``change`` (a pure function of the room dict) in one write transaction."""
        code = check_code(code)
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")  # the write lock is held from this read on
            state, version, _ = self._live_row(db, code, "state, version")
            new = change(json.loads(state))
            db.execute(
                "UPDATE rooms SET state = ?, version = ?, updated = ? WHERE code = ?",
                (_dump(new), version + 1, self.clock(), code),
            )
            db.execute("COMMIT")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
            db.close()
        return Snapshot(code, new, version + 1)

    def count(self) -> int:
        """Rooms alive now."""
        with closing(self._connect()) as db:
            (n,) = db.execute(
                "SELECT COUNT(*) FROM rooms WHERE updated >= ?", (self.clock() - self.ttl_s,)
            ).fetchone()
        return n


def _dump(state: dict[str, Any]) -> str:
    text = json.dumps(state, separators=(",", ":"))
    if len(text) > MAX_STATE_CHARS:
        raise RoomError("That room has grown too large to save: finish it and start a new one.")
    return text
