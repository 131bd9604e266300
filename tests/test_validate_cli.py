"""`registry validate` as a clinic data manager runs it before uploading (SPEC section 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli import main
from tests.factories import alliance_row, intake_row, to_csv

JSON_FIELDS = {"status", "rows_read", "rows_accepted", "rows_quarantined", "rows_deduplicated",
               "failures", "identifier_findings"}


def validate(capsys, path: Path, kind: str = "intake", site: str = "BOS01", *extra) -> tuple[int, dict]:
    code = main(["validate", str(path), "--kind", kind, "--site", site, "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_accepted_file_exits_0(tmp_path, capsys):
    path = tmp_path / "intake.csv"
    path.write_bytes(to_csv([intake_row(), intake_row(client_id="C0002")], "intake"))
    code, report = validate(capsys, path)
    assert code == 0
    assert JSON_FIELDS <= set(report)
    assert (report["status"], report["rows_read"], report["rows_accepted"]) == ("accepted", 2, 2)


def test_partially_accepted_file_exits_0_and_lists_failures_with_examples(tmp_path, capsys):
    path = tmp_path / "alliance.csv"
    path.write_bytes(to_csv([alliance_row(), alliance_row(session_number="2", wai_1="6")], "alliance"))
    code, report = validate(capsys, path, "alliance")
    assert code == 0
    assert report["status"] == "partially_accepted"
    (failure,) = report["failures"]
    assert (failure["rule"], failure["count"]) == ("wai_sr_5_point_scale", 1)
    assert failure["examples"][0]["row"] == 3
    assert {"rule", "column", "count", "examples"} <= set(failure)


def test_rejected_file_exits_1_and_names_column_and_rule_only(tmp_path, capsys):
    path = tmp_path / "intake.csv"
    path.write_bytes(to_csv([intake_row(client_id="555-12-3456")], "intake"))
    code, report = validate(capsys, path)
    assert code == 1
    assert report["status"] == "rejected"
    assert [(f["column"], f["rule"]) for f in report["identifier_findings"]] == [("client_id", "ssn")]
    assert "555-12-3456" not in json.dumps(report)


def test_roster_is_checked_when_given(tmp_path, capsys):
    path = tmp_path / "intake.csv"
    path.write_bytes(to_csv([intake_row()], "intake"))
    roster = tmp_path / "sites.csv"
    roster.write_text("site_id,site_name,region,active_from\nNYC02,New York,east,2020-01\n")
    code, report = validate(capsys, path, "intake", "BOS01", "--roster", str(roster))
    assert code == 1 and report["failures"][0]["rule"] == "site_not_in_roster"


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing.csv"), "--kind", "intake", "--site", "BOS01"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(tmp_path / "x.csv"), "--kind", "invoices", "--site", "BOS01"])
    assert exc.value.code == 2


def test_console_script_touches_no_registry_state(tmp_path):
    """The installed `registry` command, run where a clinic would: nothing is written anywhere."""
    work = tmp_path / "clinic"
    work.mkdir()
    path = work / "intake.csv"
    path.write_bytes(to_csv([intake_row(phq9_1="9")], "intake"))
    home = tmp_path / "home"
    registry = Path(sys.executable).parent / "registry"
    done = subprocess.run([str(registry), "validate", str(path), "--kind", "intake", "--site", "BOS01"],
                          cwd=work, env=os.environ | {"REGISTRY_HOME": str(home)},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "partially_accepted" in done.stdout and "out_of_range" in done.stdout
    assert not home.exists()
    assert sorted(p.name for p in work.iterdir()) == ["intake.csv"]


def test_run_refuses_a_home_without_a_roster(tmp_path, capsys):
    (tmp_path / "landing" / "BOS01" / "2024-01").mkdir(parents=True)
    assert main(["run", "--home", str(tmp_path)]) == 2
    assert "no site roster" in capsys.readouterr().err
