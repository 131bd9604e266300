"""The follow-up windows (SPEC section 5), read from where dbt defines them: dbt_project.yml vars.

The generator plants assessments in them and the dashboard explains them; neither retypes the days.
"""

from __future__ import annotations

from pathlib import Path

import yaml

DBT_PROJECT_YML = Path(__file__).resolve().parents[1] / "dbt_project" / "dbt_project.yml"


def followup_windows() -> dict[str, tuple[int, int]]:
    """Timepoint -> (first day, last day) since intake, inclusive."""
    project = yaml.safe_load(DBT_PROJECT_YML.read_text())
    return {timepoint: tuple(days) for timepoint, days in project["vars"]["followup_windows"].items()}


def describe_windows() -> str:
    """'1m 14-59 days, 3m 60-134, ...' for readers of a page or report."""
    spans = [f"{tp} {first}-{last}" for tp, (first, last) in followup_windows().items()]
    return f"{spans[0]} days, " + ", ".join(spans[1:]) if spans else ""
