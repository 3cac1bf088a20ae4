"""The email that tells a job's starter it ended: its words, and sending it."""

import smtplib

from django.core.mail import send_mail

from accounts.models import JobEvent

HEADLINES = {
    JobEvent.DONE: "is done",
    JobEvent.DONE_WITH_ERRORS: "is done, with errors",
    JobEvent.STOPPED: "stopped",
    JobEvent.CANCELLED: "was cancelled",
}


def job_end_message(job, event):
    """``(subject, body)`` of the email about ``job`` ending with ``event``."""
    name = f"{job.get_kind_display().capitalize()} job #{job.pk}"
    subject = f"imadmin: {name} {HEADLINES[event]}"
    lines = [
        f"{name}{f' ({job.label})' if job.label else ''} {HEADLINES[event]}.",
        "",
        f"Accounts: {job.total}",
        f"Succeeded: {job.succeeded}",
        f"Failed: {job.failed}",
        f"Invalid: {job.invalid}",
        f"Cancelled: {job.cancelled}",
    ]
    if job.error_message:
        lines += ["", job.error_message]
    lines += [
        "",
        "You get this email because you started the job; turn it off on the "
        "Notifications page of imadmin.",
    ]
    return subject, "\n".join(lines)


def email_send(recipient, subject, body):
    """Send one email with Django's mail; the error sentence, or "" if sent."""
    try:
        send_mail(subject, body, None, [recipient])
    except (OSError, smtplib.SMTPException) as exc:
        return f"could not send: {exc}"[:500]
    return ""
