"""``make run``: the IM sandbox, a django-q2 cluster and the web server, together.

It checks its ports before it says anything, starts the three with their
output going to one log file (``var/run-local.log``), waits until each of
them answers, and only then prints a short banner, which stays the last
thing on the screen. ``--sandbox "--latency-ms 30 --fault-rate 0.1"`` hands
options to the sandbox (``make run SANDBOX="..."``).
"""

import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts.ops.readiness import workers_check

from .im_sandbox import Command as SandboxCommand

ADMIN_USERNAME = "admin"
START_TIMEOUT = 90  # seconds for every service to answer
LOG_NAME = "run-local.log"


class Command(BaseCommand):
    help = (
        "Run imadmin on this machine: sandbox (in sandbox mode), worker and web server."
    )

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="HOST:PORT")
        parser.add_argument(
            "--sandbox",
            default="",
            help='options of im_sandbox, e.g. "--latency-ms 30 --fault-rate 0.1"',
        )

    def handle(self, *args, addr, sandbox, **options):
        host, port = _host_port(addr)
        sandbox_args = _sandbox_args(sandbox)
        ports_free(_wanted_ports(host, port))
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        password = self._ensure_admin()
        log_path = settings.IMADMIN_VAR_DIR / LOG_NAME
        children = _start(addr, sandbox_args, log_path)
        try:
            _wait_until_answering(host, port, children, log_path)
        except CommandError:
            _stop(children)
            raise
        self._announce(addr, password, sandbox_args, log_path)
        self._supervise(children)

    def _ensure_admin(self):
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            return None
        # Never a fixed default: a fresh password, shown once.
        password = secrets.token_urlsafe(12)
        users.create_superuser(ADMIN_USERNAME, "", password)
        return password

    def _announce(self, addr, password, sandbox_args, log_path):
        lines = [self.style.SUCCESS(f"imadmin is running: http://{addr}/")]
        if password:
            lines.append(
                f"Sign in as '{ADMIN_USERNAME}' with password: {password} "
                "(shown once; change it with: python manage.py changepassword admin)"
            )
        else:
            lines.append("Sign in with your existing account.")
        if settings.IM_SANDBOX:
            options = f" with {shlex.join(sandbox_args)}" if sandbox_args else ""
            lines.append(f"IM endpoint: local IM sandbox{options}.")
        else:
            lines.append(f"IM endpoint: {settings.IM_REGION}.")
        lines.append(f"Logs of all three: {log_path}. Press Ctrl-C to stop everything.")
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def _supervise(self, children):
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping:
            for name, proc in children:
                if proc.poll() is not None:
                    self.stderr.write(
                        f"{name} exited with {proc.returncode}; stopping."
                    )
                    stopping = True
            time.sleep(0.3)
        _stop(children, warn=self.stderr.write)
        self.stdout.write("Stopped.")


def _host_port(addr):
    host, _, port = addr.rpartition(":")
    if not host or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise CommandError(f"--addr must be HOST:PORT, e.g. 127.0.0.1:8000, not {addr}")
    return host, int(port)


def _sandbox_args(options):
    """The sandbox's options as a list, checked by its own parser first."""
    args = shlex.split(options)
    if args and not settings.IM_SANDBOX:
        raise CommandError("--sandbox: IM_SDKAPPID is set, so no sandbox is started")
    if args:
        parser = SandboxCommand().create_parser("manage.py", "im_sandbox")
        try:
            parsed = parser.parse_args(args)
        except CommandError as exc:
            raise CommandError(f"--sandbox: {exc}") from None
        if parsed.port is not None or parsed.host != "127.0.0.1":
            # The app finds the sandbox at IM_SANDBOX_PORT on loopback.
            raise CommandError(
                "--sandbox: set IM_SANDBOX_PORT instead of --port/--host"
            )
    return args


def _wanted_ports(host, port):
    wanted = [(host, port, "the web server")]
    if settings.IM_SANDBOX:
        wanted.append(("127.0.0.1", settings.IM_SANDBOX_PORT, "the IM sandbox"))
    return wanted


def ports_free(wanted):
    """Raise CommandError naming each (host, port, user) already taken."""
    taken = []
    for host, port, user in wanted:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                taken.append(f"port {port} on {host} ({user})")
    if taken:
        raise CommandError(
            f"{' and '.join(taken)} already in use: stop what listens there, or "
            "choose others (--addr HOST:PORT for the web server, IM_SANDBOX_PORT "
            "for the sandbox)."
        )


def _start(addr, sandbox_args, log_path):
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    commands = []
    if settings.IM_SANDBOX:
        commands.append(("sandbox", [*manage, "im_sandbox", *sandbox_args]))
    commands.append(("worker", [*manage, "qcluster"]))
    # WhiteNoise serves the collected static files, as in production.
    commands.append(("web", [*manage, "runserver", addr, "--noreload"]))
    children = []
    with open(log_path, "ab") as log:
        for name, argv in commands:
            # A session of its own: Ctrl-C reaches only this process, which then
            # stops each child gracefully (SIGTERM to qcluster's main process).
            proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            children.append((name, proc))
    return children


def _wait_until_answering(host, port, children, log_path):
    """Poll each service until it answers; CommandError if one exits or is late."""
    probes = {"web": lambda: _http_answers(f"http://{host}:{port}/healthz")}
    if settings.IM_SANDBOX:
        sandbox = f"http://127.0.0.1:{settings.IM_SANDBOX_PORT}/"
        probes["sandbox"] = lambda: _http_answers(sandbox)
    probes["worker"] = lambda: workers_check().ok
    deadline = time.monotonic() + START_TIMEOUT
    while probes:
        for name, proc in children:
            if proc.poll() is not None:
                raise CommandError(
                    f"{name} exited with {proc.returncode} while starting; "
                    f"its output is in {log_path}"
                )
        probes = {name: probe for name, probe in probes.items() if not probe()}
        if probes and time.monotonic() > deadline:
            raise CommandError(
                f"{', '.join(probes)} did not answer in {START_TIMEOUT} s; "
                f"see {log_path}"
            )
        time.sleep(0.3)


def _http_answers(url):
    try:
        requests.get(url, timeout=2)
    except requests.RequestException:
        return False
    return True


def _stop(children, warn=None):
    for _, proc in children:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.time() + 20
    for name, proc in children:
        try:
            proc.wait(timeout=max(deadline - time.time(), 0.1))
        except subprocess.TimeoutExpired:
            if warn:
                warn(f"{name} did not stop in time; killing it.")
            os.killpg(proc.pid, signal.SIGKILL)
