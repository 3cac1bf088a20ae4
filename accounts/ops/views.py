"""``/healthz``, ``/readyz`` and ``/metrics``: for probes and Prometheus, no sign-in.

``/healthz`` touches nothing (the process answers); ``/readyz`` runs the
readiness checks and answers 503 when one fails; ``/metrics`` answers only
a bearer token equal to METRICS_TOKEN or an address in
METRICS_ALLOWED_ADDRESSES, and 404 to anyone else, as if it were not there.
"""

import hmac
import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.audit.records import client_ip
from accounts.ops.metrics import CONTENT_TYPE, metrics_text
from accounts.ops.readiness import readiness


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """The process is alive: no database, no broker, no IM."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_GET
def readyz(request):
    """Each dependency named with ok/failed and a sentence; 503 if one failed."""
    checks = readiness()
    ready = all(c.ok for c in checks)
    body = {
        "status": "ok" if ready else "failed",
        "checks": {
            c.name: {"status": "ok" if c.ok else "failed", "detail": c.detail}
            for c in checks
        },
    }
    return JsonResponse(body, status=200 if ready else 503)


@login_not_required
@never_cache
@require_GET
def metrics(request):
    """Prometheus' text format, for the token or the allowed addresses only."""
    if not metrics_allowed(request):
        raise Http404
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE)


def metrics_allowed(request):
    """A bearer token equal to METRICS_TOKEN, or a client in an allowed network."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header[len("Bearer ") :].encode(), token.encode())
    address = client_ip(request)
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in allowed_networks())


def allowed_networks():
    """METRICS_ALLOWED_ADDRESSES as networks (an address is a /32 or /128)."""
    return [
        ipaddress.ip_network(value, strict=False)
        for value in settings.METRICS_ALLOWED_ADDRESSES
    ]
