"""The report: the run as JSON, and one self-contained HTML page (no scripts, no external files) with
tables and inline SVG plots: each metric's score distribution, each case's change against the previous
run, and the worst cases first with their replies, references and retrieved passages."""

from __future__ import annotations

from html import escape
from statistics import fmean
from typing import Any

BINS = 10
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d1d1f;max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;
vertical-align:top}th{background:#f5f5f7}.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#137333}.fail{color:#b3261e;font-weight:600}.up{color:#137333}.down{color:#b3261e}
.plots{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figcaption{font-size:12px;color:#555}
details{margin:2px 0}pre{white-space:pre-wrap;margin:2px 0;font:12px/1.4 ui-monospace,monospace}
"""


def case_score(result: dict[str, Any]) -> float | None:
    """One number per case for ranking and diffs: the mean of its scores."""
    scores = result["scores"]
    return fmean(scores.values()) if scores else None


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def histogram(metric: str, values: list[float]) -> str:
    """Bars of how many cases scored in each tenth of [0, 1]."""
    counts = [0] * BINS
    for v in values:
        counts[min(BINS - 1, max(0, int(v * BINS)))] += 1
    width, height, bar = 220, 90, 20
    top = max(counts) or 1
    bars = []
    for i, count in enumerate(counts):
        h = round(70 * count / top)
        bars.append(
            f'<rect class="bar" data-count="{count}" x="{10 + i * bar}" y="{80 - h}" width="{bar - 2}" '
            f'height="{h}" fill="#4f6bed"><title>{i / BINS:.1f}–{(i + 1) / BINS:.1f}: {count}</title></rect>'
        )
    axis = '<line x1="10" y1="80" x2="210" y2="80" stroke="#888"/>'
    labels = '<text x="10" y="90" font-size="9">0</text><text x="202" y="90" font-size="9">1</text>'
    return (
        f'<figure><svg class="hist" data-metric="{escape(metric)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">{axis}{"".join(bars)}{labels}'
        f"</svg><figcaption>{escape(metric)} (n={len(values)})</figcaption></figure>"
    )


def diff_plot(deltas: list[tuple[str, float]]) -> str:
    """One bar per case: up (green) when it scores higher than in the previous run, down (red) when lower."""
    if not deltas:
        return "<p>No previous run to compare with.</p>"
    bar, height, mid = 14, 140, 70
    width = 20 + bar * len(deltas)
    marks = []
    for i, (case_id, delta) in enumerate(deltas):
        h = round(min(1.0, abs(delta)) * 60)
        y = mid - h if delta >= 0 else mid
        colour = "#137333" if delta >= 0 else "#b3261e"
        marks.append(
            f'<rect class="diff" data-case="{escape(case_id)}" x="{10 + i * bar}" y="{y}" width="{bar - 3}" '
            f'height="{max(h, 1)}" fill="{colour}"><title>{escape(case_id)}: {delta:+.3f}</title></rect>'
        )
    return (
        f'<svg class="diffplot" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><line x1="10" y1="{mid}" x2="{width - 10}" y2="{mid}" '
        f'stroke="#888"/>{"".join(marks)}</svg>'
    )


def _metrics_table(run: dict[str, Any], previous: dict[str, Any] | None) -> str:
    before = previous["summary"]["metrics"] if previous else {}
    rows = []
    for name, mean in run["summary"]["metrics"].items():
        old = before.get(name)
        delta = "" if old is None else f"{mean - old:+.3f}"
        cls = "" if old is None or mean == old else ("up" if mean > old else "down")
        rows.append(
            f'<tr><td>{escape(name)}</td><td class="num">{_fmt(mean)}</td>'
            f'<td class="num">{run["summary"]["counts"][name]}</td><td class="num">{_fmt(old)}</td>'
            f'<td class="num {cls}">{delta}</td></tr>'
        )
    return (
        "<table><tr><th>metric</th><th>mean</th><th>cases</th><th>previous</th><th>change</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _agreement_table(agreement: dict[str, dict[str, Any]]) -> str:
    if not agreement:
        return "<p>No rated cases with both thumbs-up and thumbs-down.</p>"
    rows = "".join(
        f'<tr><td>{escape(name)}</td><td class="num">{a["auc"]:.3f}</td><td class="num">{a["up"]}</td>'
        f'<td class="num">{a["down"]}</td></tr>'
        for name, a in sorted(agreement.items(), key=lambda kv: -kv[1]["auc"])
    )
    return "<table><tr><th>metric</th><th>AUC</th><th>👍 cases</th><th>👎 cases</th></tr>" + rows + "</table>"


def _gate_block(gate: dict[str, Any] | None) -> str:
    if not gate:
        return "<p>No gate was applied.</p>"
    if gate["passed"]:
        return '<p class="pass">The gate passed.</p>'
    items = "".join(f"<li>{escape(f)}</li>" for f in gate["failures"])
    return f'<p class="fail">The gate failed:</p><ul>{items}</ul>'


def _case_row(r: dict[str, Any], previous: dict[str, float | None]) -> str:
    score = case_score(r)
    old = previous.get(r["case_id"])
    scores = ", ".join(f"{k} {v:.2f}" for k, v in r["scores"].items())
    checks = "".join(
        f'<div class="{"pass" if c["passed"] else "fail"}">{escape(name)}: {escape(c["detail"])}</div>'
        for name, c in r["checks"].items()
    )
    contexts = "".join(
        f"<details><summary>{i}. {escape(p.get('name', ''))}</summary><pre>{escape(p.get('text', ''))}</pre>"
        "</details>"
        for i, p in enumerate(r["contexts"], start=1)
    )
    tools = ", ".join(escape(a.get("tool", "")) for a in r["actions"])
    errors = "".join(f'<div class="fail">{escape(e)}</div>' for e in r["errors"])
    return (
        f'<tr class="case" data-case="{escape(r["case_id"])}"><td>{escape(r["case_id"])}<br><small>'
        f"{escape(r['kind'])}{' · ' + escape(r['rating']) if r.get('rating') else ''}</small></td>"
        f'<td class="num">{_fmt(score)}</td><td class="num">{_fmt(old)}</td>'
        f"<td><pre>{escape(r['question'])}</pre></td><td><pre>{escape(r['reply'])}</pre>{errors}</td>"
        f"<td><pre>{escape(r.get('reference') or '')}</pre>{checks}</td>"
        f"<td>{escape(scores)}<br>{('tools: ' + tools) if tools else ''}"
        f"{' · handoff ' + escape(r.get('handoff_team') or '') if r.get('handoff') else ''}{contexts}</td></tr>"
    )


def render_html(run: dict[str, Any], previous: dict[str, Any] | None = None) -> str:
    results = run["results"]
    before = {r["case_id"]: case_score(r) for r in previous["results"]} if previous else {}
    deltas = []
    for r in results:
        now, old = case_score(r), before.get(r["case_id"])
        if now is not None and old is not None:
            deltas.append((r["case_id"], now - old))
    metric_names = list(run["summary"]["metrics"])
    plots = "".join(
        histogram(name, [r["scores"][name] for r in results if name in r["scores"]]) for name in metric_names
    )
    worst = sorted(results, key=lambda r: (case_score(r) is not None, case_score(r) or 0.0))
    dataset = run["dataset"]
    title = f"Evals · {dataset['name']} v{dataset['version']} · run {run['id']}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{STYLE}</style></head>
<body><h1>{escape(title)}</h1>
<p>{len(results)} cases · started {escape(run.get("started_at", ""))} · model {escape(run.get("model", ""))}
 · judge {escape(run.get("judge") or "none (offline metrics only)")}
 · previous run {escape(previous["id"]) if previous else "none"}</p>
<h2>Gate</h2>{_gate_block(run.get("gate"))}
<h2>Metrics</h2>{_metrics_table(run, previous)}
<h2>Score distributions</h2><div class="plots">{plots}</div>
<h2>Change per case against the previous run</h2>{diff_plot(deltas)}
<h2>Agreement with human ratings (AUC)</h2>{_agreement_table(run.get("agreement", {}))}
<h2>Cases, worst first</h2>
<table><tr><th>case</th><th>score</th><th>previous</th><th>question</th><th>reply</th><th>reference / checks</th>
<th>scores · contexts</th></tr>{"".join(_case_row(r, before) for r in worst)}</table>
</body></html>
"""
