"""The IM configuration as the project's settings describe it.

Read when used, not at import, so tests can change settings; the secret key
is read from IM_SECRET_KEY or IM_SECRET_KEY_FILE and never stored elsewhere.
"""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .im.client import REGION_DOMAINS, ImClient, ImConfig, region_base_url

SANDBOX_SDKAPPID = 1400000000


def secret_key():
    if settings.IM_SECRET_KEY:
        return settings.IM_SECRET_KEY
    if settings.IM_SECRET_KEY_FILE:
        return _secret_key_from_file(Path(settings.IM_SECRET_KEY_FILE))
    raise ImproperlyConfigured("IM_SECRET_KEY or IM_SECRET_KEY_FILE must be set")


def _secret_key_from_file(path):
    # The HMAC is keyed with the key's UTF-8 bytes, whatever the locale says.
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"IM_SECRET_KEY_FILE {path} cannot be read: {exc.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise ImproperlyConfigured(
            f"IM_SECRET_KEY_FILE {path} is not UTF-8 text"
        ) from None
    if not key:
        # An empty key would only show up later, as 70009 on every call.
        raise ImproperlyConfigured(f"IM_SECRET_KEY_FILE {path} is empty")
    return key


def sdkappid():
    if settings.IM_SANDBOX:
        return SANDBOX_SDKAPPID
    try:
        value = int(settings.IM_SDKAPPID)
    except (TypeError, ValueError):
        raise ImproperlyConfigured("IM_SDKAPPID must be a number") from None
    if value <= 0:
        raise ImproperlyConfigured("IM_SDKAPPID must be a positive number")
    return value


def base_url():
    if settings.IM_API_BASE_URL:
        return settings.IM_API_BASE_URL.rstrip("/")
    if settings.IM_REGION not in REGION_DOMAINS:
        raise ImproperlyConfigured(
            f"IM_REGION must be one of {', '.join(REGION_DOMAINS)}, "
            f"not {settings.IM_REGION!r}"
        )
    return region_base_url(settings.IM_REGION)


def endpoint_label():
    """Which IM endpoint is configured, for pages: never the secret."""
    if settings.IM_SANDBOX:
        return f"local sandbox ({base_url()})"
    if settings.IM_API_BASE_URL:
        return settings.IM_API_BASE_URL
    return f"{settings.IM_REGION} ({REGION_DOMAINS.get(settings.IM_REGION, '?')})"


def im_config():
    return ImConfig(
        sdkappid=sdkappid(),
        secret_key=secret_key(),
        identifier=settings.IM_ADMIN_IDENTIFIER,
        base_url=base_url(),
        connect_timeout=settings.IM_CONNECT_TIMEOUT,
        read_timeout=settings.IM_READ_TIMEOUT,
        usersig_ttl=settings.IM_USERSIG_TTL,
    )


def im_client():
    """A new client for the configured service; callers reuse it for many calls."""
    return ImClient(im_config())
