"""The bench's progress lines, its failure, and reading back what a child wrote."""

import json
import sys
import time
from pathlib import Path


class BenchError(Exception):
    """The run failed; the message says where and why."""


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def tail(path, lines=30):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def last_json_object(text):
    for line in reversed(text.strip().splitlines()):
        try:
            found = json.loads(line)
        except ValueError:
            continue
        if isinstance(found, dict):
            return found
    return None
