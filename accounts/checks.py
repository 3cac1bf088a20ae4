"""System checks: a wrong IM setting stops the start with a clear message.

Messages and hints are lazy translations: ``manage.py`` prints them in
English, the "IM is not configured correctly" banner in the page's language.
"""

from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from . import conf
from .im.validation import FieldError, clean_user_id

SERVICE_TIMEOUT = 3.0


@register()
def im_settings_check(app_configs, **kwargs):
    """Every IM setting readable and coherent; errors stop ``manage.py``."""
    return [*_credential_problems(), *_url_problems(), *_timing_problems()]


def _credential_problems():
    problems = []
    for getter, hint in (
        (
            conf.sdkappid,
            _("Set IM_SDKAPPID to the app's SDKAppID from the IM console."),
        ),
        (
            conf.secret_key,
            _("Set IM_SECRET_KEY, or IM_SECRET_KEY_FILE to a file holding it."),
        ),
        (conf.base_url, _("Set IM_REGION to the app's region, or IM_API_BASE_URL.")),
    ):
        try:
            getter()
        except ImproperlyConfigured as exc:
            problems.append(Error(str(exc), hint=hint, id="imadmin.E001"))
    try:
        clean_user_id(settings.IM_ADMIN_IDENTIFIER)
    except FieldError as exc:
        problems.append(Error(f"IM_ADMIN_IDENTIFIER: {exc.message}", id="imadmin.E002"))
    return problems


def _url_problems():
    url = settings.IM_API_BASE_URL
    if url and not url.startswith(("http://", "https://")):
        return [
            Error(
                _(
                    "IM_API_BASE_URL must start with https:// (or http:// for the "
                    "sandbox)"
                ),
                id="imadmin.E003",
            )
        ]
    if not settings.IM_SANDBOX and url.startswith("http://"):
        return [
            Warning(
                _("IM_API_BASE_URL is plain http: the real service is HTTPS only"),
                id="imadmin.W001",
            )
        ]
    return []


def _timing_problems():
    problems = []
    if settings.IM_READ_TIMEOUT <= SERVICE_TIMEOUT:
        check = Warning if settings.IM_SANDBOX else Error
        problems.append(
            check(
                format_lazy(
                    _(
                        "IM_READ_TIMEOUT ({read}s) must be longer than the "
                        "service's own {service:.0f}s timeout"
                    ),
                    read=settings.IM_READ_TIMEOUT,
                    service=SERVICE_TIMEOUT,
                ),
                id="imadmin.E004",
            )
        )
    reply = settings.IM_CONNECT_TIMEOUT + settings.IM_READ_TIMEOUT
    if settings.IM_CLAIM_LEASE_SECONDS < 2 * reply:
        problems.append(
            Warning(
                format_lazy(
                    _(
                        "IM_CLAIM_LEASE_SECONDS ({lease}) is less than twice a "
                        "call's longest wait ({reply:g}s): a claim then lives on its "
                        "renewals alone, and a call could outlast a lease"
                    ),
                    lease=settings.IM_CLAIM_LEASE_SECONDS,
                    reply=reply,
                ),
                hint=_(
                    "Keep IM_CLAIM_LEASE_SECONDS at least twice IM_CONNECT_TIMEOUT "
                    "+ IM_READ_TIMEOUT."
                ),
                id="imadmin.W002",
            )
        )
    if not 0 < settings.IM_RATE_FRACTION <= 1:
        problems.append(
            Error(
                _("IM_RATE_FRACTION must be above 0 and at most 1"), id="imadmin.E005"
            )
        )
    return problems


@register()
def upload_dir_check(app_configs, **kwargs):
    """Uploads wait for confirmation outside anything served publicly."""
    upload_dir = Path(settings.UPLOAD_DIR).resolve()
    public = [settings.STATIC_ROOT, getattr(settings, "MEDIA_ROOT", "")]
    # What the static files finders serve and collect: STATICFILES_DIRS
    # (a folder, or a (prefix, folder) pair) and each app's static/ folder.
    for entry in settings.STATICFILES_DIRS:
        public.append(entry[1] if isinstance(entry, (list, tuple)) else entry)
    public.extend(Path(app.path) / "static" for app in apps.get_app_configs())
    for root in filter(None, public):
        root = Path(root).resolve()
        if upload_dir == root or root in upload_dir.parents:
            return [
                Error(
                    f"UPLOAD_DIR ({upload_dir}) is inside {root}, which is served "
                    "publicly",
                    hint="Set UPLOAD_DIR to a private folder.",
                    id="imadmin.E010",
                )
            ]
    return []
