"""The generating model of the synthetic registry: every parameter the generator draws from.

All of it is written to truth.json, so that the pipeline's estimates can be checked against the truth.
Effects on PHQ-9 are in points of *fall* (improvement): a positive alliance effect means that a better
alliance gives a larger fall, i.e. a more negative PHQ-9 change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from pipelines.followup_windows import followup_windows


@dataclass(frozen=True)
class DoseRule:
    """How one medicine and route is dosed.

    Either by weight (`mg_per_kg` range, titrated up from its lower end over the first sessions) or in
    discrete `levels`: the episode's dosing intensity picks one of the first `start_levels`, and episodes
    in the top `escalate_share` of intensity step one level up from their second session on.
    """

    levels: tuple[float, ...] = ()
    mg_per_kg: tuple[float, float] | None = None
    start_levels: int = 1
    escalate_share: float = 0.0


@dataclass(frozen=True)
class MedicineProfile:
    share: float                                # registry-wide share of episodes
    routes: dict[str, float]                    # route -> probability
    dosing: dict[str, DoseRule]                 # route -> dose rule
    planned_sessions: dict[int, float]          # planned medicine sessions -> probability
    prep_sessions: tuple[int, int]              # preparation sessions, inclusive range
    dosing_gap_days: tuple[int, int]            # days between medicine sessions, inclusive range
    integration_every: int                      # integration after every n-th medicine session...
    between_integrations: tuple[int, int]       # ...this many of them (inclusive range)
    final_integrations: tuple[int, int]         # integration sessions after the last medicine session
    improvement: float                          # expected PHQ-9 fall at 3m: full course, mean alliance
    meq_level: float                            # mean MEQ-30 subscale mean in a medicine session
    ebi_level: float                            # mean EBI item in a medicine session
    antidepressant_rate: float
    diagnoses: dict[str, float]                 # ICD-10 -> probability


DEPRESSION = {"F33.1": 0.30, "F33.2": 0.24, "F32.1": 0.12, "F32.2": 0.10, "F33.0": 0.05,
              "F32.9": 0.03, "F41.1": 0.08, "F43.10": 0.06, "F31.81": 0.02}
PTSD = {"F43.10": 0.55, "F43.12": 0.20, "F33.1": 0.15, "F41.1": 0.10}
PTSD_CODES = ("F43.10", "F43.12")

WEIGHT_DOSED = DoseRule(mg_per_kg=(0.5, 1.0))

MEDICINE_PROFILES: dict[str, MedicineProfile] = {
    "ketamine": MedicineProfile(
        share=0.46, routes={"iv": 0.70, "im": 0.12, "intranasal": 0.10, "sublingual": 0.08},
        dosing={"iv": WEIGHT_DOSED, "im": WEIGHT_DOSED,
                "intranasal": DoseRule(levels=(50, 75, 100), start_levels=2, escalate_share=0.5),
                "sublingual": DoseRule(levels=(100, 150, 200, 300), start_levels=3, escalate_share=0.4)},
        planned_sessions={4: 0.10, 5: 0.05, 6: 0.60, 8: 0.25}, prep_sessions=(1, 2),
        dosing_gap_days=(2, 5), integration_every=2, between_integrations=(1, 1),
        final_integrations=(1, 2),
        improvement=6.0, meq_level=2.3, ebi_level=40, antidepressant_rate=0.55, diagnoses=DEPRESSION),
    "esketamine": MedicineProfile(
        share=0.18, routes={"intranasal": 1.0},
        dosing={"intranasal": DoseRule(levels=(56, 84), start_levels=1, escalate_share=0.7)},
        planned_sessions={4: 0.10, 6: 0.20, 8: 0.70}, prep_sessions=(1, 2),
        dosing_gap_days=(3, 4), integration_every=2, between_integrations=(1, 1),
        final_integrations=(1, 2),
        improvement=5.0, meq_level=1.5, ebi_level=30, antidepressant_rate=0.90, diagnoses=DEPRESSION),
    "psilocybin": MedicineProfile(
        share=0.16, routes={"oral": 1.0},
        dosing={"oral": DoseRule(levels=(20, 25, 30), start_levels=3, escalate_share=0.3)},
        planned_sessions={1: 0.55, 2: 0.45}, prep_sessions=(2, 3),
        dosing_gap_days=(14, 35), integration_every=1, between_integrations=(1, 2),
        final_integrations=(1, 3),
        improvement=7.5, meq_level=3.0, ebi_level=55, antidepressant_rate=0.15, diagnoses=DEPRESSION),
    "mdma": MedicineProfile(
        share=0.12, routes={"oral": 1.0},
        dosing={"oral": DoseRule(levels=(80, 120, 180), start_levels=2, escalate_share=1.0)},
        planned_sessions={2: 0.30, 3: 0.70}, prep_sessions=(2, 3),
        dosing_gap_days=(21, 35), integration_every=1, between_integrations=(1, 2),
        final_integrations=(1, 3),
        improvement=6.5, meq_level=2.2, ebi_level=60, antidepressant_rate=0.20, diagnoses=PTSD),
    "lsd": MedicineProfile(
        share=0.04, routes={"oral": 1.0},
        # 100-200 micrograms, sent in mg
        dosing={"oral": DoseRule(levels=(0.1, 0.15, 0.2), start_levels=3, escalate_share=0.2)},
        planned_sessions={1: 0.60, 2: 0.40}, prep_sessions=(2, 3),
        dosing_gap_days=(14, 28), integration_every=1, between_integrations=(1, 2),
        final_integrations=(1, 3),
        improvement=7.0, meq_level=3.1, ebi_level=55, antidepressant_rate=0.15, diagnoses=DEPRESSION),
    "other": MedicineProfile(
        share=0.04, routes={"oral": 1.0},
        dosing={"oral": DoseRule(levels=(10, 20, 30), start_levels=3)},
        planned_sessions={1: 0.50, 2: 0.30, 3: 0.20}, prep_sessions=(1, 3),
        dosing_gap_days=(14, 42), integration_every=1, between_integrations=(1, 2),
        final_integrations=(1, 2),
        improvement=5.0, meq_level=2.5, ebi_level=45, antidepressant_rate=0.25, diagnoses=DEPRESSION),
}


@dataclass(frozen=True)
class SiteModel:
    intakes_per_month_median: float = 6.0
    intakes_per_month_range: tuple[float, float] = (2.0, 15.0)
    late_start_share: float = 0.35              # sites that join after the first month
    ketamine_clinic_share: float = 0.2          # sites offering only ketamine and esketamine
    medicine_mix_concentration: float = 6.0     # Dirichlet concentration around MEDICINE_PROFILES shares
    therapists: tuple[int, int] = (3, 10)
    second_episode_rate: float = 0.04           # episodes that are a returning client's episode 2
    second_episode_min_gap_days: int = 120


@dataclass(frozen=True)
class PopulationModel:
    sexes: dict[str, float] = field(default_factory=lambda: {
        "female": 0.58, "male": 0.39, "intersex": 0.003, "unknown": 0.027})
    age: tuple[float, float] = (43.0, 13.0)    # mean, sd; clipped to 18-89
    age_90_plus_rate: float = 0.003             # sent as 90 (Safe Harbor)
    weight_kg: dict[str, tuple[float, float]] = field(default_factory=lambda: {
        "female": (72.0, 15.0), "male": (87.0, 16.0)})
    prior_use: dict[str, float] = field(default_factory=lambda: {
        "none": 0.55, "lifetime": 0.28, "past_year": 0.12, "unknown": 0.05})
    pcl5_screened_rate: float = 0.25            # non-PTSD episodes with a PCL-5 at sites that use it


@dataclass(frozen=True)
class OutcomeModel:
    baseline_phq9: tuple[float, float] = (16.5, 4.5)   # mean, sd of the latent baseline total
    # GAD-7 and WHO-5 baselines: intercept at the mean PHQ-9, slope per PHQ-9 point, residual sd
    baseline_gad7: tuple[float, float, float] = (12.0, 0.45, 3.0)
    baseline_who5: tuple[float, float, float] = (7.5, -0.8, 3.0)
    baseline_pcl5: dict[str, tuple[float, float]] = field(default_factory=lambda: {
        "ptsd": (50.0, 10.0), "other": (28.0, 12.0)})
    alliance_effect: float = 2.1        # extra PHQ-9 fall per SD of latent episode alliance
    dose_effect: float = 0.5            # extra PHQ-9 fall per SD of dosing intensity within medicine
    site_effect_sd: float = 1.2         # sd of the site's extra PHQ-9 fall
    severity_slope: float = 0.25        # extra fall per baseline point above the mean
    natural_course: float = 1.5         # fall without any medicine session
    episode_noise_sd: float = 2.5
    timepoint_noise_sd: float = 2.0
    trajectory: dict[str, float] = field(default_factory=lambda: {
        "1m": 0.8, "3m": 1.0, "6m": 0.95, "12m": 0.85, "24m": 0.75})
    gad7_per_phq9_fall: float = 0.6
    who5_per_phq9_fall: float = 0.8
    pcl5_per_phq9_fall: float = 1.8


@dataclass(frozen=True)
class AllianceModel:
    """WAI-SR items from a latent episode alliance (sd 1) made of a therapist and a client part."""

    therapist_sd: float = 0.35           # share of the latent alliance that is the therapist's
    client_item_mean: float = 3.85
    therapist_item_mean: float = 4.1     # therapists rate higher than clients
    client_loading: float = 0.5          # item points per SD of session alliance
    therapist_loading: float = 0.35
    therapist_leniency_sd: float = 0.2
    growth: float = 0.25                 # rise of the session alliance over the course (SD units)
    session_noise_sd: float = 0.3
    item_noise_sd: float = 0.55
    rupture_logit: float = -3.0          # log-odds of a rupture at mean alliance
    rupture_slope: float = -1.0          # per SD of session alliance
    rupture_drop: float = 0.6            # session alliance lost in a rupture session
    repair_rate: float = 0.65
    medicine_adverse: dict[str, float] = field(default_factory=lambda: {
        "none": 0.865, "mild": 0.10, "moderate": 0.03, "severe": 0.005})
    other_adverse: dict[str, float] = field(default_factory=lambda: {
        "none": 0.995, "mild": 0.005, "moderate": 0.0, "severe": 0.0})
    ebi_on_integration_rate: float = 0.05


@dataclass(frozen=True)
class AttritionModel:
    """Dropout during treatment and loss to follow-up; both more likely with a poor alliance."""

    treatment_dropout_rate: float = 0.18          # at mean alliance
    treatment_dropout_alliance: float = -0.7      # log-odds per SD of latent alliance
    loss_hazard: dict[str, float] = field(default_factory=lambda: {
        "1m": 0.12, "3m": 0.12, "6m": 0.12, "12m": 0.18, "24m": 0.2})
    loss_alliance: float = -0.5                   # log-odds per SD of latent alliance
    loss_per_phq9_point: float = 0.04             # missing not at random: worse now, likelier lost
    loss_after_dropout: float = 1.0               # log-odds added when treatment was not finished
    site_loss_sd: float = 0.4
    intermittent_miss_rate: float = 0.06


@dataclass(frozen=True)
class FollowupTiming:
    nominal_days: dict[str, int] = field(default_factory=lambda: {
        "1m": 30, "3m": 91, "6m": 182, "12m": 365, "24m": 730})
    jitter_sd: dict[str, float] = field(default_factory=lambda: {
        "1m": 5, "3m": 10, "6m": 18, "12m": 30, "24m": 50})
    # SPEC section 5 plausibility windows, as dbt defines them; a few are missed on purpose
    windows: dict[str, tuple[int, int]] = field(default_factory=lambda: followup_windows())
    off_window_rate: float = 0.02


@dataclass(frozen=True)
class Missingness:
    one_item_rate: float = 0.03          # a questionnaire with exactly one item missing (prorated)
    several_items_rate: float = 0.006    # two to four items missing (no total)
    instrument_rate: float = 0.01        # a whole questionnaire not administered
    wai_one_item_rate: float = 0.02
    wai_several_items_rate: float = 0.004
    optional_cell_rate: float = 0.03     # empty cells in optional columns the site does send


@dataclass(frozen=True)
class DialectChoices:
    delimiters: dict[str, float] = field(default_factory=lambda: {",": 0.55, ";": 0.25, "\t": 0.20})
    encodings: dict[str, float] = field(default_factory=lambda: {
        "utf-8": 0.60, "utf-8-sig": 0.25, "cp1252": 0.15})
    newlines: dict[str, float] = field(default_factory=lambda: {"\n": 0.6, "\r\n": 0.4})
    header_cases: dict[str, float] = field(default_factory=lambda: {
        "lower": 0.7, "title": 0.2, "upper": 0.1})
    booleans: dict[str, float] = field(default_factory=lambda: {
        "true/false": 0.4, "yes/no": 0.2, "y/n": 0.1, "1/0": 0.3})
    missing_tokens: dict[str, float] = field(default_factory=lambda: {"": 0.75, "NA": 0.25})
    shuffled_columns_rate: float = 0.2
    # optional column groups (contract metadata `optional`) -> share of sites that send them
    optional_groups: dict[str, float] = field(default_factory=lambda: {
        "episode": 0.9, "zip3": 0.85, "protocol": 0.7, "weight_kg": 0.8, "pcl5_total": 0.4,
        "meq": 0.5, "ebi": 0.4, "rupture": 0.85, "adverse_event": 0.9, "followup_events": 0.8})


# Which contract columns each optional group stands for.
OPTIONAL_GROUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "episode": ("episode",), "zip3": ("zip3",), "protocol": ("protocol",), "weight_kg": ("weight_kg",),
    "pcl5_total": ("pcl5_total",),
    "meq": ("meq_mystical", "meq_positive_mood", "meq_transcendence", "meq_ineffability"),
    "ebi": tuple(f"ebi_{i}" for i in range(1, 7)), "rupture": ("rupture", "repair"),
    "adverse_event": ("adverse_event",),
    "followup_events": ("serious_adverse_event", "psychiatric_hospitalization"),
}


@dataclass(frozen=True)
class RegistryModel:
    sites: SiteModel = SiteModel()
    population: PopulationModel = PopulationModel()
    outcome: OutcomeModel = OutcomeModel()
    alliance: AllianceModel = AllianceModel()
    attrition: AttritionModel = AttritionModel()
    followup_timing: FollowupTiming = FollowupTiming()
    missingness: Missingness = Missingness()
    dialects: DialectChoices = DialectChoices()
    medicines: dict[str, MedicineProfile] = field(default_factory=lambda: dict(MEDICINE_PROFILES))

    def as_truth(self) -> dict:
        return asdict(self)

    def with_options(self, intakes_per_month: float | None = None,
                     alliance_effect: bool = True) -> RegistryModel:
        """The model with a fixed intake volume at every site (the same random draws are made, so
        everything else about the sites stays as it was), and/or with the latent alliance having no
        effect on anything that reaches the outcome: not on the PHQ-9 fall, not on dropping out of
        treatment (fewer medicine sessions), not on loss to follow-up. It still drives the ratings,
        ruptures and session experience, so alliance_prep is measured as before but is unrelated to
        outcome: the alliance coefficient of the registry's model is then exactly 0."""
        model = self
        if intakes_per_month is not None:
            if intakes_per_month <= 0:
                raise ValueError("intakes_per_month must be positive")
            model = replace(model, sites=replace(model.sites, intakes_per_month_median=intakes_per_month,
                                                 intakes_per_month_range=(intakes_per_month,
                                                                          intakes_per_month)))
        if not alliance_effect:
            model = replace(model,
                            outcome=replace(model.outcome, alliance_effect=0.0),
                            attrition=replace(model.attrition, treatment_dropout_alliance=0.0,
                                              loss_alliance=0.0))
        return model


MODEL = RegistryModel()
