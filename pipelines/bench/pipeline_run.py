"""One `registry run` of a benchmark, in a process of its own so that its peak memory is its own:
`python -m pipelines.bench.pipeline_run HOME` prints the run's figures as JSON on its last line."""

from __future__ import annotations

import json
import re
import resource
import sys
import time
from pathlib import Path

from pipelines.bench.memory import TreePeak
from pipelines.home import RegistryHome


def main(home: Path) -> dict:
    from pipelines.runner import run_registry

    started = time.perf_counter()
    with TreePeak() as together:
        summary = run_registry(RegistryHome(home.resolve()),
                               status=lambda message: print(f"  {message}", file=sys.stderr, flush=True))
    wall = time.perf_counter() - started
    # VmHWM: this process's own high-water mark; dbt runs as a child, whose peak is counted apart
    hwm_kb = int(re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1))
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"wall_seconds": round(wall, 2),
            "stages_seconds": {k: round(v, 2) for k, v in summary.seconds.items()},
            "uploads": summary.processed.uploads, "site_months": len(summary.site_months),
            "built": summary.built, "published_rows": summary.published,
            "peak_rss_mb": round(hwm_kb / 1024), "peak_rss_children_mb": round(children_kb / 1024),
            "peak_rss_together_mb": together.mb}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
