"""The plain sequential script imadmin is measured against.

What someone would write without imadmin: one requests session, one
``multiaccount_import`` call of 100 accounts after another, no rate limiter,
no retries, no records. Prints the seconds taken and the accounts IM refused.

    python bench/sequential_import.py --url URL --sdkappid N --key-file PATH --count N
"""

import argparse
import json
import random
import time
from pathlib import Path

import requests
from TLSSigAPIv2 import TLSSigAPIv2


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--sdkappid", type=int, required=True)
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--identifier", default="administrator")
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    key = Path(args.key_file).read_text().strip()
    sig = TLSSigAPIv2(args.sdkappid, key).gen_sig(args.identifier)
    session = requests.Session()
    ids = [f"seq{i:08d}" for i in range(args.count)]
    refused = 0
    started = time.perf_counter()
    for n in range(0, len(ids), 100):
        batch = ids[n : n + 100]
        params = {
            "sdkappid": args.sdkappid,
            "identifier": args.identifier,
            "usersig": sig,
            "random": random.randint(0, 4294967295),
            "contenttype": "json",
        }
        body = {"AccountList": [{"UserID": u, "Nick": "Bench user"} for u in batch]}
        answer = session.post(
            f"{args.url}/v4/im_open_login_svc/multiaccount_import",
            params=params,
            data=json.dumps(body),
            timeout=10,
        ).json()
        if answer["ErrorCode"]:
            refused += len(batch)
        else:
            refused += len(answer.get("FailAccounts") or [])
    print(json.dumps({"seconds": time.perf_counter() - started, "refused": refused}))


if __name__ == "__main__":
    main()
