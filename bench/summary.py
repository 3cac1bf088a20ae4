"""The run's summary: rates, shares of the API's ceiling, timeline and peak RSS."""

from datetime import datetime

API_CEILING = 100 * 100  # multiaccount_import: 100 calls/s x 100 accounts


def per_s(count, seconds):
    return count / seconds if seconds else 0.0


def ratio(a, b):
    return round(a / b, 2) if b else None


def summarize(args, imadmin, loop, clusters, sampler, env):
    end_to_end, job = imadmin_rates(imadmin)
    loop_rate = per_s(loop["accepted"], loop["seconds"])
    rss = sampler.by_role()
    peak_role = max(rss, key=rss.get) if rss else None
    return {
        "stack": args.stack,
        "accounts": args.accounts,
        "latency_ms": args.latency_ms,
        "clusters": args.clusters,
        "workers": args.workers,
        "im_concurrency": env_concurrency(args, env),
        "imadmin": imadmin_summary(imadmin, clusters, end_to_end, job),
        "loop": loop_summary(loop, loop_rate),
        "end_to_end_vs_loop": ratio(end_to_end, loop_rate),
        "job_vs_loop": ratio(job, loop_rate),
        "peak_rss_mb": rss,
        "max_peak_rss": {"process": peak_role, "mb": rss.get(peak_role)},
        "all_imported": (
            imadmin["sandbox"]["accounts"] == args.accounts
            and imadmin["result"].get("status") == "done"
        ),
    }


def imadmin_rates(imadmin):
    """Accounts/s imported: (end to end, the job alone)."""
    result, db = imadmin["result"], imadmin["db"]
    imported = result.get("imported", db["counts"]["succeeded"])
    return per_s(imported, imadmin["end_to_end_s"]), per_s(imported, db["job_s"])


def imadmin_summary(imadmin, clusters, end_to_end, job):
    db = imadmin["db"]
    tasks = {k: v for c in clusters for k, v in c.tasks_per_worker().items()}
    busy = sum(1 for n in tasks.values() if n)
    return {
        "result": imadmin["result"],
        "end_to_end_s": round(imadmin["end_to_end_s"], 2),
        "job_s": round(db["job_s"], 2),
        "first_call_to_done_s": db["first_call_to_done_s"],
        "accounts_per_s_end_to_end": round(end_to_end),
        "share_of_ceiling_end_to_end": round(end_to_end / API_CEILING, 3),
        "accounts_per_s_job": round(job),
        "share_of_ceiling_job": round(job / API_CEILING, 3),
        "job": db,
        "timeline_s": timeline(imadmin, db),
        "sandbox": imadmin["sandbox"],
        "cluster_start_s": [round(c.start_s, 2) for c in clusters],
        "cluster_stop_s": [c.stop_s and round(c.stop_s, 2) for c in clusters],
        "tasks_per_worker": tasks,
        "workers_that_ran_a_task": f"{busy} of {len(tasks)}",
        "limiter_slots": _slots(clusters),
    }


def _slots(clusters):
    total = {}
    for cluster in clusters:
        for api, counts in cluster.limiter_slots().items():
            into = total.setdefault(api, dict.fromkeys(counts, 0))
            for kind, number in counts.items():
                into[kind] += number
    return total


def loop_summary(loop, loop_rate):
    return {
        "seconds": round(loop["seconds"], 2),
        "accepted": loop["accepted"],
        "refused_accounts": loop["refused"],
        "accounts_per_s": round(loop_rate),
        "share_of_ceiling": round(loop_rate / API_CEILING, 3),
        "own_busiest_second": loop.get("max_calls_in_any_second"),
        "sandbox": loop["sandbox"],
    }


def timeline(imadmin, db):
    """Seconds from the command's start to each step of the job (its clock)."""
    start = imadmin["command_started_at"]
    steps = {
        "job created": db.get("created_at"),
        "first claim (started)": db.get("started_at"),
        "first call": db.get("first_call_at"),
        "last call": db.get("last_call_at"),
        "settled": db.get("finished_at"),
    }
    found = {
        name: round(datetime.fromisoformat(at).timestamp() - start, 3)
        for name, at in steps.items()
        if at
    }
    found["command returned"] = round(imadmin["end_to_end_s"], 3)
    return found


def env_concurrency(args, env):
    if args.concurrency is not None:
        return args.concurrency
    return env.get("IM_CONCURRENCY", "default")
