"""Late sites (the lake assets' `on_time` check): due on the 10th of the following month."""

from __future__ import annotations

from datetime import date

from pipelines.home import RegistryHome
from pipelines.manifest import Manifest, upload_row
from pipelines.submissions import due_month, late_sites


def test_a_month_is_due_once_the_tenth_of_the_next_has_passed():
    assert due_month(date(2026, 11, 11)) == "2026-10"
    assert due_month(date(2026, 11, 10)) == "2026-09"  # the 10th itself is still on time
    assert due_month(date(2026, 1, 5)) == "2025-11"


def test_late_sites_are_the_active_ones_without_an_accepted_upload(tmp_path):
    home = RegistryHome(tmp_path)
    home.roster.write_text("site_id,site_name,region,active_from\n"
                           "BOS01,Boston,northeast,2024-01\n"
                           "NYC02,New York,northeast,2024-01\n"
                           "CHI03,Chicago,midwest,2024-06\n")  # not active yet in March
    report = {"status": "accepted", "rows_read": 1, "rows_accepted": 1, "rows_quarantined": 0,
              "rows_deduplicated": 0, "encoding": "utf-8", "delimiter": ",", "failures": [],
              "identifier_findings": []}
    rejected = report | {"status": "rejected", "failures": [{"rule": "empty_file", "level": "file"}]}
    with Manifest(home.manifest_db).session() as manifest:
        manifest.record_many([
            upload_row(site_id=site, month="2024-03", kind=kind, filename=f"{kind}.csv", sha256=site + kind,
                       size_bytes=1, mtime_ns=1, result=result, contract_version="1",
                       report_path="r", supersedes=None)
            for site, kind, result in (("BOS01", "intake", report), ("BOS01", "alliance", report),
                                       ("BOS01", "followup", report), ("NYC02", "intake", rejected))])
    assert late_sites(home, date(2024, 4, 11)) == {
        "intake": ["NYC02"], "alliance": ["NYC02"], "followup": ["NYC02"]}
    assert late_sites(home, date(2024, 4, 10)) == {  # February is due: nothing arrived for it
        "intake": ["BOS01", "NYC02"], "alliance": ["BOS01", "NYC02"], "followup": ["BOS01", "NYC02"]}
