"""What a benchmark ran on and which code it measured."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import version
from pathlib import Path


def machine() -> dict:
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"platform": platform.platform(), "processor": _cpu_model(), "cpus": os.cpu_count(),
            "memory_gb": round(memory_gb, 1), "python": platform.python_version(),
            # Other work on a shared machine slows every tool measured; the ratios are what count.
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
            **{name: version(name) for name in ("polars", "duckdb", "pandas", "pandera")}}


def code_version() -> str:
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty"],
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return version("alliance-registry")
    return commit


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
