"""The pages: dashboard, single import, accounts and jobs.

Each view checks access, validates its input with a form, reads through
selectors or changes through services, then renders or redirects. Bad input
gets a message or a 404, never a 500.
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from accounts import selectors, services
from accounts.exports import audited_download, csv_lines
from accounts.im.errors import ImError
from accounts.models import (
    AccountState,
    ImportJob,
    ItemState,
    JobKind,
    JobSource,
    RemoteStatus,
    TrackedAccount,
)
from accounts.selectors import grouped
from accounts.web.forms import (
    AccountFilterForm,
    CallPageForm,
    JobFilterForm,
    SingleImportForm,
)

VIEW_ACCOUNTS = "accounts.view_trackedaccount"
VIEW_JOBS = "accounts.view_importjob"
VIEW_CALLS = "accounts.view_apicall"
IMPORT_SINGLE = "accounts.import_single"
RUN_BULK = "accounts.run_bulk_jobs"
# What the CSV uploader reads (UserID, Nick, FaceUrl); it reports the rest as unknown.
PROBLEM_CSV_FIELDS = ["UserID", "Nick", "FaceUrl", "ErrorCode", "Error"]
RECENT_JOBS = 8
MAX_USER_ID = TrackedAccount._meta.get_field("user_id").max_length
CHART_HEIGHT = 150
DONE_OUTCOMES = ("imported", "updated")


# -- dashboard -----------------------------------------------------------------


@require_safe
def home(request):
    """Accounts, imports per day, recent jobs, rate use and workers, as allowed."""
    user, context = request.user, {}
    if user.has_perm(VIEW_ACCOUNTS):
        summary, context["as_of"] = selectors.account_summary()
        counts = context["counts"] = summary["counts"]
        context["states"] = [
            (value, label, counts["state"][value])
            for value, label in AccountState.choices
        ]
        context["remotes"] = [
            ("unchecked" if not value else value, label, counts["remote"][value])
            for value, label in RemoteStatus.choices
        ]
        context["chart"] = _chart(summary["per_day"])
    if user.has_perm(VIEW_JOBS):
        context["jobs"] = list(selectors.recent_jobs(RECENT_JOBS))
        context["workers"] = selectors.worker_status()
    if user.has_perm(VIEW_CALLS):
        context["rates"] = selectors.api_rate_use()
    return render(request, "accounts/home.html", context)


def _chart(days):
    """Bars of an SVG chart (attributes only: no inline style under the CSP)."""
    top = max((n for _, n in days), default=0) or 1
    bars = []
    for index, (day, count) in enumerate(days):
        height = round(CHART_HEIGHT * count / top)
        bars.append(
            {
                "day": day,
                "count": count,
                "x": 10 + index * 50,
                "y": 20 + CHART_HEIGHT - height,
                "height": height,
                "label_x": 28 + index * 50,
            }
        )
    return {"bars": bars, "total": sum(n for _, n in days), "top": top}


# -- one account now -------------------------------------------------------------


@permission_required(IMPORT_SINGLE, raise_exception=True)
def import_single(request):
    """The support form: import or update one account with account_import, now."""
    form = SingleImportForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result, problem = _import_now(request, form.cleaned_data)
        if problem:
            form.add_error(None, problem)
        elif result.outcome in DONE_OUTCOMES:
            form = SingleImportForm()  # ready for the next account
        # A refusal keeps the fields: its sentence says what to change.
    return render(
        request, "accounts/import_single.html", {"form": form, "result": result}
    )


def _import_now(request, data):
    """Run the single import; return (SingleImport, None) or (None, a message)."""
    try:
        result = services.account_import_now(
            user_id=data["user_id"],
            nick=data["nick"],
            face_url=data["face_url"],
            user=request.user,
            request=request,
        )
    except (ImproperlyConfigured, services.NothingToDo, ImError) as exc:
        return None, services.single_import_problem(exc)
    return result, None


# -- accounts ----------------------------------------------------------------------


@require_safe
@permission_required(VIEW_ACCOUNTS, raise_exception=True)
def account_list(request):
    """Search, filters and keyset pages: no COUNT, one index range per page."""
    form = AccountFilterForm(request.GET)
    page = None
    if form.is_valid():
        data = form.cleaned_data
        accounts = selectors.accounts_filtered(
            q=data["q"],
            nick=data["nick"],
            state=data["state"],
            remote=data["remote"],
            job=data["job"],
            source=data["source"],
        )
        page = selectors.account_page(
            accounts,
            searching=form.searching,
            by_nick=bool(data["nick"]) and not form.searching,
            after=data["after"] or None,
            before=data["before"] or None,
        )
    context = {
        "form": form,
        "page": page,
        "filters": _filters_query(request.GET, ("after", "before")),
        "filtered": any(
            request.GET.get(k)
            for k in ("q", "nick", "state", "remote", "source", "job")
        ),
    }
    return render(request, "accounts/account_list.html", context)


def _filters_query(params, drop):
    """The query string without the cursors, for the pages' links."""
    kept = params.copy()
    for name in drop:
        kept.pop(name, None)
    return kept.urlencode()


@require_safe
@permission_required(VIEW_ACCOUNTS, raise_exception=True)
def account_detail(request, user_id):
    """One account: what imadmin knows, its job items and the calls that carried it."""
    account = _account(user_id)
    items = selectors.account_items(account)
    calls = None
    if request.user.has_perm(VIEW_CALLS):
        job_ids = list(dict.fromkeys(item.job_id for item in items))
        calls = selectors.account_calls(account, job_ids)
    context = {"account": account, "items": items, "calls": calls}
    return render(request, "accounts/account_detail.html", context)


def _account(user_id):
    """The account of ``user_id`` or a 404 (never a 500 for an odd UserID)."""
    if len(user_id) > MAX_USER_ID or "\x00" in user_id:
        raise Http404("No such account")  # PostgreSQL would refuse a NUL outright
    return get_object_or_404(
        TrackedAccount.objects.select_related("job"), user_id=user_id
    )


ACCOUNT_ACTIONS = {
    "retry": (services.account_retry, gettext_lazy("Importing %(user_id)s again")),
    "check": (services.account_check, gettext_lazy("Checking %(user_id)s in IM")),
    "delete": (
        services.account_delete,
        gettext_lazy("Deleting %(user_id)s from IM"),
    ),
}


def _account_action(request, user_id, name):
    """Start the one-account job of ``name``; back to the account with its answer."""
    account = _account(user_id)
    start, verb = ACCOUNT_ACTIONS[name]
    try:
        job = start(account=account, user=request.user, request=request)
    except services.NothingToDo as exc:
        messages.warning(request, exc.for_people())
    else:
        doing = verb % {"user_id": account.user_id}
        messages.success(
            request, gettext("%(doing)s: job #%(pk)s.") % {"doing": doing, "pk": job.pk}
        )
    return redirect("web:account_detail", user_id=account.user_id)


@require_POST
@permission_required(RUN_BULK, raise_exception=True)
def account_retry(request, user_id):
    """Import the account again now (a job of one, sent within a moment)."""
    return _account_action(request, user_id, "retry")


@require_POST
@permission_required(RUN_BULK, raise_exception=True)
def account_check(request, user_id):
    """Ask IM whether the account is imported (account_check)."""
    return _account_action(request, user_id, "check")


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required(RUN_BULK, raise_exception=True)
def account_delete(request, user_id):
    """A page that says what deleting does; its confirmed POST deletes from IM."""
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        return _account_action(request, user_id, "delete")
    account = _account(user_id)
    return render(request, "accounts/account_delete.html", {"account": account})


# -- jobs --------------------------------------------------------------------------


@require_safe
@permission_required(VIEW_JOBS, raise_exception=True)
def job_list(request):
    form = JobFilterForm(request.GET)
    page = None
    if form.is_valid():
        data = form.cleaned_data
        page = selectors.keyset_page(
            selectors.jobs_filtered(status=data["status"]),
            after=data["after"] or None,
            before=data["before"] or None,
        )
    context = {
        "form": form,
        "page": page,
        "filters": _filters_query(request.GET, ("after", "before")),
    }
    return render(request, "accounts/job_list.html", context)


@require_safe
@permission_required(VIEW_JOBS, raise_exception=True)
def job_detail(request, pk):
    """A job's progress (kept live by job.js), its actions, downloads and call log."""
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)
    calls = None
    calls_form = CallPageForm(request.GET)
    if request.user.has_perm(VIEW_CALLS) and calls_form.is_valid():
        calls = selectors.job_calls_page(
            job,
            after=calls_form.cleaned_data["calls_after"] or None,
            before=calls_form.cleaned_data["calls_before"] or None,
        )
    context = {
        "job": job,
        "progress": selectors.job_progress(job),
        "calls": calls,
        "calls_form": calls_form,
        "can_retry": job.kind == JobKind.IMPORT and job.failed and job.settled,
        "upload": selectors.job_upload(job),
        "resumable": _resumable(request, job),
    }
    return render(request, "accounts/job_detail.html", context)


def _resumable(request, job):
    """How many accounts "import the remaining" would queue (0: no button)."""
    if not request.user.has_perm(RUN_BULK) or job.kind != JobKind.IMPORT:
        return 0
    if job.status not in services.RESUMABLE_STATUSES or not job.settled:
        return 0
    return services.job_unfinished_count(job)


@require_safe
@permission_required(VIEW_JOBS, raise_exception=True)
def job_progress(request, pk):
    """The job's counts as JSON, polled by job.js while the job runs."""
    job = get_object_or_404(ImportJob, pk=pk)
    return JsonResponse(selectors.job_progress(job))


@require_POST
@permission_required(RUN_BULK, raise_exception=True)
def job_retry(request, pk):
    """Start a new import job with the job's accounts that are still failed."""
    return _follow_up_job(request, pk, services.job_retry_failed, _retry_sentence)


def _retry_sentence(count):
    return ngettext(
        "Retrying %(n)s failed account of job #%(old)s as job #%(new)s.",
        "Retrying %(n)s failed accounts of job #%(old)s as job #%(new)s.",
        count,
    )


@require_POST
@permission_required(RUN_BULK, raise_exception=True)
def job_continue(request, pk):
    """Import what a cancelled or stopped job left unsent, as a new job."""
    return _follow_up_job(
        request, pk, services.job_resume_remaining, _remaining_sentence
    )


def _remaining_sentence(count):
    return ngettext(
        "Importing the remaining %(n)s account of job #%(old)s as job #%(new)s.",
        "Importing the remaining %(n)s accounts of job #%(old)s as job #%(new)s.",
        count,
    )


def _follow_up_job(request, pk, start, sentence):
    """Start a new job from job ``pk`` with ``start``; show it, or say why not.

    ``sentence(count)`` is the message's (plural) form for the new job's size.
    """
    job = get_object_or_404(ImportJob, pk=pk)
    try:
        new = start(job=job, user=request.user, source=JobSource.ADMIN, request=request)
    except services.NothingToDo as exc:
        messages.warning(request, exc.for_people())
        return redirect("web:job_detail", pk=job.pk)
    values = {"n": grouped(new.total), "old": job.pk, "new": new.pk}
    messages.success(request, sentence(new.total) % values)
    return redirect("web:job_detail", pk=new.pk)


@require_POST
@permission_required(RUN_BULK, raise_exception=True)
def job_resume(request, pk):
    """Send a paused job again, once what paused it is fixed."""
    job = get_object_or_404(ImportJob, pk=pk)
    if services.job_resume(job=job, user=request.user, request=request):
        text = gettext("Job #%(pk)s is sending again.")
        messages.success(request, text % {"pk": job.pk})
    else:
        text = gettext("Job #%(pk)s is not paused: nothing to resume.")
        messages.info(request, text % {"pk": job.pk})
    return redirect("web:job_detail", pk=job.pk)


@require_POST
@permission_required(RUN_BULK, raise_exception=True)
def job_cancel(request, pk):
    """Cancel a queued or running job; its queued accounts go back to pending."""
    job = get_object_or_404(ImportJob, pk=pk)
    cancelled = services.job_cancel(job=job, user=request.user, request=request)
    if cancelled:
        text = gettext(
            "Job #%(pk)s is cancelled; batches already sent finish and are recorded."
        )
        messages.success(request, text % {"pk": job.pk})
    else:
        text = gettext("Job #%(pk)s had already ended: nothing to cancel.")
        messages.info(request, text % {"pk": job.pk})
    return redirect("web:job_detail", pk=job.pk)


@require_safe
@permission_required([VIEW_JOBS, VIEW_ACCOUNTS], raise_exception=True)
def job_failed_csv(request, pk):
    """The job's failed (or invalid) accounts as a CSV to fix and upload again."""
    job = get_object_or_404(ImportJob, pk=pk)
    state = request.GET.get("state", ItemState.FAILED)
    if state not in (ItemState.FAILED, ItemState.INVALID):
        raise Http404("state must be failed or invalid")
    rows = selectors.job_problem_rows(job, state)
    return audited_download(
        request,
        csv_lines(PROBLEM_CSV_FIELDS, rows),
        filename=f"job-{job.pk}-{state}.csv",
        bom=True,
        job=job,
        details={"what": f"{state} accounts CSV"},
    )
