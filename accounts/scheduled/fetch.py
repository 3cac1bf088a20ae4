"""Opening a scheduled import's source, as an upload of it would be read.

A source is a path under SCHEDULED_IMPORT_DIR (nothing outside it, no ``..``)
or a URL (see ``accounts.outbound``: https, on a host SCHEDULED_IMPORT_HOSTS
lists, never an internal address it does not name). A download is streamed:
the upload's size limit is enforced as its bytes arrive, and redirects are
refused rather than followed, since each hop would need the same checks.
"""

from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import requests
from django.conf import settings
from django.core.files import File

from accounts.outbound import (
    OutboundRefused,
    fetch_check,
    fetch_session,
    listed_check,
)
from accounts.params import id_or_none
from accounts.uploads.files import UploadError

CHUNK_BYTES = 1 << 16


class SourceError(ValueError):
    """The source cannot be read; ``str()`` says why, for people."""


def is_url(source):
    return source.lower().startswith(("https://", "http://"))


def source_check(source):
    """Raise SourceError unless ``source`` is a path or URL a schedule may use.

    What can be checked without reading: the path stays inside the folder;
    the URL's scheme, and its host on the allow-list (its addresses are
    checked at each fetch, since they may change).
    """
    if is_url(source):
        try:
            listed_check(source, settings.SCHEDULED_IMPORT_HOSTS)
        except OutboundRefused as exc:
            raise SourceError(str(exc)) from None
        return
    _path(source)


def _path(source):
    """The file ``source`` names inside SCHEDULED_IMPORT_DIR; raises SourceError."""
    base = Path(settings.SCHEDULED_IMPORT_DIR).resolve()
    if not source or ".." in PurePosixPath(source).parts:
        raise SourceError("The path must name a file, without “..”.")
    path = (base / source).resolve()  # an absolute source replaces base
    if not path.is_relative_to(base):
        raise SourceError(f"The file must be inside SCHEDULED_IMPORT_DIR ({base}).")
    return path


@contextmanager
def source_open(source):
    """The source as a file for ``upload_receive`` (``name``, ``size``, ``chunks()``).

    Raises SourceError when it cannot be opened (refused, missing, not 200);
    a download that breaks off midway raises UploadError as its bytes are read.
    """
    if is_url(source):
        with fetch_session(settings.SCHEDULED_IMPORT_HOSTS) as session:
            response = _get(session, source)
            try:
                yield _Download(response, _url_name(source))
            finally:
                response.close()
        return
    path = _path(source)
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise SourceError(f"{source} cannot be read: {exc.strerror}.") from None
    with handle:
        yield File(handle, name=path.name)


def _get(session, url):
    try:
        fetch_check(url, settings.SCHEDULED_IMPORT_HOSTS)
    except OutboundRefused as exc:
        raise SourceError(str(exc)) from None
    timeout = settings.SCHEDULED_IMPORT_TIMEOUT_SECONDS
    try:
        response = session.get(
            url, stream=True, allow_redirects=False, timeout=(min(timeout, 5), timeout)
        )
    except OutboundRefused as exc:
        raise SourceError(str(exc)) from None
    except requests.RequestException as exc:
        raise SourceError(f"{url} could not be fetched: {exc}") from None
    if response.status_code != 200:
        response.close()
        hint = " (redirects are not followed)" if response.is_redirect else ""
        raise SourceError(f"{url} answered {response.status_code}{hint}.")
    return response


def _url_name(url):
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    return name or "download.csv"


class _Download:
    """A streamed response shaped like an UploadedFile, for ``file_store``."""

    def __init__(self, response, name):
        self.name = name
        length = response.headers.get("Content-Length", "")
        # "²".isdigit() is true; a hostile server's header must not crash the run.
        self.size = id_or_none(length)
        self._response = response

    def chunks(self):
        try:
            yield from self._response.iter_content(CHUNK_BYTES)
        except requests.RequestException as exc:
            raise UploadError(f"The download broke off: {exc}") from None
