"""The auditor's pages: the history, a job's story, and their exports.

Read-only: the only write is the EXPORT entry an export leaves behind.
"""

from django.contrib.auth.decorators import permission_required
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.audit import selectors
from accounts.audit.forms import AuditFilterForm
from accounts.exports import FORMATS, audited_download
from accounts.models import ImportJob
from accounts.params import id_or_none
from accounts.selectors import job_counts

VIEW = "accounts.view_auditevent"
EXPORT = "accounts.export_audit"


def _page_param(request, name):
    return id_or_none(request.GET.get(name))


@require_GET
@permission_required(VIEW, raise_exception=True)
def audit_list(request):
    """The audit history, filtered, newest first, a keyset page at a time."""
    form = AuditFilterForm(request.GET)
    entries, older = [], None
    if form.is_valid():
        events = selectors.audit_events(**form.filters())
        entries, older = selectors.audit_page(
            events, before=_page_param(request, "before")
        )
    filters = request.GET.copy()
    filters.pop("before", None)
    return render(
        request,
        "audit/list.html",
        {
            "form": form,
            "entries": entries,
            "older": older,
            "filters": filters.urlencode(),
            "paged": "before" in request.GET,
        },
    )


@require_GET
@permission_required([VIEW, EXPORT], raise_exception=True)
def audit_export(request, fmt):
    """The filtered history as CSV or JSON lines; the export is itself audited."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            _("Invalid filters: %(errors)s") % {"errors": form.errors.as_text()}
        )
    filters = form.filters()
    rows = selectors.audit_export_rows(
        selectors.audit_events(**filters), details_as_text=fmt == "csv"
    )
    return audited_download(
        request,
        FORMATS[fmt](selectors.EVENT_FIELDS, rows),
        filename=_stamped("audit", fmt),
        fmt=fmt,
        details={"format": fmt, "filters": {k: str(v) for k, v in filters.items()}},
    )


def _stamped(name, fmt):
    return f"{name}-{timezone.now().strftime('%Y%m%d-%H%M%S')}.{fmt}"


@require_GET
@permission_required(
    [VIEW, "accounts.view_importjob", "accounts.view_apicall"], raise_exception=True
)
def audit_job(request, pk):
    """A job's story: its entries and its API calls in the order sent."""
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)
    calls, more_after = selectors.job_calls_in_order(
        job, after=_page_param(request, "after")
    )
    return render(
        request,
        "audit/job.html",
        {
            "job": job,
            "counts": job_counts(job),
            "entries": selectors.job_entries(job),
            "calls": calls,
            "more_after": more_after,
            "paged": "after" in request.GET,
        },
    )


@require_GET
@permission_required([VIEW, EXPORT], raise_exception=True)
def audit_job_calls_csv(request, pk):
    """A job's API calls as CSV; the export is itself audited."""
    job = get_object_or_404(ImportJob, pk=pk)
    rows = selectors.job_call_rows(job)
    return audited_download(
        request,
        FORMATS["csv"](selectors.CALL_FIELDS, rows),
        filename=_stamped(f"job-{job.pk}-calls", "csv"),
        job=job,
        details={"format": "csv", "records": "api_calls"},
    )
