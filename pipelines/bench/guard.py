"""The guard against DuckDB's `read_csv` and pandas + pandera's pandas backend, on one generated file.

All three run in this process, taking turns three times on the same file (warm in the page cache
after it is written), and each one's median run is reported, so their ratio is what counts on a
shared, noisy machine. The guard's peak memory is
measured in a fresh subprocess, so nothing the other two allocate counts against it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pipelines.bench.files import BYTES_PER_ROW, followup_file
from pipelines.bench.machine import code_version, machine

DEFAULT_ROWS = 2_000_000
REPEATS = 3  # each tool's figures are the median run's
PANDAS_MAX_ROWS = 4_000_000  # beyond this the pandas baseline alone needs more memory than the guard's target


def run(rows: int, out_dir: Path, say: Callable[[str], None]) -> dict:
    _import_everything()  # module imports are a fixed cost of a process, not of reading a file
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        path = Path(tmp) / "followup.csv"
        say(f"writing a {rows:,}-row follow-up file (about {rows * BYTES_PER_ROW / 1e6:,.0f} MB)")
        followup_file(path, rows)
        size = path.stat().st_size
        tools = {"duckdb_read_csv": lambda: _duckdb(path), "guard": lambda: _guard(path)}
        if rows <= PANDAS_MAX_ROWS:
            tools["pandas_pandera"] = lambda: _pandas_pandera(path)
        runs: dict[str, list] = {name: [] for name in tools}
        # Round-robin, so that a burst of load from elsewhere falls on every tool alike; the
        # median of REPEATS runs is reported, and every run's wall time beside it.
        for repeat in range(REPEATS):
            for name, work in tools.items():
                say(f"run {repeat + 1} of {REPEATS}: {name.replace('_', ' ')}")
                runs[name].append(_timed(work))
        duckdb_s, duckdb_cpu, duckdb_others, _ = _median(runs["duckdb_read_csv"])
        guard_s, guard_cpu, guard_others, result = _median(runs["guard"])
        pandas_s = pandas_cpu = pandas_others = None
        if "pandas_pandera" in runs:
            pandas_s, pandas_cpu, pandas_others, _ = _median(runs["pandas_pandera"])
        say("the guard's peak memory, in a fresh process")
        peak = _guard_peak_rss(path)
    figures = {
        "benchmark": "guard",
        "rows": rows,
        "file_bytes": size,
        "guard_seconds": round(guard_s, 3),
        "duckdb_read_csv_seconds": round(duckdb_s, 3),
        "pandas_pandera_seconds": None if pandas_s is None else round(pandas_s, 3),
        "repeats": REPEATS,
        "wall_seconds_each_run": {name: [round(r[0], 3) for r in timings] for name, timings in runs.items()},
        "guard_ratio": round(guard_s / duckdb_s, 3),
        "speedup_vs_pandas_pandera": None if pandas_s is None else round(pandas_s / guard_s, 2),
        # CPU seconds of this process (all threads): steadier than wall time on a busy machine.
        "cpu_seconds": {"guard": round(guard_cpu, 3), "duckdb_read_csv": round(duckdb_cpu, 3),
                        "pandas_pandera": None if pandas_cpu is None else round(pandas_cpu, 3)},
        "guard_cpu_ratio": round(guard_cpu / duckdb_cpu, 3),
        # Cores other processes kept busy while each tool ran (the machine's busy time less this
        # process's): the guard and DuckDB use both cores, pandas one, so other work on a 2-core
        # machine slows them and not pandas. A run to compare against the targets has these near 0.
        "other_processes_cores": {"guard": guard_others, "duckdb_read_csv": duckdb_others,
                                  "pandas_pandera": pandas_others},
        "guard_peak_rss_mb": peak["peak_rss_mb"],
        "guard_status": result["status"],
        "guard_rows": {k: result[k] for k in ("rows_read", "rows_accepted", "rows_quarantined",
                                              "rows_deduplicated")},
        "targets": {"guard_ratio": "<= 2.0 (aim 1.5)", "speedup_vs_pandas_pandera": ">= 5",
                    "guard_peak_rss_mb": "< 1024 for the 163 MB file, < 2048 for a 1 GB file"},
        "machine": machine(),
        "code_version": code_version(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"guard-{rows // 1000}k-rows.json"
    target.write_text(json.dumps(figures, indent=2) + "\n")
    figures["written_to"] = str(target)
    return figures


def _import_everything() -> None:
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import pandera.pandas  # noqa: F401

    import pipelines.guard.check  # noqa: F401


def _timed(work: Callable[[], object]) -> tuple[float, float, float | None, object]:
    """(wall seconds, CPU seconds of the process, cores other processes used meanwhile, result)."""
    busy, start, cpu = _machine_busy_seconds(), time.perf_counter(), time.process_time()
    result = work()
    wall, own = time.perf_counter() - start, time.process_time() - cpu
    after = _machine_busy_seconds()
    others = None if busy is None or after is None else round(max(0.0, after - busy - own) / wall, 2)
    return wall, own, others, result


def _median(timings: list[tuple]) -> tuple:
    """The run with the median wall time (its CPU seconds and neighbours' load come with it)."""
    return sorted(timings, key=lambda t: t[0])[len(timings) // 2]


def _machine_busy_seconds() -> float | None:
    """CPU seconds every process on the machine has used since boot (Linux /proc/stat), or None."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal: all but idle and iowait are busy
    ticks = [int(x) for x in fields[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _duckdb(path: Path) -> None:
    import duckdb

    with duckdb.connect() as con:
        con.execute("create table followup as select * from read_csv(?)", [str(path)])


def _guard(path: Path) -> dict:
    from pipelines.guard import check_upload

    return check_upload(path, path.name, "followup", "BOS01").to_dict()


def _pandas_pandera(path: Path) -> None:
    """The same job in pandas: every cell read as text (as the guard must, to scan it for
    identifiers), then typed and checked lazily with the contract's own checks (pandera's pandas
    backend, coercing)."""
    import pandas as pd
    import pandera.pandas as pap

    from schemas.contract import MODELS

    schema = MODELS["followup"].to_schema()
    pandas_schema = pap.DataFrameSchema(
        {name: pap.Column(_pandas_dtype(column), checks=list(column.checks),
                          nullable=column.nullable, coerce=True)
         for name, column in schema.columns.items()}, strict=True)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=["", "NA", "N/A", "."])
    for name, column in schema.columns.items():
        if str(column.dtype) == "Boolean":
            frame[name] = frame[name].str.lower().map({"yes": True, "no": False, "true": True,
                                                       "false": False, "y": True, "n": False,
                                                       "1": True, "0": False})
    pandas_schema.validate(frame, lazy=True)


def _pandas_dtype(column) -> str:
    dtype = str(column.dtype)
    return {"Int64": "Int64", "Float64": "Float64", "Boolean": "boolean"}.get(dtype, "string")


# VmHWM is this process's own high-water mark; getrusage's ru_maxrss would carry over the parent's
# peak from before the fork (Linux keeps it across exec).
_PEAK = """
import json, re, sys
from pathlib import Path
from pipelines.guard import check_upload
result = check_upload(Path(sys.argv[1]), "followup.csv", "followup", "BOS01")
hwm = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)
print(json.dumps({"status": result.status, "peak_rss_mb": round(int(hwm) / 1024, 1)}))
"""


def _guard_peak_rss(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _PEAK, str(path)], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])
