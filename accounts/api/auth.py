"""Bearer tokens: who is asking, whether the role allows it, whether too often.

Checked before the body is read, in that order: 401, 429, 403. The token
acts as its user, so ``request.user`` becomes that user, with that role.
"""

from ninja.security import HttpBearer

from accounts import services
from accounts.api import throttle
from accounts.api.errors import ApiError


class TokenAuth(HttpBearer):
    """A live API token whose user holds every permission in ``permissions``."""

    def __init__(self, *permissions):
        super().__init__()
        self.permissions = permissions

    def authenticate(self, request, token):
        found = services.api_token_authenticate(raw_token=token)
        if found is None:
            return None  # ninja answers 401
        wait = throttle.retry_after(found)
        if wait is not None:
            raise ApiError(
                429,
                "rate_limited",
                f"Too many requests with this token; try again in {wait} s.",
                headers={"Retry-After": str(wait)},
            )
        # The audit history names the token (label, prefix) of writes made now.
        request.api_token = found
        request.user = found.user
        if not found.user.has_perms(self.permissions):
            raise ApiError(
                403, "forbidden", "This token's user's role does not allow this."
            )
        return found
