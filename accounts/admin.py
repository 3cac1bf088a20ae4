"""Django admin: actions that queue jobs or stop them; the records read-only."""

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts.audit.records import audit_record
from accounts.audit.selectors import (
    EVENT_FIELDS,
    about_user_id,
    job_user_ids_sample,
)

from . import queue_admin, services
from .models import (
    ApiCall,
    ApiToken,
    AuditAction,
    AuditEvent,
    ImportJob,
    JobItem,
    JobKind,
    JobSource,
    TrackedAccount,
)
from .params import MAX_SEARCH_CHARS, id_or_none
from .passwords import AuditedAdminPasswordChangeForm


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened: browsable, never edited by hand."""

    def get_search_results(self, request, queryset, search_term):
        if len(search_term) > MAX_SEARCH_CHARS:
            self.message_user(
                request,
                f"Search for at most {MAX_SEARCH_CHARS} characters.",
                messages.WARNING,
            )
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class BulkJobsAdmin(admin.ModelAdmin):
    """Actions that start or stop jobs need the run_bulk_jobs permission (importers)."""

    def has_run_bulk_jobs_permission(self, request):
        return request.user.has_perm("accounts.run_bulk_jobs")


class RecentJobFilter(admin.SimpleListFilter):
    """The latest jobs only: a list of every job would not scale."""

    title = "job"
    parameter_name = "job"

    def lookups(self, request, model_admin):
        # Strings, as a query string gives them: "Show counts" passes these back.
        return [(str(j.pk), str(j)) for j in ImportJob.objects.order_by("-id")[:15]]

    def queryset(self, request, queryset):
        job_id = id_or_none(self.value())
        return queryset if job_id is None else queryset.filter(job_id=job_id)


def _job_link(job):
    url = reverse("admin:accounts_importjob_change", args=[job.pk])
    return format_html('<a href="{}">{}</a>', url, job)


def _jobs_named(jobs, most=10):
    """'job #4', or 'jobs #4, #7 and #9': the first ``most``, then how many more."""
    numbers = [f"#{job.pk}" for job in jobs[:most]]
    if len(jobs) > most:
        numbers.append(f"{len(jobs) - most} more")
    if len(numbers) == 1:
        return f"job {numbers[0]}"
    return f"jobs {', '.join(numbers[:-1])} and {numbers[-1]}"


def _sentence(text):
    return text[:1].upper() + text[1:]


@admin.register(TrackedAccount)
class TrackedAccountAdmin(BulkJobsAdmin, ReadOnlyAdmin):
    list_display = [
        "user_id",
        "nick",
        "state",
        "remote_status",
        "is_drifted",
        "attempts",
        "last_error_code",
        "job_id",
        "updated_at",
    ]
    list_filter = ["state", "remote_status", "source", RecentJobFilter]
    # Prefix search uses the UserID index; "contains" would scan a million rows.
    search_fields = ["^user_id"]
    search_help_text = "UserID, or its beginning"
    show_full_result_count = False
    list_per_page = 100
    actions = ["import_selected", "check_selected", "retry_failed", "delete_from_im"]

    @admin.display(boolean=True, description="drifted")
    def is_drifted(self, obj):
        return obj.drifted

    def _start(self, request, queryset, kind, verb, *, action, selected=None):
        return self._run(
            request,
            lambda label: services.job_start(
                kind=kind,
                accounts=queryset,
                source=JobSource.ADMIN,
                user=request.user,
                label=label,
            ),
            verb,
            action=action,
            selected=queryset.count() if selected is None else selected,
        )

    def _run(self, request, start, verb, *, action, selected):
        """``start(label)`` a job, then audit and say what happened."""
        try:
            job = start(f"admin action: {verb.lower()} selected accounts")
        except services.NothingToDo as exc:
            _audit_action(request, action, selected, result="nothing_to_do")
            self.message_user(request, str(exc), messages.WARNING)
            return None
        _audit_action(request, action, selected, job=job)
        self.message_user(
            request,
            format_html("{} {} accounts: {} queued.", verb, job.total, _job_link(job)),
            messages.SUCCESS,
        )
        return None

    @admin.action(description="Import selected into IM", permissions=["run_bulk_jobs"])
    def import_selected(self, request, queryset):
        return self._start(
            request, queryset, JobKind.IMPORT, "Importing", action="import_selected"
        )

    @admin.action(description="Check status in IM", permissions=["run_bulk_jobs"])
    def check_selected(self, request, queryset):
        return self._start(
            request, queryset, JobKind.CHECK, "Checking", action="check_selected"
        )

    @admin.action(description="Retry failed", permissions=["run_bulk_jobs"])
    def retry_failed(self, request, queryset):
        return self._start(
            request,
            queryset.filter(state="failed"),
            JobKind.IMPORT,
            "Retrying",
            action="retry_failed",
            selected=queryset.count(),
        )

    @admin.action(description="Delete from IM…", permissions=["run_bulk_jobs"])
    def delete_from_im(self, request, queryset):
        """After a confirmation page; services.delete_plan says what it takes."""
        select_across = request.POST.get("select_across") == "1"
        try:
            return self._run(
                request,
                lambda label: services.accounts_delete_from_im(
                    accounts=queryset,
                    source=JobSource.ADMIN,
                    user=request.user,
                    label=label,
                    confirmed=request.POST.get("confirm") == "yes",
                    typed_count=request.POST.get("typed_count", ""),
                    select_across=select_across,
                ),
                "Deleting",
                action="delete_from_im",
                selected=queryset.count(),
            )
        except services.DeleteRefused as exc:
            _audit_action(request, "delete_from_im", queryset.count(), result="refused")
            self.message_user(request, str(exc), messages.ERROR)
        except services.DeleteNotConfirmed as exc:
            return self._delete_confirmation(request, queryset, exc, select_across)
        return None

    def _delete_confirmation(self, request, queryset, refusal, select_across):
        return TemplateResponse(
            request,
            "admin/accounts/delete_from_im_confirm.html",
            {
                **self.admin_site.each_context(request),
                "title": "Delete accounts from IM?",
                "plan": refusal.plan,
                "error": refusal.message,
                "reimport_block": services.REIMPORT_BLOCK,
                "sample": queryset[:20],
                "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
                "select_across": "1" if select_across else "0",
                "action": "delete_from_im",
                "opts": self.model._meta,
            },
        )


def _audit_action(request, action, selected, *, job=None, result="ok"):
    # The UserIDs are the job's items (the audit filter follows the job);
    # the entry itself names a few, so it stays small at a million.
    details = {
        "action": action,
        "selected": selected,
        "queued": job.total if job else 0,
    }
    if job:
        details["user_ids"] = job_user_ids_sample(job)
    audit_record(
        action=AuditAction.ADMIN_ACTION,
        request=request,
        object_type="job" if job else "",
        object_id=job.pk if job else "",
        job_id=job.pk if job else None,
        result=result,
        details=details,
    )


@admin.register(ImportJob)
class ImportJobAdmin(BulkJobsAdmin, ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "source",
        "status",
        "label",
        "total",
        "succeeded",
        "failed",
        "invalid",
        "cancelled",
        "error_code",
        "created_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "kind", "source"]
    show_full_result_count = False
    actions = ["retry_failed", "cancel_selected"]

    @admin.action(
        description="Retry failed accounts of selected jobs",
        permissions=["run_bulk_jobs"],
    )
    def retry_failed(self, request, queryset):
        """A new import job per selected import job, with its still-failed accounts.

        As the job page's button does: the service decides and audits.
        """
        refused = {}  # the service's reason -> the jobs it gave
        for job in queryset.order_by("pk"):
            try:
                retry = services.job_retry_failed(
                    job=job, user=request.user, source=JobSource.ADMIN, request=request
                )
            except services.NothingToDo as exc:
                refused.setdefault(str(exc), []).append(job)
                continue
            self.message_user(
                request,
                format_html(
                    "Retrying {} failed accounts of job #{} as {}.",
                    retry.total,
                    job.pk,
                    _job_link(retry),
                ),
                messages.SUCCESS,
            )
        for reason, jobs in refused.items():
            self.message_user(
                request, f"{_sentence(_jobs_named(jobs))}: {reason}", messages.WARNING
            )

    @admin.action(description="Cancel selected jobs", permissions=["run_bulk_jobs"])
    def cancel_selected(self, request, queryset):
        """Cancel each selected job not yet ended, as the job page's button does."""
        cancelled, ended = [], []
        for job in queryset.order_by("pk"):
            done = services.job_cancel(job=job, user=request.user, request=request)
            (cancelled if done else ended).append(job)
        if cancelled:
            self.message_user(
                request,
                f"Cancelled {_jobs_named(cancelled)}: queued accounts go back to "
                "pending; batches already sent finish and are recorded.",
                messages.SUCCESS,
            )
        if ended:
            self.message_user(
                request,
                f"{_sentence(_jobs_named(ended))} had already ended: "
                "nothing to cancel.",
                messages.INFO,
            )


@admin.register(ApiCall)
class ApiCallAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "job_id",
        "api",
        "account_count",
        "http_status",
        "error_code",
        "error_info",
        "duration_ms",
        "attempt",
        "created_at",
    ]
    list_filter = ["api", "error_code"]
    show_full_result_count = False
    list_select_related = False


@admin.register(JobItem)
class JobItemAdmin(ReadOnlyAdmin):
    list_display = ["id", "job_id", "account", "state", "attempts", "error_code"]
    list_filter = ["state"]
    raw_id_fields = ["job", "account"]
    show_full_result_count = False
    list_select_related = ["account"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit history: browsable by auditors; nobody adds, changes or deletes."""

    list_display = [f for f in EVENT_FIELDS if f != "details"]
    list_filter = ["action", "result"]
    date_hierarchy = "at"
    search_fields = ["=actor_name", "=user_id", "=object_id"]
    show_full_result_count = False
    list_select_related = False

    def get_actions(self, request):
        return {}  # not even delete_selected, whatever the permissions say

    def get_search_results(self, request, queryset, search_term):
        """Also the entries of bulk actions whose job held a UserID searched for."""
        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term and len(term) <= MAX_SEARCH_CHARS:
            found = found | queryset.filter(about_user_id(term))
        return found, duplicates


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made by ``create_api_token``; here they are listed and revoked.

    Only the hash is stored, so no page can show a token's value.
    """

    list_display = [
        "prefix",
        "label",
        "user",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "label", "user__username"]
    fields = ["prefix", "label", "user", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # nothing to edit: a token is revoked by the action

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, not deleted: the history keeps naming it

    def has_revoke_permission(self, request):
        return request.user.has_perm("accounts.change_apitoken")

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        revoked = [
            token
            for token in queryset.select_related("user").order_by("pk")
            if services.api_token_revoke(token=token, request=request)
        ]
        self.message_user(
            request,
            f"Revoked {len(revoked)} token(s); they are refused from now on.",
            messages.SUCCESS,
        )


class AuditedUserAdmin(UserAdmin):
    """Django's user admin, with setting a user's password audited."""

    change_password_form = AuditedAdminPasswordChangeForm


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), AuditedUserAdmin)
queue_admin.register_read_only()
