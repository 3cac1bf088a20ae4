"""Local state is private: the var folder 0700, SQLite's files 0600, uploads 0700."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from accounts.uploads.files import upload_dir

ROOT = Path(__file__).resolve().parents[2]
CONNECT = "from django.db import connection; connection.ensure_connection()"


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def start(var_dir):
    """A fresh process of the project on an SQLite database in ``var_dir``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "UPLOAD_DIR")
    }
    env["IMADMIN_VAR_DIR"] = str(var_dir)
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", CONNECT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_a_new_var_folder_and_database_are_private(tmp_path):
    var = tmp_path / "var"
    start(var)
    assert mode(var) == 0o700
    assert mode(var / "imadmin.sqlite3") == 0o600
    assert mode(var / "django-secret.key") == 0o600


def test_a_readable_var_folder_and_database_are_mended_at_start(tmp_path):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    os.chmod(var, 0o755)
    files = [var / f"imadmin.sqlite3{s}" for s in ("", "-wal", "-shm")]
    for path in files:
        path.touch()
        os.chmod(path, 0o644)
    start(var)
    assert mode(var) == 0o700
    assert [mode(p) for p in files] == [0o600, 0o600, 0o600]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own files")
def test_the_open_databases_wal_and_shm_are_private():
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    name = connection.settings_dict["NAME"]
    present = [
        f"{name}{s}" for s in ("", "-wal", "-shm") if os.path.exists(f"{name}{s}")
    ]
    assert len(present) == 3
    assert {mode(p) for p in present} == {0o600}


def test_the_upload_folder_is_private_even_if_it_was_not(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.UPLOAD_DIR.mkdir(mode=0o755)
    os.chmod(settings.UPLOAD_DIR, 0o755)
    assert mode(upload_dir()) == 0o700
