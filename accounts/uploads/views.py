"""Upload pages: upload → preview → confirm (a job) or cancel; the uploads list.

Reading (the list, a preview, its progress, its invalid rows) needs
``accounts.view_upload`` (importers and auditors) and shows every upload, as
the jobs pages show every job. Changing (upload, confirm, cancel) needs
``accounts.run_bulk_jobs``, and confirm and cancel only the uploader's own
upload (or a superuser's): 404 for anyone else. URLs carry the upload's random
token, never its id.
"""

import io
import logging
from itertools import chain

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db import OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors
from accounts.exports import csv_lines, download
from accounts.models import Upload, UploadStatus
from accounts.uploads import services as uploads
from accounts.uploads.forms import UploadForm, UploadListForm
from accounts.uploads.reader import DELIMITERS, MAX_COLUMNS, READ_AS
from accounts.uploads.xlsx_writer import xlsx_write

log = logging.getLogger(__name__)

PERMISSION = "accounts.run_bulk_jobs"
VIEW_UPLOADS = "accounts.view_upload"
VIEW_JOBS = "accounts.view_importjob"  # the job page's own permission
# Room for the multipart framing and the small fields around the file.
MULTIPART_SLACK = 64 * 1024
# Skip: the reader skips a row with anything there (its duplicates are marked),
# so this file can be fixed and uploaded again as it is.
INVALID_CSV_FIELDS = ["Line", "UserID", "Nick", "FaceUrl", "Error", "Skip"]
TEMPLATE_FIELDS = ("UserID", "Nick", "FaceUrl")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMN_NAMES = {"user_id": "UserID", "nick": "Nick", "face_url": "FaceUrl"}


def _own_upload(request, token):
    return get_object_or_404(_own_uploads(request.user), token=token)


def _own_uploads(user):
    if user.is_superuser:
        return Upload.objects.all()
    return Upload.objects.filter(created_by=user)


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
        "max_columns": MAX_COLUMNS,
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


@permission_required(VIEW_UPLOADS, raise_exception=True)
@require_GET
def upload_list(request):
    """Every upload, newest first, with its counts and its job."""
    form = UploadListForm(request.GET)
    page = None
    if form.is_valid():
        page = selectors.keyset_page(
            Upload.objects.select_related("created_by", "job"),
            after=form.cleaned_data["after"],
            before=form.cleaned_data["before"],
        )
    return render(request, "accounts/upload_list.html", {"form": form, "page": page})


@permission_required(VIEW_UPLOADS, raise_exception=True)
@require_GET
def upload_preview(request, token):
    """What the file holds and what confirming it would do; Confirm and Cancel.

    A file still read by a worker shows its progress (upload.js polls
    ``upload_progress`` and reloads the page once it is read).
    """
    upload = get_object_or_404(Upload.objects.select_related("job"), token=token)
    summary = upload.summary
    own = _own_uploads(request.user).filter(pk=upload.pk).exists()
    previewed = upload.status == UploadStatus.PREVIEWED
    previewing = upload.status == UploadStatus.PREVIEWING
    undecided = previewed or previewing
    context = {
        "upload": upload,
        "job": upload.job,
        "summary": summary,
        # Known once read: a file still read by a worker holds the choice ("auto").
        "read_as": "" if previewing else READ_AS.get(upload.encoding, upload.encoding),
        "delimiter": DELIMITERS.get(summary.get("delimiter"), ""),
        "columns": [COLUMN_NAMES[c] for c in summary.get("columns", [])],
        "previewing": previewing,
        "previewed": previewed,
        "can_act": undecided and own and request.user.has_perm(PERMISSION),
        "can_confirm": previewed and summary.get("to_send", 0) > 0,
        "more_invalid": summary.get("invalid", 0)
        > len(summary.get("invalid_sample", [])),
        "more_unknown": summary.get("unknown_count", 0)
        - len(summary.get("unknown_columns", [])),
    }
    return render(request, "accounts/upload_preview.html", context)


@permission_required(VIEW_UPLOADS, raise_exception=True)
@require_GET
def upload_progress(request, token):
    """How far a background preview has read: JSON for upload.js."""
    upload = get_object_or_404(Upload, token=token)
    progress = upload.summary.get("progress", {})
    return JsonResponse(
        {
            "status": upload.status,
            "previewing": upload.status == UploadStatus.PREVIEWING,
            "rows": progress.get("rows", upload.summary.get("rows", 0)),
            "fraction": progress.get("fraction", 1.0),
        }
    )


@permission_required(PERMISSION, raise_exception=True)
@require_GET
def upload_template_csv(request):
    """An empty account file to fill in: the header line, as UTF-8 with a BOM."""
    lines = csv_lines(TEMPLATE_FIELDS, [])
    return download(lines, filename="accounts-template.csv", bom=True)


@permission_required(PERMISSION, raise_exception=True)
@require_GET
def upload_template_xlsx(request):
    """An empty account workbook to fill in: the header row."""
    book = io.BytesIO()
    xlsx_write(book, [TEMPLATE_FIELDS])
    response = HttpResponse(book.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = 'attachment; filename="accounts-template.xlsx"'
    return response


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
            gettext(
                "The database is busy; nothing was changed by this request. "
                "Confirm again in a moment."
            ),
        )
        return redirect("uploads:preview", token=upload.token)
    messages.success(request, _confirmed_message(upload, job))
    if job is not None and request.user.has_perm(VIEW_JOBS):
        return redirect("web:job_detail", job.pk)
    return redirect("uploads:preview", token=upload.token)


def _confirmed_message(upload, job):
    if job is None:  # confirmed before background preparation existed
        return gettext("%(name)s is confirmed.") % {"name": upload.file_name}
    if job.options.get("preparing"):
        valid = upload.summary.get("valid", 0)
        sentence = ngettext(
            "%(name)s confirmed: job #%(job)s is reading its %(count)s valid row; "
            "sending begins with it.",
            "%(name)s confirmed: job #%(job)s is reading its %(count)s valid rows; "
            "sending begins with the first of them.",
            valid,
        )
        return sentence % _named(upload, job, valid)
    sentence = ngettext(
        "%(name)s confirmed: job #%(job)s imports %(count)s account.",
        "%(name)s confirmed: job #%(job)s imports %(count)s accounts.",
        job.total,
    )
    return sentence % _named(upload, job, job.total)


def _named(upload, job, count):
    """The figures of a confirmation, the count grouped as the language groups it."""
    return {
        "name": upload.file_name,
        "job": job.pk,
        "count": number_format(count, force_grouping=True),
    }


@permission_required(PERMISSION, raise_exception=True)
@require_POST
def upload_cancel(request, token):
    """Drop a previewed upload and its file; harmless when already decided."""
    upload = _own_upload(request, token)
    if uploads.upload_cancel(upload=upload, user=request.user, request=request):
        messages.success(
            request,
            gettext("%(name)s cancelled; the file is deleted.")
            % {"name": upload.file_name},
        )
        return redirect("uploads:new")
    messages.info(
        request,
        gettext("This upload was already %(status)s.")
        % {"status": upload.get_status_display()},
    )
    return redirect("uploads:preview", token=upload.token)


@permission_required(VIEW_UPLOADS, raise_exception=True)
@require_GET
def upload_invalid_csv(request, token):
    """Every invalid row with its line and reason, streamed as CSV.

    Rows that must not be sent again (duplicates, repeated headers, rows
    already skipped) carry a Skip mark the reader honours.
    """
    upload = get_object_or_404(Upload, token=token)
    try:
        rows = uploads.upload_invalid_rows(upload=upload)
    except uploads.UploadError as exc:
        messages.error(request, str(exc))
        return redirect("uploads:preview", token=upload.token)
    lines = csv_lines(
        INVALID_CSV_FIELDS,
        ((r.line, r.user_id, r.nick, r.face_url, r.error, r.skip) for r in rows),
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
