"""The IM sandbox the run calls: its ``im_sandbox`` process, statistics and reset."""

import re
import subprocess
import sys
import threading

import requests
from checkout import MANAGE, ROOT
from console import BenchError, tail
from processes import drain, stop_group

from imsandbox import TOKEN_HEADER, token_path


class Sandbox:
    """One ``manage.py im_sandbox`` on a free port, with its state in ``tmp``."""

    def __init__(self, env, tmp, latency_ms, stderr):
        self.state = tmp / "sandbox.sqlite3"
        self.log_path = tmp / "sandbox.log"
        self.url = None
        self.control_headers = None
        self.proc = subprocess.Popen(
            [
                sys.executable,
                MANAGE,
                "im_sandbox",
                "--port",
                "0",
                "--state",
                str(self.state),
                "--latency-ms",
                str(latency_ms),
                "-v",
                "0",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )

    def connect(self):
        """Read the URL it prints once it listens, and its control token."""
        line = self.proc.stdout.readline()
        found = re.search(r"(http://\S+)", line)
        if not found:
            raise BenchError(
                f"the sandbox did not start: {line!r}\n{tail(self.log_path)}"
            )
        self.url = found[1]
        # Nothing more is expected on stdout; drain it so the sandbox never blocks.
        threading.Thread(target=drain, args=(self.proc.stdout,), daemon=True).start()
        token = token_path(self.state).read_text().strip()
        self.control_headers = {TOKEN_HEADER: token}

    def stats(self):
        """Per API that was called: calls, refusals for rate, the busiest second."""
        stats = requests.get(
            f"{self.url}/sandbox/stats", headers=self.control_headers, timeout=10
        ).json()
        apis = {
            name: {
                "calls": api["calls"],
                "refused_rate_limit": api["refused_rate_limit"],
                "max_calls_in_any_second": api["max_calls_in_any_second"],
                "rate_limit": api.get("rate_limit"),
            }
            for name, api in stats["apis"].items()
            if api["calls"]
        }
        return {
            "apis": apis,
            "refused_rate_limit": sum(a["refused_rate_limit"] for a in apis.values()),
            "accounts": stats["accounts"],
        }

    def reset_accounts(self):
        """Forget the accounts, so the plain loop imports into an empty sandbox."""
        requests.post(
            f"{self.url}/sandbox/reset",
            json={"accounts": True},
            headers=self.control_headers,
            timeout=10,
        )

    def stop(self):
        stop_group(self.proc, grace=10)
        self.proc.stdout.close()
