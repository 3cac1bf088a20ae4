"""The plain sequential script imadmin is measured against.

What someone would write without imadmin: one requests session, one
``multiaccount_import`` call of 100 accounts after another, no rate limiter,
no retries, no records. Prints one JSON object: the seconds taken, the accounts
IM refused (a refused call refuses its whole batch), the calls made, the calls
refused for rate (60007) and the most calls it started in one wall-clock second.

    python bench/sequential_import.py --url URL --sdkappid N --key-file PATH --count N
"""

import argparse
import json
import random
import time
from collections import Counter
from pathlib import Path

import requests
from TLSSigAPIv2 import TLSSigAPIv2

RATE_LIMITED = 60007


def main():
    args = parse_args()
    key = Path(args.key_file).read_text().strip()
    sig = TLSSigAPIv2(args.sdkappid, key).gen_sig(args.identifier)
    session = requests.Session()
    ids = [f"seq{i:08d}" for i in range(args.count)]
    refused = refused_for_rate = 0
    per_second = Counter()
    started = time.perf_counter()
    for n in range(0, len(ids), 100):
        batch = ids[n : n + 100]
        answer = import_batch(session, args, sig, batch, per_second)
        if answer["ErrorCode"]:
            refused += len(batch)
            refused_for_rate += answer["ErrorCode"] == RATE_LIMITED
        else:
            refused += len(answer.get("FailAccounts") or [])
    seconds = time.perf_counter() - started
    result = {
        "seconds": seconds,
        "refused": refused,
        "accepted": len(ids) - refused,
        "calls": sum(per_second.values()),
        "refused_rate_limit": refused_for_rate,
        "max_calls_in_any_second": max(per_second.values(), default=0),
    }
    print(json.dumps(result))


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--sdkappid", type=int, required=True)
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--identifier", default="administrator")
    parser.add_argument("--count", type=int, default=100_000)
    return parser.parse_args()


def import_batch(session, args, sig, batch, per_second):
    """One ``multiaccount_import`` call; counted in ``per_second`` as it starts."""
    params = {
        "sdkappid": args.sdkappid,
        "identifier": args.identifier,
        "usersig": sig,
        "random": random.randint(0, 4294967295),
        "contenttype": "json",
    }
    body = {"AccountList": [{"UserID": u, "Nick": "Bench user"} for u in batch]}
    per_second[int(time.time())] += 1
    return session.post(
        f"{args.url}/v4/im_open_login_svc/multiaccount_import",
        params=params,
        data=json.dumps(body),
        timeout=10,
    ).json()


if __name__ == "__main__":
    main()
