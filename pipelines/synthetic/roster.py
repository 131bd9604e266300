"""Sites of the registry: who they are, how big, what they give, how well they do, how they export."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from schemas.contract import KEYS

from .columns import FILE_KINDS, file_columns
from .config import OPTIONAL_GROUP_COLUMNS, RegistryModel
from .draws import choose
from .timeline import Timeline

# (code, city, census region, ZIP3s around it; some are restricted and will be sent as 000)
CITIES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("BOS", "Boston", "Northeast", ("021", "022", "024", "018")),
    ("NYC", "New York", "Northeast", ("100", "101", "112", "104", "102")),
    ("PHL", "Philadelphia", "Northeast", ("191", "190", "194")),
    ("PIT", "Pittsburgh", "Northeast", ("152", "150", "151")),
    ("PVD", "Providence", "Northeast", ("029", "028")),
    ("MHT", "Manchester", "Northeast", ("031", "030", "036")),
    ("BTV", "Burlington", "Northeast", ("054", "056", "059")),
    ("HFD", "Hartford", "Northeast", ("061", "060", "063")),
    ("CHI", "Chicago", "Midwest", ("606", "607", "600", "604")),
    ("MSP", "Minneapolis", "Midwest", ("554", "553", "556")),
    ("DET", "Detroit", "Midwest", ("482", "481", "480")),
    ("CLE", "Cleveland", "Midwest", ("441", "440")),
    ("STL", "St. Louis", "Midwest", ("631", "630")),
    ("OMA", "Omaha", "Midwest", ("681", "680", "692")),
    ("MKE", "Milwaukee", "Midwest", ("532", "530")),
    ("IND", "Indianapolis", "Midwest", ("462", "460")),
    ("MCI", "Kansas City", "Midwest", ("641", "640", "661")),
    ("ATL", "Atlanta", "South", ("303", "300", "301")),
    ("MIA", "Miami", "South", ("331", "330", "333")),
    ("AUS", "Austin", "South", ("787", "786", "790")),
    ("HOU", "Houston", "South", ("770", "773", "772")),
    ("DAL", "Dallas", "South", ("752", "750", "753")),
    ("BNA", "Nashville", "South", ("372", "370", "371")),
    ("RDU", "Raleigh", "South", ("276", "275", "277")),
    ("WAS", "Washington", "South", ("200", "202", "205", "203")),
    ("BWI", "Baltimore", "South", ("212", "210")),
    ("MSY", "New Orleans", "South", ("701", "700")),
    ("TPA", "Tampa", "South", ("336", "335")),
    ("DEN", "Denver", "West", ("802", "800", "803")),
    ("CYS", "Cheyenne", "West", ("820", "821", "823", "830", "831")),
    ("ABQ", "Albuquerque", "West", ("871", "870", "878", "879", "884")),
    ("LAS", "Las Vegas", "West", ("891", "889", "890", "893")),
    ("PHX", "Phoenix", "West", ("850", "852", "853")),
    ("SLC", "Salt Lake City", "West", ("841", "840")),
    ("SEA", "Seattle", "West", ("981", "980", "982")),
    ("PDX", "Portland", "West", ("972", "970")),
    ("SFO", "San Francisco", "West", ("941", "940", "945")),
    ("LAX", "Los Angeles", "West", ("900", "902", "913")),
    ("SAN", "San Diego", "West", ("921", "919", "920")),
    ("BOI", "Boise", "West", ("837", "836")),
)
SITE_KINDS = ("Psychedelic Therapy Center", "Integrative Psychiatry", "Mood Disorders Program",
              "Wellness Institute", "Behavioral Health", "Neuropsychiatry Group", "Healing Collective",
              "Interventional Psychiatry", "Trauma Recovery Center")
EPISODE_KEY = KEYS["intake"]
CLIENT_ID_STYLES = {"numbered": 0.45, "site_numbered": 0.3, "base32": 0.25}
BOOLEAN_TOKENS = {"true/false": ("true", "false"), "yes/no": ("yes", "no"), "y/n": ("y", "n"),
                  "1/0": ("1", "0")}


@dataclass(frozen=True)
class Dialect:
    """How a site's export software writes its files; fixed for the site."""

    delimiter: str
    encoding: str           # Python codec: utf-8, utf-8-sig (BOM) or cp1252
    newline: str
    header_case: str        # lower, title (Site_ID) or upper
    true: str
    false: str
    missing: str            # token written for a missing value

    @property
    def decimal_comma(self) -> bool:
        # semicolon exports come from locales that write decimals with a comma
        return self.delimiter == ";"

    def header(self, column: str) -> str:
        if self.header_case == "upper":
            return column.upper()
        if self.header_case == "title":
            return "_".join("ID" if part == "id" else part.capitalize() for part in column.split("_"))
        return column

    def as_truth(self) -> dict:
        return {"delimiter": self.delimiter, "decimal_comma": self.decimal_comma,
                "encoding": self.encoding, "newline": self.newline, "header_case": self.header_case,
                "booleans": [self.true, self.false], "missing": self.missing}


@dataclass(frozen=True)
class Therapists:
    ids: tuple[str, ...]
    alliance_effect: np.ndarray   # therapist part of the latent episode alliance (SD units)
    leniency: np.ndarray          # therapist's own ratings above the average therapist (item points)
    caseload: np.ndarray          # share of the site's episodes


@dataclass(frozen=True)
class Site:
    site_id: str
    site_name: str
    region: str
    active_from: int                  # month index in the window of the first month with intakes
    intakes_per_month: float
    medicine_mix: dict[str, float]
    outcome_effect: float             # extra PHQ-9 fall at this site (points)
    followup_loss_effect: float       # log-odds added to the loss-to-follow-up hazard
    therapists: Therapists
    zip3s: tuple[str, ...]
    client_id_style: str
    protocol_version: int
    dialect: Dialect
    sent_optional: frozenset[str]     # optional contract columns this site's files carry
    column_order: dict[str, list[str]]

    def as_truth(self, timeline: Timeline) -> dict:
        return {
            "site_id": self.site_id, "site_name": self.site_name, "region": self.region,
            "active_from": timeline.label(self.active_from),
            "intakes_per_month": round(self.intakes_per_month, 3),
            "medicine_mix": {k: round(v, 4) for k, v in self.medicine_mix.items()},
            "outcome_effect_phq9_fall": round(self.outcome_effect, 4),
            "followup_loss_log_odds": round(self.followup_loss_effect, 4),
            "therapists": [{"therapist_id": t, "alliance_effect_sd": round(float(a), 4),
                            "rating_leniency_items": round(float(b), 4),
                            "caseload_share": round(float(c), 4)}
                           for t, a, b, c in zip(self.therapists.ids, self.therapists.alliance_effect,
                                                 self.therapists.leniency, self.therapists.caseload)],
            "client_id_style": self.client_id_style, "dialect": self.dialect.as_truth(),
            "optional_columns_sent": sorted(self.sent_optional), "column_order": self.column_order,
        }


def draw_roster(rng: np.random.Generator, n_sites: int, timeline: Timeline,
                model: RegistryModel) -> list[Site]:
    city_order = rng.permutation(len(CITIES))
    names: set[str] = set()
    sites = []
    for i in range(n_sites):
        code, city, region, zip3s = CITIES[city_order[i % len(CITIES)]]
        site_id = f"{code}{i // len(CITIES) + 1:02d}"
        sites.append(_draw_site(rng, site_id, _unique_name(rng, city, names), region, zip3s,
                                timeline, model))
    return sites


def _unique_name(rng: np.random.Generator, city: str, taken: set[str]) -> str:
    name = f"{city} {SITE_KINDS[rng.integers(len(SITE_KINDS))]}"
    base, n = name, 2
    while name in taken:
        name, n = f"{base} {n}", n + 1
    taken.add(name)
    return name


def _draw_site(rng: np.random.Generator, site_id: str, name: str, region: str,
               zip3s: tuple[str, ...], timeline: Timeline, model: RegistryModel) -> Site:
    sm = model.sites
    lo, hi = sm.intakes_per_month_range
    late = timeline.months > 1 and rng.random() < sm.late_start_share
    active_from = int(rng.integers(1, max(2, timeline.months * 2 // 3 + 1))) if late else 0
    sent_optional = _draw_optional_columns(rng, model)
    return Site(
        site_id=site_id, site_name=name, region=region, active_from=active_from,
        intakes_per_month=float(np.clip(sm.intakes_per_month_median * np.exp(rng.normal(0, 0.5)), lo, hi)),
        medicine_mix=_draw_medicine_mix(rng, model),
        outcome_effect=float(rng.normal(0, model.outcome.site_effect_sd)),
        followup_loss_effect=float(rng.normal(0, model.attrition.site_loss_sd)),
        therapists=_draw_therapists(rng, model),
        zip3s=zip3s,
        client_id_style=choose(rng, CLIENT_ID_STYLES),
        protocol_version=int(rng.integers(1, 4)),
        dialect=_draw_dialect(rng, model),
        sent_optional=sent_optional,
        column_order=_draw_column_order(rng, sent_optional, model),
    )


def _draw_medicine_mix(rng: np.random.Generator, model: RegistryModel) -> dict[str, float]:
    medicines = list(model.medicines)
    if rng.random() < model.sites.ketamine_clinic_share:
        share = rng.uniform(0.6, 0.9)
        mix = {"ketamine": share, "esketamine": 1 - share}
    else:
        shares = np.array([model.medicines[m].share for m in medicines])
        alpha = shares * model.sites.medicine_mix_concentration
        mix = dict(zip(medicines, rng.dirichlet(alpha).tolist()))
    return {m: float(mix.get(m, 0.0)) for m in medicines}


def _draw_therapists(rng: np.random.Generator, model: RegistryModel) -> Therapists:
    lo, hi = model.sites.therapists
    n = int(rng.integers(lo, hi + 1))
    numbers = rng.choice(np.arange(100, 1000), size=n, replace=False)
    return Therapists(
        ids=tuple(f"T{k}" for k in numbers),
        alliance_effect=rng.normal(0, model.alliance.therapist_sd, n),
        leniency=rng.normal(0, model.alliance.therapist_leniency_sd, n),
        caseload=rng.dirichlet(np.full(n, 3.0)),
    )


def _draw_dialect(rng: np.random.Generator, model: RegistryModel) -> Dialect:
    dc = model.dialects
    true, false = BOOLEAN_TOKENS[choose(rng, dc.booleans)]
    return Dialect(delimiter=choose(rng, dc.delimiters), encoding=choose(rng, dc.encodings),
                   newline=choose(rng, dc.newlines), header_case=choose(rng, dc.header_cases),
                   true=true, false=false, missing=choose(rng, dc.missing_tokens))


def _draw_optional_columns(rng: np.random.Generator, model: RegistryModel) -> frozenset[str]:
    sent = [column for group, share in model.dialects.optional_groups.items() if rng.random() < share
            for column in OPTIONAL_GROUP_COLUMNS[group]]
    return frozenset(sent)


def _draw_column_order(rng: np.random.Generator, sent_optional: frozenset[str],
                       model: RegistryModel) -> dict[str, list[str]]:
    """Most exports follow the contract's order; some put everything after the key in their own."""
    shuffled = rng.random() < model.dialects.shuffled_columns_rate
    orders = {}
    for kind in FILE_KINDS:
        columns = file_columns(kind, sent_optional)
        if shuffled:
            key = [c for c in columns if c in EPISODE_KEY]
            rest = [c for c in columns if c not in EPISODE_KEY]
            columns = key + [rest[i] for i in rng.permutation(len(rest))]
        orders[kind] = columns
    return orders
