"""The clinic's feedback report for one upload, as JSON (for machines) and HTML (for people)."""

from __future__ import annotations

import functools
import json
from datetime import datetime, UTC
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from pipelines.guard.result import GuardResult
from schemas.contract import CONTRACT_VERSION

STATUS_TEXT = {
    "accepted": "Accepted",
    "partially_accepted": "Accepted with quarantined rows",
    "rejected": "Rejected: nothing of this file was kept",
}
_env = Environment(loader=PackageLoader("pipelines", "templates"), autoescape=select_autoescape())


@functools.cache
def _template():
    """Compiled once per process: asking the environment each time checks the file on disk again."""
    return _env.get_template("feedback.html")


def feedback(result: GuardResult, month: str, upload: str) -> dict:
    return result.to_dict() | {
        "month": month,
        "upload": upload,
        "received_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "contract_version": CONTRACT_VERSION,
    }


def render_html(report: dict) -> str:
    return _template().render(
        r=report, month=report["month"], upload=report["upload"],
        received_at=report["received_at"], contract_version=report["contract_version"],
        status_text=STATUS_TEXT[report["status"]])


def write_report(report: dict, json_path: Path, html_path: Path) -> None:
    text = json.dumps(report, indent=2, default=str) + "\n"
    try:
        json_path.write_text(text)
    except FileNotFoundError:  # the folder is made when missing: asking first costs a call per report
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(text)
    html_path.write_text(render_html(report))
