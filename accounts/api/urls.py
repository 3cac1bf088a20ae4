"""The API's routes: ninja's, open to Bearer tokens and with the API's body limit.

The site's LoginRequiredMiddleware would send a token's request to the sign-in
page; each API view checks its own token instead (the docs, a session or a
token). Django's DATA_UPLOAD_MAX_MEMORY_SIZE, meant for the pages' forms,
would refuse a large job as a 400: the API reads the body under
API_MAX_BODY_BYTES and answers 413 above it.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.urls import path

from accounts.api.app import api
from accounts.api.errors import error_response


def _body_limited(view):
    @wraps(view)
    def limited(request, *args, **kwargs):
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "bad_request", "Content-Length is not a number.")
        if size > settings.API_MAX_BODY_BYTES:
            return error_response(
                413,
                "too_large",
                f"The body is {size:,} bytes; at most "
                f"{settings.API_MAX_BODY_BYTES:,} are read.",
            )
        # Read here, so request.body (which ninja reads) skips the pages' limit.
        request._body = request.read()
        return view(request, *args, **kwargs)

    return limited


def _open_to_tokens(patterns):
    for pattern in patterns:
        pattern.callback = login_not_required(_body_limited(pattern.callback))
    return patterns


def _unknown(request, rest):
    """Any other path under /api/v1/: a JSON 404, not the site's page."""
    return error_response(404, "not_found", f"No API endpoint at /api/v1/{rest[:100]}.")


_patterns, _app_name, _namespace = api.urls
urls = (
    [*_open_to_tokens(_patterns), path("<path:rest>", login_not_required(_unknown))],
    _app_name,
    _namespace,
)
