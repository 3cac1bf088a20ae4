"""CSV upload pages: upload → preview → confirm (a job) or cancel.

Every view needs ``accounts.run_bulk_jobs``; an upload is visible only to the
person who uploaded it and to superusers (404 for anyone else). URLs carry the
upload's random token, never its id.
"""

import logging
from itertools import chain

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db import OperationalError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.exports import csv_lines, download
from accounts.models import Upload, UploadStatus
from accounts.uploads import services as uploads
from accounts.uploads.forms import UploadForm
from accounts.uploads.reader import ENCODINGS

log = logging.getLogger(__name__)

PERMISSION = "accounts.run_bulk_jobs"
VIEW_JOBS = "accounts.view_importjob"  # the job page's own permission
# Room for the multipart framing and the small fields around the file.
MULTIPART_SLACK = 64 * 1024
INVALID_CSV_FIELDS = ["Line", "UserID", "Nick", "FaceUrl", "Error"]
COLUMN_NAMES = {"user_id": "UserID", "nick": "Nick", "face_url": "FaceUrl"}


def _own_upload(request, token):
    uploads_seen = Upload.objects.all()
    if not request.user.is_superuser:
        uploads_seen = uploads_seen.filter(created_by=request.user)
    return get_object_or_404(uploads_seen, token=token)


def _declared_size(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _form_page(request, form, *, error="", status=200):
    context = {
        "form": form,
        "error": error,
        "max_bytes": settings.UPLOAD_MAX_BYTES,
        "max_rows": settings.UPLOAD_MAX_ROWS,
    }
    return render(request, "accounts/upload_new.html", context, status=status)


@csrf_exempt
@permission_required(PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def upload_new(request):
    """The upload form; a POST stores and previews the file, then shows the preview.

    CSRF is checked after the declared size, in ``_upload_receive``: the CSRF
    middleware would first read (and spool to disk) the whole body to find its
    token in the form.
    """
    if request.method == "GET":
        return _form_page(request, UploadForm())
    if _declared_size(request) > settings.UPLOAD_MAX_BYTES + MULTIPART_SLACK:
        message = uploads.too_large_message(settings.UPLOAD_MAX_BYTES)
        return _form_page(request, UploadForm(), error=message, status=413)
    return _upload_receive(request)


@csrf_protect
def _upload_receive(request):
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    try:
        upload = uploads.upload_receive(
            file=form.cleaned_data["file"],
            encoding=form.cleaned_data["encoding"],
            user=request.user,
            request=request,
        )
    except uploads.UploadError as exc:
        status = 413 if isinstance(exc, uploads.UploadTooLarge) else 400
        return _form_page(request, UploadForm(), error=str(exc), status=status)
    return redirect("uploads:preview", token=upload.token)


@permission_required(PERMISSION, raise_exception=True)
@require_GET
def upload_preview(request, token):
    """What the file holds and what confirming it would do; Confirm and Cancel."""
    upload = _own_upload(request, token)
    summary = upload.summary
    context = {
        "upload": upload,
        "job": upload.job,
        "summary": summary,
        "encoding_name": ENCODINGS.get(upload.encoding, upload.encoding),
        "columns": [COLUMN_NAMES[c] for c in summary.get("columns", [])],
        "previewed": upload.status == UploadStatus.PREVIEWED,
        "can_confirm": upload.status == UploadStatus.PREVIEWED
        and summary.get("valid", 0) > 0,
        "more_invalid": summary.get("invalid", 0)
        > len(summary.get("invalid_sample", [])),
    }
    return render(request, "accounts/upload_preview.html", context)


@permission_required(PERMISSION, raise_exception=True)
@require_POST
def upload_confirm(request, token):
    """Create the import job (once, however often this is posted) and show it.

    Returns at once: a task reads the file into the job, then starts it.
    """
    upload = _own_upload(request, token)
    try:
        job = uploads.upload_confirm(upload=upload, user=request.user, request=request)
    except uploads.UploadError as exc:
        messages.error(request, str(exc))
        return redirect("uploads:preview", token=upload.token)
    except OperationalError:
        # SQLite: the write lock stayed taken past the busy timeout. The
        # transaction rolled back: nothing changed.
        log.warning("confirm of upload %s: database busy", upload.pk, exc_info=True)
        messages.info(
            request,
            "The database is busy; nothing was changed by this request. "
            "Confirm again in a moment.",
        )
        return redirect("uploads:preview", token=upload.token)
    messages.success(request, _confirmed_message(upload, job))
    if job is not None and request.user.has_perm(VIEW_JOBS):
        return redirect("web:job_detail", job.pk)
    return redirect("uploads:preview", token=upload.token)


def _confirmed_message(upload, job):
    if job is None:  # confirmed before background preparation existed
        return f"{upload.file_name} is confirmed."
    if job.options.get("preparing"):
        return (
            f"{upload.file_name} confirmed: job #{job.pk} is reading its "
            f"{upload.summary.get('valid', 0):,} valid rows and starts when it "
            "has queued them."
        )
    return (
        f"{upload.file_name} confirmed: job #{job.pk} imports {job.total:,} accounts."
    )


@permission_required(PERMISSION, raise_exception=True)
@require_POST
def upload_cancel(request, token):
    """Drop a previewed upload and its file; harmless when already decided."""
    upload = _own_upload(request, token)
    if uploads.upload_cancel(upload=upload, user=request.user, request=request):
        messages.success(request, f"{upload.file_name} cancelled; the file is deleted.")
        return redirect("uploads:new")
    messages.info(request, f"This upload was already {upload.get_status_display()}.")
    return redirect("uploads:preview", token=upload.token)


@permission_required(PERMISSION, raise_exception=True)
@require_GET
def upload_invalid_csv(request, token):
    """Every invalid row with its line and reason, streamed as CSV."""
    upload = _own_upload(request, token)
    try:
        rows = uploads.upload_invalid_rows(upload=upload)
    except uploads.UploadError as exc:
        messages.error(request, str(exc))
        return redirect("uploads:preview", token=upload.token)
    lines = csv_lines(
        INVALID_CSV_FIELDS,
        ((r.line, r.user_id, r.nick, r.face_url, r.error) for r in rows),
    )
    # The BOM goes inside: the response closes the file only through ``_Closing``.
    content = _Closing(chain(["\ufeff"], lines), close=rows.close)
    return download(content, filename=f"invalid-rows-{upload.pk}.csv")


class _Closing:
    """An iterable whose ``close()`` the response calls when it is done or dropped."""

    def __init__(self, iterable, *, close):
        self._iterable, self.close = iterable, close

    def __iter__(self):
        return iter(self._iterable)
