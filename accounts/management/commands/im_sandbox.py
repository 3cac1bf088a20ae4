"""``manage.py im_sandbox``: Tencent IM's account API on loopback, for local runs.

It prints one line, ``IM sandbox listening on http://HOST:PORT``, then logs one
line a call to stderr (query strings redacted). The /sandbox/ test aids need
the token it keeps in ``STATE.token`` (header ``X-Sandbox-Token``). Ctrl-C or
SIGTERM stops it.
The hidden ``--rate-scale F`` multiplies the documented rate limits: a testing
aid for benches (e.g. 100) and for limiter tests (e.g. 0.25).
"""

import argparse
import ipaddress
import logging
import socket
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import conf
from imsandbox import Faults, SandboxConfig, make_server

from ._signals import terminate_as_interrupt

DEFAULTS = Faults()
LOG_LEVELS = {0: logging.WARNING, 1: logging.INFO}  # higher verbosity: DEBUG


class Command(BaseCommand):
    help = "Run a local stand-in for Tencent IM's account API (loopback only)."
    # The sandbox needs no models, URLs or IM checks; start fast.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="a loopback address")
        parser.add_argument(
            "--port", type=int, help="default IM_SANDBOX_PORT; 0 picks a free port"
        )
        parser.add_argument("--state", help="SQLite file of accounts and blocks")
        parser.add_argument(
            "--account-limit", type=int, help="answer 70398 beyond N accounts"
        )
        _add_fault_arguments(
            parser.add_argument_group("faults (probabilities per call)")
        )
        parser.add_argument(
            "--delete-block-seconds",
            type=int,
            help=f"no re-import after delete (default {DEFAULTS.delete_block_seconds})",
        )
        parser.add_argument(
            "--rate-log", help="append per-second call counts (JSON lines)"
        )
        parser.add_argument("--seed", type=int, help="seed of the fault draws")
        # A testing aid for benches: multiplies the documented rate limits.
        parser.add_argument("--rate-scale", type=float, help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        host = options["host"]
        _require_loopback(host)
        port = settings.IM_SANDBOX_PORT if options["port"] is None else options["port"]
        config = self._config(options)
        _configure_logging(options["verbosity"])
        try:
            server = make_server(config, host, port)
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {host}:{port}: {exc.strerror}"
            ) from None
        self.stdout.write(f"IM sandbox listening on {server.url}")
        self.stdout.flush()
        serve_until_stopped(server)

    def _config(self, options):
        state = Path(
            options["state"] or settings.IMADMIN_VAR_DIR / "im-sandbox-state.sqlite3"
        )
        state.parent.mkdir(parents=True, exist_ok=True)
        return SandboxConfig(
            sdkappid=conf.sdkappid(),
            secret_key=conf.secret_key(),
            identifier=settings.IM_ADMIN_IDENTIFIER,
            state_path=str(state),
            faults=_faults(options),
            rate_log_path=options["rate_log"],
            seed=options["seed"],
        )


def _add_fault_arguments(faults):
    faults.add_argument("--latency-ms", type=int, help="added to every answer")
    faults.add_argument("--fault-rate", type=float, help="answer one of --fault-codes")
    faults.add_argument(
        "--fault-codes",
        help=f"default {','.join(map(str, DEFAULTS.fault_codes))}",
    )
    faults.add_argument("--http-502-rate", type=float, help="answer HTTP 502")
    faults.add_argument("--late-reply-rate", type=float, help="apply, then answer late")
    faults.add_argument(
        "--late-reply-ms", type=int, help=f"default {DEFAULTS.late_reply_ms}"
    )
    faults.add_argument(
        "--fail-accounts-rate",
        type=float,
        help="per account: list it in FailAccounts, unapplied",
    )


def _faults(options):
    names = [
        "account_limit",
        "latency_ms",
        "fault_rate",
        "http_502_rate",
        "late_reply_rate",
        "late_reply_ms",
        "fail_accounts_rate",
        "delete_block_seconds",
        "rate_scale",
    ]
    changes = {name: options[name] for name in names if options[name] is not None}
    try:
        if options["fault_codes"]:
            changes["fault_codes"] = [
                int(code) for code in options["fault_codes"].split(",") if code.strip()
            ]
        return DEFAULTS.updated(changes)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def _require_loopback(host):
    # The API is plain HTTP with the app's UserSig in the URL: loopback only.
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        raise CommandError(f"--host {host!r} does not resolve") from None
    if not all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos):
        raise CommandError("--host must be a loopback address, e.g. 127.0.0.1")


def _configure_logging(verbosity):
    level = LOG_LEVELS.get(verbosity, logging.DEBUG)
    logging.getLogger("imsandbox").setLevel(level)


def serve_until_stopped(server):
    """Serve until Ctrl-C or SIGTERM, then close the socket, the log and the store."""

    with terminate_as_interrupt():
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
