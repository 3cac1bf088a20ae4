"""The sandbox's accounts and deletion blocks, in one SQLite file."""

import sqlite3
import threading
from contextlib import contextmanager

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    user_id TEXT PRIMARY KEY, nick TEXT NOT NULL, face_url TEXT NOT NULL,
    imported_at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deletion_blocks (
    user_id TEXT PRIMARY KEY, deleted_at REAL NOT NULL) WITHOUT ROWID;
"""
# A NULL profile value means "not sent": keep what is stored.
_UPSERT = """
INSERT INTO accounts (user_id, nick, face_url, imported_at)
VALUES (?1, COALESCE(?2, ''), COALESCE(?3, ''), ?4)
ON CONFLICT (user_id) DO UPDATE SET
    nick = COALESCE(?2, nick), face_url = COALESCE(?3, face_url)
"""


def _marks(values):
    return ",".join("?" * len(values))


class AccountStore:
    """Accounts and deletion blocks in one SQLite file; one connection, one lock.

    Every write is one transaction, so a batch is applied whole or not at all.
    """

    def __init__(self, path):
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        # WAL with NORMAL loses at most the last commits on power loss: fine here.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._recount()

    def _recount(self):
        self._count = self._scalar("SELECT COUNT(*) FROM accounts")
        self._block_rows = self._scalar("SELECT COUNT(*) FROM deletion_blocks")

    def close(self):
        with self._lock:
            self._conn.close()

    @property
    def count(self):
        return self._count

    @contextmanager
    def _transaction(self):
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                self._recount()
                raise
            self._conn.execute("COMMIT")

    def _scalar(self, sql, *params):
        return self._conn.execute(sql, params).fetchone()[0]

    def _ids(self, sql, ids, *params):
        rows = self._conn.execute(sql.format(marks=_marks(ids)), [*ids, *params])
        return {row[0] for row in rows}

    def import_accounts(self, entries, *, now, blocked_since, limit):
        """Upsert all ``entries`` or none of them.

        Returns ``(blocked, over_limit)``: the UserIDs deleted after
        ``blocked_since``, and whether the new accounts would cross ``limit``.
        Nothing is written unless both are empty/False.
        """
        ids = [entry.user_id for entry in entries]
        if not ids:
            return set(), False
        with self._transaction():
            blocked = self._blocked(ids, blocked_since)
            if blocked:
                return blocked, False
            existing = self._ids(
                "SELECT user_id FROM accounts WHERE user_id IN ({marks})", ids
            )
            new = len(ids) - len(existing)
            if limit is not None and self._count + new > limit:
                return set(), True
            self._conn.executemany(_UPSERT, [(*entry, now) for entry in entries])
            self._count += new
        return set(), False

    def _blocked(self, ids, since):
        if not self._block_rows:  # the usual case: skip the query
            return set()
        sql = "SELECT user_id FROM deletion_blocks WHERE user_id IN ({marks})"
        return self._ids(sql + " AND deleted_at > ?", ids, since)

    def existing(self, ids):
        """The subset of ``ids`` that is imported."""
        with self._lock:
            return self._ids(
                "SELECT user_id FROM accounts WHERE user_id IN ({marks})", ids
            )

    def delete_accounts(self, ids, *, now, block):
        """Delete ``ids``, return those that existed; ``block`` records blocks."""
        with self._transaction():
            deleted = self._ids(
                "DELETE FROM accounts WHERE user_id IN ({marks}) RETURNING user_id", ids
            )
            if block and deleted:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO deletion_blocks VALUES (?, ?)",
                    [(user_id, now) for user_id in deleted],
                )
                self._block_rows = self._scalar("SELECT COUNT(*) FROM deletion_blocks")
            self._count -= len(deleted)
        return deleted

    def get(self, user_id):
        """The stored account as a dict, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT user_id, nick, face_url, imported_at FROM accounts"
                " WHERE user_id = ?",
                (user_id,),
            ).fetchone()
        if row is None:
            return None
        return dict(zip(("UserID", "Nick", "FaceUrl", "imported_at"), row, strict=True))

    def blocked_count(self, since):
        with self._lock:
            return self._scalar(
                "SELECT COUNT(*) FROM deletion_blocks WHERE deleted_at > ?", since
            )

    def wipe(self):
        with self._transaction():
            self._conn.execute("DELETE FROM accounts")
            self._conn.execute("DELETE FROM deletion_blocks")
            self._count = self._block_rows = 0
