"""The email that tells a job's starter it ended: its words, and sending it."""

import smtplib

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from accounts.models import JobEvent

HEADLINES = {
    JobEvent.DONE: gettext_lazy("is done"),
    JobEvent.DONE_WITH_ERRORS: gettext_lazy("is done, with errors"),
    JobEvent.STOPPED: gettext_lazy("stopped"),
    JobEvent.CANCELLED: gettext_lazy("was cancelled"),
}


def job_end_message(job, event):
    """``(subject, body)`` of the email about ``job`` ending with ``event``.

    In the site's LANGUAGE_CODE: no one's own language is kept, and a job may
    end in a request read in another language than its starter's.
    """
    with translation.override(settings.LANGUAGE_CODE):
        return _message(job, event)


def _message(job, event):
    name = gettext("%(kind)s job #%(number)s") % {
        "kind": job.get_kind_display().capitalize(),
        "number": job.pk,
    }
    subject = f"imadmin: {name} {HEADLINES[event]}"
    lines = [
        f"{name}{f' ({job.label})' if job.label else ''} {HEADLINES[event]}.",
        "",
        gettext("Accounts: %(count)s") % {"count": job.total},
        gettext("Succeeded: %(count)s") % {"count": job.succeeded},
        gettext("Failed: %(count)s") % {"count": job.failed},
        gettext("Invalid: %(count)s") % {"count": job.invalid},
        gettext("Cancelled: %(count)s") % {"count": job.cancelled},
    ]
    if job.error_message:
        lines += ["", job.error_message]
    lines += [
        "",
        gettext(
            "You get this email because you started the job; turn it off on the "
            "Notifications page of imadmin."
        ),
    ]
    return subject, "\n".join(lines)


def email_send(recipient, subject, body):
    """Send one email with Django's mail; the error sentence, or "" if sent."""
    try:
        send_mail(subject, body, None, [recipient])
    except (OSError, smtplib.SMTPException) as exc:
        return f"could not send: {exc}"[:500]
    return ""
