"""Admin of scheduled imports: saved through the service, which keeps the Schedule."""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import ScheduledImport
from accounts.scheduled import services


class ScheduledImportForm(forms.ModelForm):
    class Meta:
        model = ScheduledImport
        fields = ["name", "source", "frequency", "cron", "active", "created_by"]

    def clean(self):
        cleaned = super().clean()
        try:
            services.scheduled_import_validate(
                source=cleaned.get("source", ""),
                frequency=cleaned.get("frequency"),
                cron=cleaned.get("cron", ""),
            )
        except services.ScheduleInvalid as exc:
            raise forms.ValidationError(str(exc)) from None
        return cleaned


@admin.register(ScheduledImport)
class ScheduledImportAdmin(admin.ModelAdmin):
    form = ScheduledImportForm
    list_display = [
        "name",
        "source",
        "frequency",
        "cron",
        "active",
        "created_by",
        "last_run_at",
        "last_job_link",
        "last_error",
    ]
    list_filter = ["active", "frequency"]
    readonly_fields = ["last_run_at", "last_job_link", "last_error"]
    raw_id_fields = ["created_by"]

    @admin.display(description="last job")
    def last_job_link(self, obj):
        if obj.last_job_id is None:
            return "-"
        url = reverse("admin:accounts_importjob_change", args=[obj.last_job_id])
        return format_html('<a href="{}">job #{}</a>', url, obj.last_job_id)

    def get_changeform_initial_data(self, request):
        return {
            **super().get_changeform_initial_data(request),
            "created_by": request.user,
        }

    def save_model(self, request, obj, form, change):
        if obj.created_by is None:
            obj.created_by = request.user
        services.scheduled_import_save(
            scheduled=obj, user=request.user, request=request, created=not change
        )

    def delete_model(self, request, obj):
        services.scheduled_import_delete(
            scheduled=obj, user=request.user, request=request
        )

    def delete_queryset(self, request, queryset):
        for scheduled in queryset:
            self.delete_model(request, scheduled)
