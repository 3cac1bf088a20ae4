"""What the run prints: the summary JSON, a Markdown table row, "all imported"."""

import json
from pathlib import Path

TABLE_HEADER = (
    "| stack | accounts | latency | clusters x workers "
    "| imadmin end to end | imadmin job alone | plain loop "
    "| end to end / loop | job / loop | busiest second per API (limit) "
    "| calls refused for rate: imadmin / loop | max peak RSS |\n"
    "|---|---:|---:|---|---|---|---|---:|---:|---|---|---|"
)


def report(summary, json_path):
    text = json.dumps(summary, indent=2)
    print(text)
    if json_path:
        Path(json_path).write_text(text + "\n")
    print()
    print(TABLE_HEADER)
    print(table_row(summary))
    print(f"all imported: {'yes' if summary['all_imported'] else 'no'}")


def table_row(s):
    imadmin, loop = s["imadmin"], s["loop"]
    busiest = ", ".join(
        f"{name} {api['max_calls_in_any_second']}/s ({api['rate_limit']})"
        for name, api in imadmin["sandbox"]["apis"].items()
    )
    ratios = [s["end_to_end_vs_loop"], s["job_vs_loop"]]
    ratios = [f"{r:.2f}x" if r is not None else "—" for r in ratios]
    peak = s["max_peak_rss"]
    cells = [
        s["stack"],
        f"{s['accounts']:,}",
        f"{s['latency_ms']} ms",
        f"{s['clusters']} x {s['workers']}",
        f"{imadmin['accounts_per_s_end_to_end']:,}/s "
        f"({imadmin['share_of_ceiling_end_to_end']:.0%})",
        f"{imadmin['accounts_per_s_job']:,}/s ({imadmin['share_of_ceiling_job']:.0%})",
        f"{loop['accounts_per_s']:,}/s ({loop['share_of_ceiling']:.0%})",
        *ratios,
        busiest or "—",
        f"{imadmin['sandbox']['refused_rate_limit']} "
        f"/ {loop['sandbox']['refused_rate_limit']}",
        f"{peak['mb']} MB ({peak['process']})",
    ]
    return "| " + " | ".join(cells) + " |"
