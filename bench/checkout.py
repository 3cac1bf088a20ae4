"""Where the checkout is, and running one of its ``manage.py`` commands to the end."""

import subprocess
import sys
from pathlib import Path

from console import BenchError

ROOT = Path(__file__).resolve().parent.parent
MANAGE = str(ROOT / "manage.py")


def manage(env, *argv):
    done = subprocess.run(
        [sys.executable, MANAGE, *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise BenchError(
            f"manage.py {' '.join(argv)[:80]} exited {done.returncode}:\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    return done.stdout
