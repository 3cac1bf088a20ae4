"""An upload's stored file: kept private (0600, in a 0700 folder), verified, deleted."""

import hashlib
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_noop

from accounts.filemodes import private_dir


class UploadError(ValueError):
    """The upload cannot go on; ``str()`` says why in plain words for the uploader."""


class UploadTooLarge(UploadError):
    """The file is above ``settings.UPLOAD_MAX_BYTES``."""


NO_FILE = gettext_noop("The uploaded file is no longer kept; upload it again.")


class FileChanged(Exception):
    """The stored file is not the one previewed: its SHA-256 differs."""


def upload_dir():
    """The private uploads folder (0700), made if missing."""
    return private_dir(settings.UPLOAD_DIR)


def file_path(stored_name):
    """Where a stored upload lives (its name is ours, never the uploader's)."""
    return Path(settings.UPLOAD_DIR) / stored_name if stored_name else None


def file_delete(stored_name):
    """Delete a stored upload; a file already gone is fine."""
    if path := file_path(stored_name):
        path.unlink(missing_ok=True)


def file_open(stored_name):
    """The stored upload opened for binary reading; FileNotFoundError if gone."""
    return open(file_path(stored_name), "rb")


def file_store(file):
    """Copy an UploadedFile to a new private file; return (name, size, sha256)."""
    limit = settings.UPLOAD_MAX_BYTES
    if file.size is not None and file.size > limit:
        raise UploadTooLarge(too_large_message(limit))
    name = secrets.token_hex(16)
    path = upload_dir() / name
    digest, size = hashlib.sha256(), 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in file.chunks():
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(too_large_message(limit))
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return name, size, digest.hexdigest()


def too_large_message(limit):
    """The sentence for a file over ``limit`` bytes."""
    return (
        f"The file is larger than the limit of {filesizeformat(limit)}; "
        "split it into smaller files."
    )


def file_verify(stream, sha256):
    """Raise FileChanged unless ``stream`` holds what was previewed; rewind it.

    The preview read and validated the whole file: the same bytes cannot fail
    half-way, so a preparation never stops with part of a file imported.
    """
    digest = hashlib.sha256()
    while block := stream.read(1 << 20):
        digest.update(block)
    if digest.hexdigest() != sha256:
        raise FileChanged("The stored file changed after its preview.")
    stream.seek(0)
