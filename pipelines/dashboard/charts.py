"""Plotly figures, each drawn from exactly the rows its section shows (suppressed values are not
drawn: a "<11" count or a hidden rate has no bar or point)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import plotly.graph_objects as go
import plotly.io as pio

from pipelines.dashboard.sections import ALL, MEDICINE_LABEL
from schemas.contract import TIMEPOINTS

COLOURS = {ALL: "#1d2330", "ketamine": "#3d7ab8", "esketamine": "#6aa9d8", "psilocybin": "#c7782e",
           "mdma": "#8a5ab0", "lsd": "#4e9a6b", "other": "#8c8c8c"}
SEQUENCE = ["#3d7ab8", "#c7782e", "#4e9a6b", "#8a5ab0", "#b04a5a"]
THEME = "plotly_white"


@contextmanager
def themed() -> Iterator[None]:
    """Every figure made and written inside wears THEME. Named in each figure's layout, plotly
    deep-copies the whole template into every figure (a fifth of the dashboard step at regional
    scale); as plotly's default while the pages are drawn, the figures' JSON is the same and the copy
    is not made. The previous default is put back."""
    previous = pio.templates.default
    pio.templates.default = THEME
    try:
        yield
    finally:
        pio.templates.default = previous


def _layout(fig: go.Figure, *, y: str = "", x: str = "", height: int = 340, **extra) -> go.Figure:
    settings = dict(height=height, margin=dict(l=60, r=20, t=30, b=50),
                    font=dict(family="system-ui, -apple-system, Segoe UI, sans-serif", size=13),
                    legend=dict(orientation="h", y=-0.2), yaxis_title=y, xaxis_title=x)
    fig.update_layout(**{**settings, **extra})
    return fig


def _num(value):
    """A displayed value as a number, or None when it is a suppression label."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def site_course_bars(rows: list[dict]) -> go.Figure:
    sites = [r for r in rows if r["site_id"] != "All sites"]
    fig = go.Figure()
    for key, label, colour in (("episodes", "Episodes", "#c9d6e8"), ("treated", "Treated", "#6aa9d8"),
                               ("finished_course", "Finished course", "#3d7ab8")):
        fig.add_bar(x=[r["site_id"] for r in sites], y=[_num(r[key]) for r in sites], name=label,
                    marker_color=colour)
    return _layout(fig, y="Episodes", barmode="group")


def medicine_totals(rows: list[dict]) -> go.Figure:
    total = next(r for r in rows if r["site_id"] == "All sites")
    medicines = [k for k in total if k not in ("site_id", "total")]
    fig = go.Figure(go.Bar(x=[MEDICINE_LABEL[m] for m in medicines], y=[_num(total[m]) for m in medicines],
                           marker_color=[COLOURS[m] for m in medicines],
                           text=[total[m] for m in medicines], textposition="outside"))
    return _layout(fig, y="Episodes", height=300)


def funnel(rows: list[dict]) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=[r["timepoint"] for r in rows], y=[_num(r["eligible"]) for r in rows],
                name="Eligible", marker_color="#c9d6e8")
    fig.add_bar(x=[r["timepoint"] for r in rows], y=[_num(r["with_paired_scores"]) for r in rows],
                name="With paired scores", marker_color="#3d7ab8")
    return _layout(fig, y="Episodes", barmode="overlay")


def trajectory(rows: list[dict], label: str) -> go.Figure:
    fig = go.Figure()
    for medicine in COLOURS:
        mine = [r for r in rows if r["medicine"] == medicine and r["mean"] is not None]
        if not mine:
            continue
        fig.add_scatter(
            x=[r["timepoint"] for r in mine], y=[r["mean"] for r in mine], name=MEDICINE_LABEL[medicine],
            mode="lines+markers", meta={"medicine": medicine},
            line=dict(color=COLOURS[medicine], width=3 if medicine == ALL else 1.6),
            error_y=dict(type="data", symmetric=False, array=[r["ci_high"] - r["mean"] for r in mine],
                         arrayminus=[r["mean"] - r["ci_low"] for r in mine], thickness=1.2, width=3),
            customdata=[r["n"] for r in mine], hovertemplate="%{x}: %{y} (n %{customdata})")
    return _layout(fig, y=label.split(" (")[0], xaxis=_timepoint_axis(["baseline", *TIMEPOINTS]))


def _timepoint_axis(order: list[str]) -> dict:
    """Every timepoint on the axis, also those without data yet (24 months in a young registry)."""
    return dict(type="category", categoryorder="array", categoryarray=order,
                range=[-0.4, len(order) - 0.6], tickmode="array", tickvals=order, ticktext=order)


def outcome_rates(rows: list[dict]) -> go.Figure:
    fig = go.Figure()
    outcomes = list(dict.fromkeys(r["outcome"] for r in rows))
    for medicine in COLOURS:
        for i, outcome in enumerate(outcomes):
            mine = [r for r in rows if r["medicine"] == medicine and r["outcome"] == outcome]
            fig.add_bar(x=[r["timepoint"] for r in mine], y=[r["rate_pct"] for r in mine],
                        name=outcome, marker_color=SEQUENCE[i], meta={"medicine": medicine},
                        legendgroup=outcome,
                        text=[_pct_text(r["rate_pct"], r["n"], short=True) for r in mine],
                        textposition="outside",
                        customdata=[r["completeness_pct"] for r in mine],
                        hovertemplate="%{x}: %{y}% (paired-score completeness %{customdata}%)")
        # completeness beside the rates: one value per timepoint (the same for every outcome)
        first = [r for r in rows if r["medicine"] == medicine and r["outcome"] == outcomes[0]]
        fig.add_scatter(x=[r["timepoint"] for r in first], y=[r["completeness_pct"] for r in first],
                        name="Paired-score completeness", mode="lines+markers+text",
                        meta={"medicine": medicine},
                        legendgroup="completeness", line=dict(color="#8c8c8c", dash="dot"),
                        marker=dict(symbol="diamond", size=8),
                        text=[f"{r['completeness_pct']}%" if r["completeness_pct"] is not None else ""
                              for r in first], textposition="top center",
                        textfont=dict(color="#5f6b7d", size=11))
    return _layout(fig, y="% of paired episodes", barmode="group",
                   yaxis_range=[0, 112], height=380)


def alliance_histogram(rows: list[dict]) -> go.Figure:
    bins = [r for r in rows if r["wai_sr_total"] != "All"]
    fig = go.Figure(go.Bar(x=[r["wai_sr_total"] for r in bins], y=[_num(r["episodes"]) for r in bins],
                           marker_color="#3d7ab8", text=[r["episodes"] for r in bins],
                           textposition="outside"))
    return _layout(fig, x="WAI-SR total (12-60)", y="Episodes", height=300)


def tertiles(rows: list[dict]) -> go.Figure:
    fig = go.Figure()
    for i, third in enumerate(dict.fromkeys(r["tertile"] for r in rows)):
        mine = [r for r in rows if r["tertile"] == third and r["mean_phq9_change"] is not None]
        fig.add_scatter(x=[r["timepoint"] for r in mine], y=[r["mean_phq9_change"] for r in mine],
                        name=third, mode="lines+markers", line=dict(color=SEQUENCE[i]),
                        error_y=dict(type="data", symmetric=False,
                                     array=[r["ci_high"] - r["mean_phq9_change"] for r in mine],
                                     arrayminus=[r["mean_phq9_change"] - r["ci_low"] for r in mine]))
    fig.add_hline(y=0, line_color="#999", line_width=1)
    return _layout(fig, y="Mean PHQ-9 change", xaxis=_timepoint_axis(TIMEPOINTS))


def alliance_vs_dose(rows: list[dict]) -> go.Figure:
    shown = [r for r in rows if r["beta_std"] is not None]
    names = {"alliance_prep": "Early alliance", "dose_z": "Total dose (within medicine)"}
    fig = go.Figure(go.Scatter(
        x=[r["beta_std"] for r in shown], y=[names.get(r["predictor"], r["predictor"]) for r in shown],
        mode="markers",
        marker=dict(size=10, color="#3d7ab8"),
        error_x=dict(type="data", symmetric=False, array=[r["ci_high"] - r["beta_std"] for r in shown],
                     arrayminus=[r["beta_std"] - r["ci_low"] for r in shown])))
    fig.add_vline(x=0, line_color="#999", line_width=1)
    sample = f"n = {rows[0]['n']} episodes at {rows[0]['n_sites']} sites" if rows else "no sample"
    return _layout(fig, x="PHQ-9 points per SD (adjusted observational association)", height=260,
                   title=dict(text=f"Adjusted observational association at 6 months · {sample}",
                              font=dict(size=13), x=0.01),
                   margin=dict(l=60, r=20, t=40, b=50))


def ruptures(rows: list[dict]) -> go.Figure:
    fig = go.Figure()
    for medicine in COLOURS:
        mine = [r for r in rows if r["medicine"] == medicine]
        fig.add_bar(x=["Episodes with a rupture (% of treated)", "Ruptures repaired (%)"],
                    y=[mine[0]["episodes_with_rupture_pct"], mine[0]["repaired_pct"]],
                    meta={"medicine": medicine}, marker_color=COLOURS[medicine], name=MEDICINE_LABEL[medicine],
                    text=[_pct_text(mine[0]["episodes_with_rupture_pct"], mine[0]["treated_episodes"]),
                          _pct_text(mine[0]["repaired_pct"], mine[0]["ruptures"])],
                    textposition="outside")
    return _layout(fig, y="%", yaxis_range=[0, 105], height=300, showlegend=False)


def _pct_text(value, n=None, short: bool = False) -> str:
    """Bar label: the rate, or why there is none (short: for narrow grouped bars)."""
    if value is not None:
        return f"{value}%"
    if short:
        return "" if n == 0 else "–"
    return "no data yet" if n == 0 else "not shown"


def paired_by_site(rows: list[dict]) -> go.Figure:
    sites = [r for r in rows if r["site_id"] != "All sites"]
    fig = go.Figure()
    for i, t in enumerate(TIMEPOINTS):
        fig.add_bar(x=[r["site_id"] for r in sites], y=[_num(r[t]) for r in sites], name=t,
                    marker_color=SEQUENCE[i])
    return _layout(fig, y="Episodes with paired scores", barmode="group")


def adverse_events(rows: list[dict]) -> go.Figure:
    fig = go.Figure(go.Bar(
        x=[MEDICINE_LABEL[r["medicine"]] for r in rows], y=[r["per_100_sessions"] for r in rows],
        marker_color=[COLOURS[r["medicine"]] for r in rows],
        text=[r["per_100_sessions"] if r["per_100_sessions"] is not None
              else _pct_text(None, r["medicine_sessions"]) for r in rows], textposition="outside"))
    return _layout(fig, y="Per 100 medicine sessions", height=300)


def item9(rows: list[dict]) -> go.Figure:
    fig = go.Figure()
    for medicine in COLOURS:
        mine = [r for r in rows if r["medicine"] == medicine]
        fig.add_bar(x=[r["timepoint"] for r in mine], y=[r["positive_pct"] for r in mine],
                    meta={"medicine": medicine}, marker_color=COLOURS[medicine], name=MEDICINE_LABEL[medicine],
                    text=[_pct_text(r["positive_pct"], r["answered"]) for r in mine],
                    textposition="outside")
    return _layout(fig, y="% of answered item 9 above 0", yaxis_range=[0, 105], height=300,
                   showlegend=False)


def assessment_quality(rows: list[dict]) -> go.Figure:
    fig = go.Figure()
    for key, label, colour in (("out_of_window_pct", "Outside window %", "#c7782e"),
                               ("phq9_prorated_pct", "PHQ-9 prorated %", "#3d7ab8")):
        fig.add_bar(x=[r["timepoint"] for r in rows], y=[r[key] for r in rows], name=label,
                    marker_color=colour, text=[_pct_text(r[key], r["assessments"], short=True) for r in rows],
                    textposition="outside")
    return _layout(fig, y="% of assessments", barmode="group", height=300)


def spearman(rows: list[dict]) -> go.Figure:
    shown = [r for r in rows if r["spearman_rho"] is not None]
    fig = go.Figure(go.Scatter(
        x=[r["timepoint"] for r in shown], y=[r["spearman_rho"] for r in shown], mode="markers",
        marker=dict(size=10, color="#3d7ab8"), customdata=[r["n"] for r in shown],
        hovertemplate="%{x}: rho %{y} (n %{customdata})",
        error_y=dict(type="data", symmetric=False, array=[r["ci_high"] - r["spearman_rho"] for r in shown],
                     arrayminus=[r["spearman_rho"] - r["ci_low"] for r in shown])))
    fig.add_hline(y=0, line_color="#999", line_width=1)
    return _layout(fig, y="Spearman rho", xaxis=_timepoint_axis(TIMEPOINTS), yaxis_range=[-1, 1],
                   height=280)


def funnel_plot(rows: list[dict]) -> go.Figure:
    """One funnel per timepoint, chosen with the buttons; the limits are the mart's, joined across
    the sites' sizes."""
    fig = go.Figure()
    timepoints = [t for t in TIMEPOINTS if any(r["timepoint"] == t and r["reliable_improvement_pct"]
                                                is not None for r in rows)]
    groups = []
    for t in timepoints:
        mine = sorted((r for r in rows if r["timepoint"] == t and isinstance(r["n_paired"], int)
                       and r["lower_95_pct"] is not None), key=lambda r: r["n_paired"])
        first = len(fig.data)
        n = [r["n_paired"] for r in mine]
        for key, label, dash in (("998", "99.8 % limits", "dash"), ("95", "95 % limits", "dot")):
            for side in ("lower", "upper"):
                fig.add_scatter(x=n, y=[r[f"{side}_{key}_pct"] for r in mine], mode="lines",
                                line=dict(color="#8c8c8c", dash=dash, width=1.2), name=label,
                                legendgroup=label, showlegend=side == "lower", hoverinfo="skip")
        fig.add_scatter(x=n, y=[r["registry_pct"] for r in mine], mode="lines", name="Registry rate",
                        line=dict(color="#1d2330", width=1.5), hoverinfo="skip")
        points = [r for r in mine if r["reliable_improvement_pct"] is not None]
        fig.add_scatter(x=[r["n_paired"] for r in points], y=[r["reliable_improvement_pct"] for r in points],
                        mode="markers+text", text=[r["site_id"] for r in points], textposition="top center",
                        textfont=dict(size=10), name="Site",
                        marker=dict(size=9, color=["#b04a5a" if r["outlier"] in ("high", "low")
                                                   else "#3d7ab8" for r in points]),
                        hovertemplate="%{text}: %{y}% of %{x} paired episodes")
        groups.append((t, range(first, len(fig.data))))
    default = max(range(len(groups)), key=lambda i: sum(
        r["n_paired"] for r in rows if r["timepoint"] == groups[i][0] and isinstance(r["n_paired"], int))
    ) if groups else 0
    for i, (_, members) in enumerate(groups):
        for j in members:
            fig.data[j].visible = i == default
    buttons = [dict(label=t, method="update", args=[{"visible": [j in members for j in range(len(fig.data))]}])
               for t, members in groups]
    return _layout(fig, x="Paired episodes at the site", y="Reliable improvement %", height=420,
                   updatemenus=[dict(type="buttons", direction="right", x=0, y=1.12, xanchor="left",
                                     active=default, buttons=buttons, showactive=True)])


def completeness_heatmap(rows: list[dict]) -> go.Figure:
    sites = [r["site_id"] for r in rows]
    z = [[r[f"completeness_{t}"] for t in TIMEPOINTS] for r in rows]
    text = [[_pct_text(r[f"completeness_{t}"], r[f"eligible_{t}"], short=True) for t in TIMEPOINTS] for r in rows]
    fig = go.Figure(go.Heatmap(x=TIMEPOINTS, y=sites, z=z, text=text, texttemplate="%{text}",
                               colorscale="Blues", zmin=0, zmax=100, colorbar=dict(title="%"),
                               hovertemplate="%{y} %{x}: %{text}"))
    return _layout(fig, height=80 + 26 * len(sites), yaxis=dict(autorange="reversed"))

