"""``make run``: the IM sandbox, a django-q2 cluster and the web server, together."""

import os
import secrets
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

ADMIN_USERNAME = "admin"


class Command(BaseCommand):
    help = (
        "Run imadmin on this machine: sandbox (in sandbox mode), worker and web server."
    )

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, addr, **options):
        call_command("migrate", interactive=False, verbosity=0)
        password = self._ensure_admin()
        children = self._start(addr)
        self._announce(addr, password)
        self._supervise(children)

    def _ensure_admin(self):
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            return None
        # Never a fixed default: a fresh password, shown once.
        password = secrets.token_urlsafe(12)
        users.create_superuser(ADMIN_USERNAME, "", password)
        return password

    def _start(self, addr):
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        commands = []
        if settings.IM_SANDBOX:
            commands.append(("sandbox", [*manage, "im_sandbox"]))
        commands.append(("worker", [*manage, "qcluster"]))
        # --insecure: serve static files with DEBUG off, on this local run only.
        web = [*manage, "runserver", addr, "--noreload", "--insecure"]
        commands.append(("web", web))
        children = []
        for name, argv in commands:
            # A session of its own: Ctrl-C reaches only this process, which then
            # stops each child gracefully (SIGTERM to qcluster's main process).
            children.append((name, subprocess.Popen(argv, start_new_session=True)))
        return children

    def _announce(self, addr, password):
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"imadmin is running: http://{addr}/"))
        if password:
            self.stdout.write(
                f"Sign in as '{ADMIN_USERNAME}' with password: {password}\n"
                "(shown once; change it with: python manage.py changepassword admin)"
            )
        else:
            self.stdout.write("Sign in with your existing account.")
        mode = "local IM sandbox" if settings.IM_SANDBOX else settings.IM_REGION
        self.stdout.write(f"IM endpoint: {mode}. Press Ctrl-C to stop everything.\n")

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
        self._stop(children)

    def _stop(self, children):
        for _, proc in children:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.time() + 20
        for name, proc in children:
            try:
                proc.wait(timeout=max(deadline - time.time(), 0.1))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in time; killing it.")
                os.killpg(proc.pid, signal.SIGKILL)
        self.stdout.write("Stopped.")
