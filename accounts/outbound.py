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

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


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
    for address in _resolve(host, port):
        address_check(host, address, allowed_hosts)


def address_check(host, address, allowed_hosts):
    """Raise OutboundRefused if ``address`` (one of ``host``'s) is internal, unlisted.

    ``fetch_session`` checks it again on each connection's own peer, so a
    name that resolves elsewhere by then (DNS rebinding) gets no request.
    """
    address = ipaddress.ip_address(str(address).split("%")[0])
    networks = [net for entry in allowed_hosts if (net := _network(entry))]
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
    return {info[4][0] for info in found}


class _PeerChecked:
    """Mixed into urllib3's connections: the peer is checked once connected."""

    allowed_hosts = ()

    def _new_conn(self):
        sock = super()._new_conn()
        try:
            address_check(self.host, sock.getpeername()[0], self.allowed_hosts)
        except OutboundRefused:
            sock.close()
            raise
        return sock


def _checked_pool(pool, connection, allowed_hosts):
    checked = type(
        f"Checked{connection.__name__}",
        (_PeerChecked, connection),
        {"allowed_hosts": tuple(allowed_hosts)},
    )
    return type(f"Checked{pool.__name__}", (pool,), {"ConnectionCls": checked})


class _CheckedAdapter(HTTPAdapter):
    def __init__(self, allowed_hosts):
        self._pools = {
            "http": _checked_pool(HTTPConnectionPool, HTTPConnection, allowed_hosts),
            "https": _checked_pool(HTTPSConnectionPool, HTTPSConnection, allowed_hosts),
        }
        super().__init__()  # which makes the pool manager

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools


def fetch_session(allowed_hosts):
    """A requests Session whose every connection is checked once it is made.

    The peer address of each new connection must pass ``address_check``
    before a byte of the request is sent, whatever the name resolved to a
    moment earlier. It goes direct: proxies from the environment are not
    used, since the address checked must be the server's own.
    """
    session = requests.Session()
    session.trust_env = False
    adapter = _CheckedAdapter(allowed_hosts)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
