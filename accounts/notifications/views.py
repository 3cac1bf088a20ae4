"""The Notifications page: a person's own choice of email when their jobs end."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.notifications import services


class PreferenceForm(forms.Form):
    email_on_job_end = forms.BooleanField(
        label=gettext_lazy("Email me when a job I started ends"),
        required=False,
        help_text=gettext_lazy(
            "Done, done with errors, stopped or cancelled; not for the "
            "single-account form, whose page answers at once."
        ),
    )


@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request):
    """Show the signed-in person's notification choice; POST changes it."""
    current = services.notification_preference(user=request.user)
    if request.method == "POST":
        form = PreferenceForm(request.POST)
        if form.is_valid():
            services.notification_preference_set(
                user=request.user,
                email_on_job_end=form.cleaned_data["email_on_job_end"],
                request=request,
            )
            messages.success(request, _("Your notification choice is saved."))
            return redirect("notifications:preferences")
    else:
        form = PreferenceForm(initial={"email_on_job_end": current.email_on_job_end})
    return render(request, "notifications/preferences.html", {"form": form})
