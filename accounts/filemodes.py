"""Local state kept private: its folders 0700, SQLite's files 0600.

An SQLite database holds session keys and password hashes; SQLite creates
its files (and its -wal and -shm beside them, with the database file's own
mode) as the umask allows, 0644 by default. The folders and files are made
private when created and again at each start and connection, which also
mends those an earlier version left readable.
"""

import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# The database, its journals, and the limiter's schedule file beside it.
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")
SQLITE_COMPANIONS = ("", "-rate")


def private_dir(path):
    """Make folder ``path`` (and its parents) if missing; 0700 either way."""
    path = Path(path)
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR)
    return path


def private_file_create(path):
    """Create an empty file at ``path`` as 0600 unless it exists (an empty file
    is a valid empty SQLite database, so SQLite never creates it 0644)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        pass


def sqlite_files_private(name):
    """chmod 0600 the SQLite database ``name``'s files that exist."""
    if not name or str(name).startswith((":memory:", "file:")):
        return
    for companion in SQLITE_COMPANIONS:
        for suffix in SQLITE_SUFFIXES:
            try:
                os.chmod(f"{name}{companion}{suffix}", PRIVATE_FILE)
            except FileNotFoundError:
                pass


def on_connection_created(sender, connection, **kwargs):
    """connection_created receiver: SQLite's files private at each new connection."""
    if connection.vendor == "sqlite":
        sqlite_files_private(connection.settings_dict["NAME"])
