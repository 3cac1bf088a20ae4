"""The four error handlers named in imadmin/urls.py.

400, 403 and 404 render with the request (the top bar, the language
switcher). 500 renders with no request and no context processors: the
database or a processor may be what failed.
"""

from django.http import (
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
    HttpResponseServerError,
)
from django.template import loader
from django.utils import timezone
from django.utils.translation import gettext, pgettext
from django.views.decorators.csrf import requires_csrf_token

from accounts.errorpages.permissions import view_permissions
from accounts.roles import roles_granting


@requires_csrf_token
def bad_request(request, exception):
    return HttpResponseBadRequest(loader.render_to_string("400.html", {}, request))


@requires_csrf_token
def permission_denied(request, exception):
    permissions = _page_permissions(request)
    roles = roles_granting(permissions) if permissions else []
    context = {
        "reason": _message(exception),
        "roles": roles,
        "roles_text": pgettext("between role names", ", ").join(roles),
    }
    return HttpResponseForbidden(loader.render_to_string("403.html", context, request))


def csrf_failure(request, reason=""):
    """A form refused by the CSRF check: the usual cause, and what to do."""
    sentence = gettext(
        "The form was refused because its security token (CSRF) is missing or "
        "out of date, which happens when a page was open for long or cookies are "
        "off. Go back, reload the page and send it again."
    )
    return HttpResponseForbidden(
        loader.render_to_string(
            "403.html", {"reason": sentence, "form_refused": True}, request
        )
    )


@requires_csrf_token
def page_not_found(request, exception):
    return HttpResponseNotFound(loader.render_to_string("404.html", {}, request))


def server_error(request):
    # The time lets a person point the server's operators at the logged error.
    context = {"failed_at": timezone.now()}
    return HttpResponseServerError(loader.get_template("500.html").render(context))


def _page_permissions(request):
    match = getattr(request, "resolver_match", None)
    return view_permissions(match.func) if match else []


def _message(exception):
    """A message the view chose to give (PermissionDenied("…")), else ""."""
    args = getattr(exception, "args", ())
    return str(args[0]) if args and isinstance(args[0], str) else ""
