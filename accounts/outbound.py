"""Where imadmin may send requests of its own: webhooks and scheduled-import fetches.

One rule for both: https:// anywhere, plain http:// only to a loopback
address and only while OUTBOUND_HTTP_LOOPBACK is on (development and tests).
Fetches of scheduled imports are held to more: their host must be listed in
SCHEDULED_IMPORT_HOSTS, and every address it resolves to must be public
unless the list names that address (or its network) itself, so a listed name
cannot be pointed at an internal service.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class OutboundRefused(ValueError):
    """imadmin will not send this request; ``str()`` says why, for people."""


def url_check(url):
    """The (host, port) of ``url`` if it may be requested; raises OutboundRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundRefused(f"{url!r} is not a URL.") from None
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host:
        raise OutboundRefused("The URL must start with https:// and name a host.")
    if parts.username or parts.password:
        raise OutboundRefused("The URL must not hold a user name or password.")
    if parts.scheme == "http" and not (
        settings.OUTBOUND_HTTP_LOOPBACK and _loopback_name(host)
    ):
        raise OutboundRefused(
            "The URL must use https:// (plain http:// is accepted only to a "
            "loopback address while OUTBOUND_HTTP_LOOPBACK is on)."
        )
    return host, port or (443 if parts.scheme == "https" else 80)


def _loopback_name(host):
    if host == "localhost":
        return True
    address = _address(host)
    return address is not None and address.is_loopback


def _address(text):
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def listed_check(url, allowed_hosts):
    """``url_check``, and its host must be in ``allowed_hosts``; (host, port)."""
    host, port = url_check(url)
    if host.lower() not in {entry.lower() for entry in allowed_hosts}:
        raise OutboundRefused(
            f"{host} is not in SCHEDULED_IMPORT_HOSTS, so it may not be fetched."
        )
    return host, port


def fetch_check(url, allowed_hosts):
    """Check a scheduled import's URL against ``allowed_hosts``; raises OutboundRefused.

    Called before the request: the host must be listed, and each address it
    resolves to public or listed (as an address or a network).
    """
    host, port = listed_check(url, allowed_hosts)
    networks = [net for entry in allowed_hosts if (net := _network(entry))]
    for address in _resolve(host, port):
        if not address.is_global and not any(address in net for net in networks):
            raise OutboundRefused(
                f"{host} resolves to {address}, an internal address that "
                "SCHEDULED_IMPORT_HOSTS does not name."
            )


def _network(entry):
    try:
        return ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return None


def _resolve(host, port):
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundRefused(f"{host} cannot be resolved: {exc.strerror}.") from None
    return {ipaddress.ip_address(info[4][0].split("%")[0]) for info in found}
