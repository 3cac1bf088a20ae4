"""Every API error as ``{"error": {"code", "message"}}``, ninja's own included."""

from django.http import Http404, JsonResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError

UNAUTHORIZED = (
    "A valid API token is needed: send it as 'Authorization: Bearer <token>'. "
    "Revoked tokens are refused."
)
# ninja raises its own HttpError only for a body it cannot parse.
NOT_JSON = "The request body is not valid JSON."


class ApiError(Exception):
    """An answer other than success: its status, code, sentence and headers."""

    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status, code, message, headers=None):
    response = JsonResponse(
        {"error": {"code": code, "message": message}}, status=status
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _api_error(request, exc):
    return error_response(exc.status, exc.code, exc.message, exc.headers)


def _authentication(request, exc):
    return error_response(401, "unauthorized", UNAUTHORIZED)


def _validation(request, exc):
    return error_response(400, "invalid_request", validation_message(exc.errors))


def _http_error(request, exc):
    if exc.status_code == 400:
        return error_response(400, "invalid_json", NOT_JSON)
    return error_response(exc.status_code, "error", str(exc))


def _not_found(request, exc):
    return error_response(404, "not_found", str(exc) or "Not found.")


def validation_message(errors):
    """ninja's list of errors as one sentence: "body.kind: Input should be …"."""
    parts = []
    for error in errors[:5]:
        loc = list(error.get("loc", ()))
        if loc[:1] == ["body"]:  # ninja puts the parameter's name second
            loc = ["body", *loc[2:]]
        where = ".".join(str(part) for part in loc)
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    more = len(errors) - 5
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts) + "."


def install(api):
    """Register the handlers on the NinjaAPI ``api``."""
    api.add_exception_handler(ApiError, _api_error)
    api.add_exception_handler(AuthenticationError, _authentication)
    api.add_exception_handler(ValidationError, _validation)
    api.add_exception_handler(HttpError, _http_error)
    api.add_exception_handler(Http404, _not_found)
