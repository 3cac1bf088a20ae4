"""Admin of webhook endpoints (secret write-only), their deliveries, email choices."""

from django import forms
from django.contrib import admin

from accounts.models import (
    JobEmail,
    JobEvent,
    NotificationPreference,
    WebhookDelivery,
    WebhookEndpoint,
)
from accounts.notifications import services


class WebhookEndpointForm(forms.ModelForm):
    """The secret is typed, never shown: left empty on a change, it is kept."""

    url = forms.URLField(max_length=500, assume_scheme="https")
    secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="Signs each delivery. Never shown again; leave empty to keep it.",
    )
    events = forms.MultipleChoiceField(
        choices=JobEvent.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "secret", "events", "active"]

    def clean(self):
        cleaned = super().clean()
        secret = cleaned.get("secret") or self.instance.secret
        try:
            services.webhook_validate(
                url=cleaned.get("url", ""),
                secret=secret,
                events=cleaned.get("events", []),
            )
        except services.WebhookInvalid as exc:
            raise forms.ValidationError(str(exc)) from None
        cleaned["secret"] = secret
        return cleaned


# What an attempt shows, under its endpoint and in the list of all of them.
ATTEMPT_FIELDS = [
    "event",
    "attempt",
    "state",
    "status_code",
    "duration_ms",
    "error",
    "next_attempt_at",
    "delivered_at",
]


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = ["job", *ATTEMPT_FIELDS]
    readonly_fields = fields
    ordering = ["-id"]
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "events", "active", "created_by", "created_at"]
    list_filter = ["active"]
    inlines = [DeliveryInline]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.save()
        services.webhook_audit(
            endpoint=obj, user=request.user, request=request, created=not change
        )

    def delete_model(self, request, obj):
        services.webhook_audit(
            endpoint=obj, user=request.user, request=request, deleted=True
        )
        obj.delete()

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            self.delete_model(request, endpoint)


class RecordAdmin(admin.ModelAdmin):
    """A log of what was sent: browsable, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(RecordAdmin):
    list_display = ["id", "endpoint", "job_id", *ATTEMPT_FIELDS, "created_at"]
    list_filter = ["state", "event", "endpoint"]
    raw_id_fields = ["job"]
    show_full_result_count = False


@admin.register(JobEmail)
class JobEmailAdmin(RecordAdmin):
    list_display = ["id", "job_id", "recipient", "event", "sent_at", "error"]
    raw_id_fields = ["job"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "email_on_job_end", "updated_at"]
    list_filter = ["email_on_job_end"]
    fields = ["user", "email_on_job_end"]
    raw_id_fields = ["user"]

    def save_model(self, request, obj, form, change):
        # Through the service, so the change is audited like the page's.
        saved = services.notification_preference_set(
            user=obj.user,
            email_on_job_end=obj.email_on_job_end,
            actor=request.user,
            request=request,
        )
        obj.pk = saved.pk
