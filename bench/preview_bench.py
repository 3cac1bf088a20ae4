"""Preview benchmark: how fast an upload's preview reads a file, and its peak memory.

Measured in one run, on the same generated files (``user_id,nick,face_url``,
every value unique; CSV and XLSX, the XLSX laid out as Excel saves it, with a
shared-string table), each in a fresh process against a fresh, migrated SQLite
database with no accounts:

- ``imadmin``: ``accounts.uploads.preview.preview_stream``, what the upload
  page, the background preview task and ``import_accounts --dry-run`` run
  (read, validate, find duplicates, look the accounts up 500 at a time);
- ``import-export``: django-import-export's dry run of the same file
  (``ModelResource.import_data(dry_run=True)`` on a tablib Dataset, fields
  user_id/nick/face_url, ``import_id_fields = ("user_id",)``), the baseline;
- ``calamine`` and ``openpyxl``: the XLSX alone read through python-calamine
  and through openpyxl's read-only mode, row by row, nothing else: the two
  readers imadmin chose between.

Rows/s is data rows over the wall time from opening the file to the last row.
Peak memory is the measuring process's own peak RSS (VmHWM; MB = MiB), the
interpreter and Django included. A measurement that runs past
``--timeout`` seconds is stopped and reported as such; one that the rate on
the smaller file says would run past it is not run, and reported with that
projection.

    python bench/preview_bench.py [--rows 20000,200000,2000000] [--formats csv,xlsx]
        [--tools imadmin,import-export,calamine,openpyxl] [--timeout 900]
        [--json PATH]

Prints one line per measurement to stderr, then a Markdown table to stdout.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = ("user_id", "nick", "face_url")
TOOLS = ("imadmin", "import-export", "calamine", "openpyxl")
XLSX_ONLY = {"calamine", "openpyxl"}


def rows_of(count):
    for i in range(count):
        yield (f"user{i:07d}", f"Nick {i} 昵称", f"https://img.example/{i}.png")


def make_files(folder, count, formats):
    sys.path.insert(0, str(ROOT))
    from accounts.uploads.xlsx_writer import xlsx_write

    made = {}
    if "csv" in formats:
        path = folder / f"accounts-{count}.csv"
        with open(path, "w", encoding="utf-8", newline="") as out:
            out.write(",".join(HEADER) + "\r\n")
            out.writelines(",".join(row) + "\r\n" for row in rows_of(count))
        made["csv"] = path
    if "xlsx" in formats:
        path = folder / f"accounts-{count}.xlsx"
        xlsx_write(path, [HEADER, *rows_of(count)])
        made["xlsx"] = path
    return made


# -- one measurement, in its own process -----------------------------------------


def measure(tool, path):
    """Run ``tool`` over ``path``; (data rows read, seconds)."""
    started = time.monotonic()
    rows = MEASURES[tool](path)
    return rows, time.monotonic() - started


def _imadmin(path):
    from accounts.uploads.preview import preview_stream

    with open(path, "rb") as stream:
        _, summary = preview_stream(stream, "auto")
    assert summary["valid"] == summary["rows"], summary
    return summary["rows"]


def _import_export(path):
    import tablib
    from import_export import resources

    from accounts.models import TrackedAccount

    class AccountResource(resources.ModelResource):
        class Meta:
            model = TrackedAccount
            fields = HEADER
            import_id_fields = ("user_id",)

    fmt = "xlsx" if path.suffix == ".xlsx" else "csv"
    mode = "rb" if fmt == "xlsx" else "r"
    with open(path, mode) as source:
        dataset = tablib.Dataset().load(source, format=fmt)
    result = AccountResource().import_data(dataset, dry_run=True)
    assert not result.has_errors() and not result.has_validation_errors()
    return len(dataset)


def _calamine(path):
    from python_calamine import CalamineWorkbook

    with open(path, "rb") as stream:
        sheet = CalamineWorkbook.from_filelike(stream).get_sheet_by_index(0)
        return sum(1 for _ in sheet.iter_rows()) - 1


def _openpyxl(path):
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) - 1
    finally:
        book.close()


MEASURES = {
    "imadmin": _imadmin,
    "import-export": _import_export,
    "calamine": _calamine,
    "openpyxl": _openpyxl,
}


def child(tool, path):
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imadmin.settings")
    import django

    django.setup()
    rows, seconds = measure(tool, Path(path))
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": _vm_hwm_mb()}))


def _vm_hwm_mb():
    # VmHWM starts afresh at exec; ru_maxrss would keep the peak of the parent
    # this process was forked from (which made the files).
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


# -- the run -------------------------------------------------------------------------


def run_one(tool, path, env, timeout):
    command = [sys.executable, __file__, "--child", tool, str(path)]
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {timeout:.0f} s", "timed_out": True}
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def database_env(folder):
    env = dict(os.environ)
    env.update(
        IMADMIN_VAR_DIR=str(folder),
        DATABASE_URL=f"sqlite:///{folder / 'bench.sqlite3'}",
        DJANGO_SETTINGS_MODULE="imadmin.settings",
    )
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"],
        env=env,
        check=True,
        cwd=ROOT,
    )
    return env


def run(args):
    results, rates = [], {}
    with tempfile.TemporaryDirectory(prefix="preview-bench-") as tmp:
        folder = Path(tmp)
        env = database_env(folder)
        for count in args.rows:
            started = time.monotonic()
            files = make_files(folder, count, args.formats)
            made = time.monotonic() - started
            print(f"{count:,} rows: files made in {made:.1f} s", file=sys.stderr)
            for fmt, path in files.items():
                for tool in args.tools:
                    if tool in XLSX_ONLY and fmt != "xlsx":
                        continue
                    found = _projected(rates, tool, fmt, count, args.timeout)
                    found = found or run_one(tool, path, env, args.timeout)
                    if "rows" in found:
                        rates[tool, fmt] = found["rows"] / found["seconds"]
                    elif found.get("timed_out"):
                        rates[tool, fmt] = count / args.timeout  # at most this
                    found.pop("timed_out", None)
                    found.update(
                        tool=tool,
                        format=fmt,
                        rows_in_file=count,
                        bytes=path.stat().st_size,
                    )
                    print(_line(found), file=sys.stderr)
                    results.append(found)
                path.unlink()
    return results


def _projected(rates, tool, fmt, count, timeout):
    """A measurement not run: the last smaller file's rate says it would time out."""
    rate = rates.get((tool, fmt))
    if rate and count / rate > timeout:
        seconds = count / rate
        return {"error": f"not run: {seconds:,.0f} s or more at the smaller rate"}
    return None


def _line(found):
    where = f"{found['format']} {found['rows_in_file']:,} rows, {found['tool']}"
    if "error" in found:
        return f"{where}: {found['error']}"
    rate = found["rows"] / found["seconds"]
    return (
        f"{where}: {found['seconds']:.1f} s, {rate:,.0f} rows/s, "
        f"peak {found['peak_mb']:,.0f} MB"
    )


def table(results):
    lines = [
        "| file | rows | size | reader | seconds | rows/s | peak RSS |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for found in results:
        head = (
            f"| {found['format'].upper()} | {found['rows_in_file']:,} | "
            f"{found['bytes'] / 2**20:,.1f} MiB | {found['tool']} |"
        )
        if "error" in found:
            lines.append(f"{head} {found['error']} | — | — |")
            continue
        rate = found["rows"] / found["seconds"]
        peak = f"{found['peak_mb']:,.0f} MB"
        lines.append(f"{head} {found['seconds']:.1f} | {rate:,.0f} | {peak} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="20000,200000,2000000")
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    args.rows = [int(n) for n in args.rows.split(",")]
    args.formats = args.formats.split(",")
    args.tools = args.tools.split(",")
    results = run(args)
    print(table(results))
    if args.json:
        report = {
            "command": " ".join(sys.argv),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "results": results,
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
