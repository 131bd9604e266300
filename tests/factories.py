"""Valid contract rows to start from, and a writer that exports them in a clinic's dialect."""

from __future__ import annotations

import csv
import io

from schemas.contract import ordered_columns


def intake_row(**overrides) -> dict:
    row = {
        "site_id": "BOS01", "client_id": "C0001", "episode": "1", "intake_year": "2024",
        "age_years": "41", "sex": "female", "zip3": "021", "primary_diagnosis": "F33.1",
        "medicine": "ketamine", "route": "iv", "protocol": "KET-6", "planned_medicine_sessions": "6",
        "weight_kg": "70.5", "prior_psychedelic_use": "none", "concurrent_antidepressant": "yes",
        **{f"phq9_{i}": "2" for i in range(1, 10)}, **{f"gad7_{i}": "2" for i in range(1, 8)},
        **{f"who5_{i}": "2" for i in range(1, 6)}, "pcl5_total": "",
    }
    return row | overrides


def alliance_row(**overrides) -> dict:
    row = {
        "site_id": "BOS01", "client_id": "C0001", "episode": "1", "session_number": "1",
        "session_type": "preparation", "days_since_intake": "3", "therapist_id": "T01", "rater": "client",
        **{f"wai_{i}": "4" for i in range(1, 13)}, "dose_mg": "",
        "meq_mystical": "", "meq_positive_mood": "", "meq_transcendence": "", "meq_ineffability": "",
        **{f"ebi_{i}": "" for i in range(1, 7)}, "rupture": "no", "repair": "no", "adverse_event": "none",
    }
    return row | overrides


def followup_row(**overrides) -> dict:
    row = {
        "site_id": "BOS01", "client_id": "C0001", "episode": "1", "timepoint": "1m",
        "days_since_intake": "30", **{f"phq9_{i}": "1" for i in range(1, 10)},
        **{f"gad7_{i}": "1" for i in range(1, 8)}, **{f"who5_{i}": "3" for i in range(1, 6)},
        "pcl5_total": "", "serious_adverse_event": "no", "psychiatric_hospitalization": "no",
    }
    return row | overrides


ROW_MAKERS = {"intake": intake_row, "alliance": alliance_row, "followup": followup_row}


def to_csv(rows: list[dict], kind: str | None = None, delimiter: str = ",", encoding: str = "utf-8",
           line_end: str = "\n", columns: list[str] | None = None) -> bytes:
    columns = columns or (ordered_columns(kind) if kind else list(rows[0]))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return buffer.getvalue().encode(encoding)
