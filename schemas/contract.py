"""Upload contract v1 (SPEC section 3) as pandera models, one per file kind.

The models describe rows *after* the upload guard has parsed the clinic's text into typed values
(integers, decimals, booleans, lower-cased enums). Parsing failures ("abc" in an integer column) are the
guard's to report; everything a parsed value can break is declared here, so that the contract, the
clinic's data dictionary and the quarantine all come from one place.

Field metadata used by the guard:
  optional  the column may be left out of the file (it is then filled with `default`, or missing)
  default   value used when the column is absent or a cell is empty
  echo      the offending value may be shown back to the clinic (never true for identifier columns),
            unless an identifier rule could match it
  case      "upper": the clinic's spelling is upper-cased before the check (ICD-10 codes)
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

CONTRACT_VERSION = "1.0.0"
KINDS = ("intake", "alliance", "followup", "withdrawals")
# File types a clinic may upload (SPEC 3); anything else is rejected unread.
ACCEPTED_SUFFIXES = (".csv", ".csv.gz", ".xlsx")

MEDICINES = ["ketamine", "esketamine", "psilocybin", "mdma", "lsd", "other"]
ROUTES = ["iv", "im", "intranasal", "sublingual", "oral"]
SEXES = ["female", "male", "intersex", "unknown"]
PRIOR_USE = ["none", "lifetime", "past_year", "unknown"]
SESSION_TYPES = ["preparation", "medicine", "integration"]
RATERS = ["client", "therapist"]
ADVERSE_EVENTS = ["none", "mild", "moderate", "severe"]
TIMEPOINTS = ["1m", "3m", "6m", "12m", "24m"]
RESTRICTED_ZIP3 = {
    "036", "059", "063", "102", "203", "556", "692", "790", "821",
    "823", "830", "831", "878", "879", "884", "890", "893",
}
ZIP3_MASK = "000"  # what a restricted ZIP3 is sent as
AGE_TOP_CODE = 90  # ages above 89 are sent as 90 (Safe Harbor); a larger age is an identifier

SITE_ID_PATTERN = r"^[A-Z][A-Z0-9]{2,9}$"
CLIENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{3,31}$"
THERAPIST_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$"
ICD10_PATTERN = r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$"
PROTOCOL_PATTERN = r"^[A-Za-z0-9._-]{1,32}$"
FIRST_INTAKE_YEAR = 2015

PHQ9_ITEMS = [f"phq9_{i}" for i in range(1, 10)]
GAD7_ITEMS = [f"gad7_{i}" for i in range(1, 8)]
WHO5_ITEMS = [f"who5_{i}" for i in range(1, 6)]
WAI_ITEMS = [f"wai_{i}" for i in range(1, 13)]
EBI_ITEMS = [f"ebi_{i}" for i in range(1, 7)]
MEQ_SUBSCALES = ["meq_mystical", "meq_positive_mood", "meq_transcendence", "meq_ineffability"]

# Columns whose raw values are pseudonymous identifiers: never echoed in reports, and replaced by
# keyed hashes (client_key, therapist_key) before anything reaches the lake.
IDENTIFIER_COLUMNS = ("client_id", "therapist_id")


def _optional(default=None, echo: bool = False) -> dict:
    """Field keywords for a column the clinic may leave out of the file."""
    return {"metadata": {"optional": True, "default": default, "echo": echo}}


def _optional_scale(lo: float, hi: float, description: str) -> pa.Field:
    """An optional questionnaire column the clinic may leave out or leave empty."""
    return pa.Field(nullable=True, in_range={"min_value": lo, "max_value": hi},
                    description=description, **_optional(echo=True))


def _item(lo: int, hi: int, description: str) -> pa.Field:
    return pa.Field(nullable=True, in_range={"min_value": lo, "max_value": hi},
                    description=description, metadata={"echo": True})


# --------------------------------------------------------------------------------------------
# Shared blocks
# --------------------------------------------------------------------------------------------

class EpisodeKey(pa.DataFrameModel):
    """Identifies a treatment episode; every kind carries it."""

    site_id: str = pa.Field(str_matches=SITE_ID_PATTERN, metadata={"echo": True},
                            description="Registry site code; must equal the upload folder's site.")
    client_id: str = pa.Field(str_matches=CLIENT_ID_PATTERN,
                              description="The clinic's registry pseudonym for the client (4-32 "
                                          "letters, digits, _ or -). Never an MRN, email or phone.")
    episode: int = pa.Field(ge=1, metadata={"optional": True, "default": 1, "echo": True},
                            description="Treatment episode number for this client, from 1.")


class SymptomScores(pa.DataFrameModel):
    """PHQ-9, GAD-7 and WHO-5 items and the PCL-5 total, at intake and at follow-up."""

    phq9_1: int = _item(0, 3, "PHQ-9 item 1 (0-3)")
    phq9_2: int = _item(0, 3, "PHQ-9 item 2 (0-3)")
    phq9_3: int = _item(0, 3, "PHQ-9 item 3 (0-3)")
    phq9_4: int = _item(0, 3, "PHQ-9 item 4 (0-3)")
    phq9_5: int = _item(0, 3, "PHQ-9 item 5 (0-3)")
    phq9_6: int = _item(0, 3, "PHQ-9 item 6 (0-3)")
    phq9_7: int = _item(0, 3, "PHQ-9 item 7 (0-3)")
    phq9_8: int = _item(0, 3, "PHQ-9 item 8 (0-3)")
    phq9_9: int = _item(0, 3, "PHQ-9 item 9, thoughts of self-harm (0-3)")
    gad7_1: int = _item(0, 3, "GAD-7 item 1 (0-3)")
    gad7_2: int = _item(0, 3, "GAD-7 item 2 (0-3)")
    gad7_3: int = _item(0, 3, "GAD-7 item 3 (0-3)")
    gad7_4: int = _item(0, 3, "GAD-7 item 4 (0-3)")
    gad7_5: int = _item(0, 3, "GAD-7 item 5 (0-3)")
    gad7_6: int = _item(0, 3, "GAD-7 item 6 (0-3)")
    gad7_7: int = _item(0, 3, "GAD-7 item 7 (0-3)")
    who5_1: int = _item(0, 5, "WHO-5 item 1 (0-5)")
    who5_2: int = _item(0, 5, "WHO-5 item 2 (0-5)")
    who5_3: int = _item(0, 5, "WHO-5 item 3 (0-5)")
    who5_4: int = _item(0, 5, "WHO-5 item 4 (0-5)")
    who5_5: int = _item(0, 5, "WHO-5 item 5 (0-5)")
    pcl5_total: int = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": 80},
                               description="PCL-5 total score (0-80).", **_optional(echo=True))


# --------------------------------------------------------------------------------------------
# File kinds
# --------------------------------------------------------------------------------------------

class Intake(EpisodeKey, SymptomScores):
    """intake.csv: one row per treatment episode, with baseline scores collected at intake."""

    intake_year: int = pa.Field(ge=FIRST_INTAKE_YEAR, metadata={"echo": True},
                                description="Calendar year of intake (the only calendar field), "
                                            f"{FIRST_INTAKE_YEAR} to the current year.")
    age_years: int = pa.Field(in_range={"min_value": 18, "max_value": AGE_TOP_CODE}, metadata={"echo": True},
                              description="Age at intake in whole years; 90 means 90 or older.")
    sex: str = pa.Field(isin=SEXES, metadata={"echo": True}, description="Sex recorded at intake.")
    zip3: str = pa.Field(nullable=True, str_matches=r"^[0-9]{3}$",
                         description="First three ZIP digits; restricted ZIP3s are sent as 000.",
                         **_optional())
    primary_diagnosis: str = pa.Field(str_matches=ICD10_PATTERN, metadata={"echo": True, "case": "upper"},
                                      description="Primary diagnosis as an ICD-10 code, e.g. F33.1.")
    medicine: str = pa.Field(isin=MEDICINES, metadata={"echo": True},
                             description="Medicine of the treatment course.")
    route: str = pa.Field(isin=ROUTES, metadata={"echo": True}, description="Route of administration.")
    protocol: str = pa.Field(nullable=True, str_matches=PROTOCOL_PATTERN,
                             description="The clinic's protocol code (no free text).", **_optional())
    planned_medicine_sessions: int = pa.Field(in_range={"min_value": 1, "max_value": 12},
                                              metadata={"echo": True},
                                              description="Medicine sessions planned at intake.")
    weight_kg: float = pa.Field(nullable=True, in_range={"min_value": 30, "max_value": 250},
                                description="Body weight in kg.", **_optional(echo=True))
    prior_psychedelic_use: str = pa.Field(isin=PRIOR_USE, metadata={"echo": True},
                                          description="Psychedelic use before this episode.")
    concurrent_antidepressant: bool = pa.Field(metadata={"echo": True},
                                               description="Taking an antidepressant at intake.")

    @pa.check("intake_year", name="intake_year_in_future")
    def intake_year_not_in_future(cls, data: pa.PolarsData) -> pl.LazyFrame:
        # Today's year at validation time, not import time: a webserver runs across New Year.
        return data.lazyframe.select(pl.col(data.key) <= dt.date.today().year)

    class Config:
        name = "intake"
        strict = True


class Alliance(EpisodeKey):
    """alliance.csv: one row per session per rater."""

    session_number: int = pa.Field(in_range={"min_value": 1, "max_value": 200},
                                   metadata={"echo": True}, description="Session number in the episode.")
    session_type: str = pa.Field(isin=SESSION_TYPES, metadata={"echo": True},
                                 description="preparation, medicine (dosing) or integration.")
    days_since_intake: int = pa.Field(in_range={"min_value": 0, "max_value": 1095},
                                      metadata={"echo": True}, description="Days from intake to session.")
    therapist_id: str = pa.Field(str_matches=THERAPIST_ID_PATTERN,
                                 description="The clinic's pseudonym for the therapist (3-32 characters).")
    rater: str = pa.Field(isin=RATERS, metadata={"echo": True},
                          description="Who rated the alliance: client or therapist.")
    wai_1: int = _item(1, 7, "WAI-SR item 1 (1-5)")
    wai_2: int = _item(1, 7, "WAI-SR item 2 (1-5)")
    wai_3: int = _item(1, 7, "WAI-SR item 3 (1-5)")
    wai_4: int = _item(1, 7, "WAI-SR item 4 (1-5)")
    wai_5: int = _item(1, 7, "WAI-SR item 5 (1-5)")
    wai_6: int = _item(1, 7, "WAI-SR item 6 (1-5)")
    wai_7: int = _item(1, 7, "WAI-SR item 7 (1-5)")
    wai_8: int = _item(1, 7, "WAI-SR item 8 (1-5)")
    wai_9: int = _item(1, 7, "WAI-SR item 9 (1-5)")
    wai_10: int = _item(1, 7, "WAI-SR item 10 (1-5)")
    wai_11: int = _item(1, 7, "WAI-SR item 11 (1-5)")
    wai_12: int = _item(1, 7, "WAI-SR item 12 (1-5)")
    dose_mg: float = pa.Field(nullable=True, gt=0, le=1000, metadata={"echo": True},
                              description="Dose in mg; required for medicine sessions, empty otherwise.")
    meq_mystical: float = _optional_scale(0, 5, "MEQ-30 mystical subscale mean (0-5).")
    meq_positive_mood: float = _optional_scale(0, 5, "MEQ-30 positive mood subscale mean (0-5).")
    meq_transcendence: float = _optional_scale(0, 5, "MEQ-30 transcendence subscale mean (0-5).")
    meq_ineffability: float = _optional_scale(0, 5, "MEQ-30 ineffability subscale mean (0-5).")
    ebi_1: int = _optional_scale(0, 100, "Emotional Breakthrough Inventory item 1 (0-100).")
    ebi_2: int = _optional_scale(0, 100, "Emotional Breakthrough Inventory item 2 (0-100).")
    ebi_3: int = _optional_scale(0, 100, "Emotional Breakthrough Inventory item 3 (0-100).")
    ebi_4: int = _optional_scale(0, 100, "Emotional Breakthrough Inventory item 4 (0-100).")
    ebi_5: int = _optional_scale(0, 100, "Emotional Breakthrough Inventory item 5 (0-100).")
    ebi_6: int = _optional_scale(0, 100, "Emotional Breakthrough Inventory item 6 (0-100).")
    rupture: bool = pa.Field(description="An alliance rupture happened in the session.",
                             **_optional(default=False, echo=True))
    repair: bool = pa.Field(description="The rupture was repaired; true only when rupture is true.",
                            **_optional(default=False, echo=True))
    adverse_event: str = pa.Field(isin=ADVERSE_EVENTS, description="Worst adverse event in the session.",
                                  **_optional(default="none", echo=True))

    @pa.dataframe_check(name="wai_sr_5_point_scale")
    def wai_sr_5_point_scale(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.all_horizontal([pl.col(c).fill_null(0) <= 5 for c in WAI_ITEMS]))

    @pa.dataframe_check(name="dose_required_for_medicine_session")
    def dose_required(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            ~((pl.col("session_type") == "medicine") & pl.col("dose_mg").is_null()))

    @pa.dataframe_check(name="dose_only_for_medicine_session")
    def dose_only_medicine(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            ~((pl.col("session_type") != "medicine") & pl.col("dose_mg").is_not_null()))

    @pa.dataframe_check(name="meq_only_for_medicine_session")
    def meq_only_medicine(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            ~((pl.col("session_type") != "medicine")
              & pl.any_horizontal([pl.col(c).is_not_null() for c in MEQ_SUBSCALES])))

    @pa.dataframe_check(name="repair_without_rupture")
    def repair_needs_rupture(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~(pl.col("repair") & ~pl.col("rupture")))

    class Config:
        name = "alliance"
        strict = True


class Followup(EpisodeKey, SymptomScores):
    """followup.csv: one row per follow-up assessment."""

    timepoint: str = pa.Field(isin=TIMEPOINTS, metadata={"echo": True},
                              description="Scheduled follow-up: 1m, 3m, 6m, 12m or 24m.")
    days_since_intake: int = pa.Field(in_range={"min_value": 1, "max_value": 1095},
                                      metadata={"echo": True}, description="Days from intake to assessment.")
    serious_adverse_event: bool = pa.Field(description="A serious adverse event since last contact.",
                                           **_optional(default=False, echo=True))
    psychiatric_hospitalization: bool = pa.Field(description="A psychiatric hospitalisation since "
                                                             "last contact.",
                                                 **_optional(default=False, echo=True))

    class Config:
        name = "followup"
        strict = True


class Withdrawals(pa.DataFrameModel):
    """withdrawals.csv: clients whose consent is withdrawn; every row of theirs is purged."""

    site_id: str = pa.Field(str_matches=SITE_ID_PATTERN, metadata={"echo": True},
                            description="Registry site code.")
    client_id: str = pa.Field(str_matches=CLIENT_ID_PATTERN,
                              description="The clinic's registry pseudonym for the client.")

    class Config:
        name = "withdrawals"
        strict = True


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "intake": Intake, "alliance": Alliance, "followup": Followup, "withdrawals": Withdrawals,
}

# Each kind's key (SPEC section 3): rows sharing it inside one file are duplicates or conflicts.
KEYS: dict[str, tuple[str, ...]] = {
    "intake": ("site_id", "client_id", "episode"),
    "alliance": ("site_id", "client_id", "episode", "session_number", "rater"),
    "followup": ("site_id", "client_id", "episode", "timepoint"),
    "withdrawals": ("site_id", "client_id"),
}


def ordered_columns(kind: str) -> list[str]:
    """The kind's columns in the order of the data dictionary: key, own fields, then scores."""
    model = MODELS[kind]
    blocks = [b for b in (EpisodeKey, model, SymptomScores) if issubclass(model, b)]
    seen: list[str] = []
    for block in blocks:
        seen += [c for c in block.__annotations__ if c not in seen and c in model.to_schema().columns]
    return seen
