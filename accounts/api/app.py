"""The NinjaAPI of /api/v1/: its routers, error handlers and docs access."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from ninja import NinjaAPI

from accounts import services
from accounts.api import accounts, errors, jobs

DESCRIPTION = (
    "imadmin's JSON API. Every call needs `Authorization: Bearer <token>` "
    "(made with `python manage.py create_api_token USERNAME`); a token acts "
    "as its user, with that user's role. Errors are "
    '`{"error": {"code", "message"}}`.'
)


def _bearer_user(request):
    header = request.headers.get("Authorization", "")
    scheme, _, raw_token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = services.api_token_authenticate(raw_token=raw_token.strip())
    return token.user if token else None


def docs_access(view):
    """The docs page and the OpenAPI document: a signed-in person or a token.

    Anyone else is sent to sign in (the page) or answered 401 (the document).
    """

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if request.user.is_authenticated or _bearer_user(request) is not None:
            return view(request, *args, **kwargs)
        if request.path.endswith(".json"):
            return errors.error_response(401, "unauthorized", errors.UNAUTHORIZED)
        return redirect_to_login(request.get_full_path())

    return guarded


api = NinjaAPI(
    title="imadmin API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    docs_decorator=docs_access,
)
errors.install(api)
api.add_router("", accounts.router)
api.add_router("", jobs.router)
