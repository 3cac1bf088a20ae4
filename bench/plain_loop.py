"""The plain loop's run: ``bench/sequential_import.py`` against the same sandbox."""

import subprocess
import sys

from checkout import ROOT
from console import BenchError, last_json_object, log

SANDBOX_SDKAPPID = 1400000000


def run_loop(url, key_file, accounts, timeout):
    """The script's JSON result: seconds, accepted and refused accounts, calls."""
    log("plain sequential loop started")
    try:
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "sequential_import.py"),
                "--url",
                url,
                "--sdkappid",
                str(SANDBOX_SDKAPPID),
                "--key-file",
                str(key_file),
                "--count",
                str(accounts),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(
            f"the plain loop did not finish within {timeout:.0f} s"
        ) from None
    result = last_json_object(done.stdout)
    if done.returncode or result is None:
        raise BenchError(f"the plain loop failed:\n{done.stdout}\n{done.stderr}")
    log(f"plain loop done in {result['seconds']:.1f} s")
    return result
