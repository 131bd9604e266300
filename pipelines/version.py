"""The code version stamped on what the registry publishes: the package version and, in a git
checkout, the commit (with "+dirty" when the tree has uncommitted changes)."""

from __future__ import annotations

import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


@cache
def code_version() -> str:
    try:
        base = version("alliance-registry")
    except PackageNotFoundError:
        base = "unknown"
    repo = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(repo), "describe", "--always", "--dirty=+dirty",
                                 "--exclude", "*"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return base
    return f"{base} ({commit.stdout.strip()})" if commit.returncode == 0 and commit.stdout.strip() else base
