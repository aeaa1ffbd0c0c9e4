"""The HTML report's "metric card": how well motion fidelity separates same from other motion.

The card is what ``motionbench metaeval --out FILE`` writes (``{"card": ..., "result": ...}``; the
card's shape is documented in :mod:`motionbench.metaeval.card`). ``motionbench report`` shows it
when given ``--metric-card FILE``, or when the first run's folder holds ``metaeval.json``.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from motionbench.errors import MotionBenchError

CARD_FILE = "metaeval.json"


def load_metric_card(path: Path) -> dict[str, Any]:
    """The card from a ``motionbench metaeval --out`` file.

    Raises:
        MotionBenchError: the file is missing, not JSON, or not metaeval output.
    """
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MotionBenchError(f"{path}: no such file; write one with `motionbench metaeval --out {path}`") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise MotionBenchError(f"{path}: cannot be read as JSON ({exc})") from None
    card = payload.get("card") if isinstance(payload, dict) else None
    if not isinstance(card, dict) or not isinstance(card.get("rows"), list):
        raise MotionBenchError(f"{path}: not the output of `motionbench metaeval --out FILE` (no 'card' with 'rows')")
    return card


def _fmt(est: dict[str, float] | None) -> str:
    if not est:
        return '<span class="meta">—</span>'
    value = f"{est['value']:.2f}"
    if est.get("low") is not None and est.get("high") is not None:
        value += f' <span class="ci">[{est["low"]:.2f}, {est["high"]:.2f}]</span>'
    return value


def render_metric_card(card: dict[str, Any]) -> str:
    """The card as an HTML section body: summary, one row per (tracker, variant), notes."""
    e = html.escape
    kinds = [k["name"] for k in card.get("negative_kinds", [])]
    perts = [p["name"] for p in card.get("perturbations", [])]
    target = card.get("target", {}).get("min_auc")
    head = "".join(f"<th>AUC vs {e(k.replace('_', ' '))}</th>" for k in kinds)
    head += "<th>min AUC</th>" + "".join(f"<th>ρ {e(p.replace('_', ' '))}</th>" for p in perts)
    rows = []
    for r in card["rows"]:
        cells = "".join(f"<td>{_fmt((r.get('auc') or {}).get(k))}</td>" for k in kinds)
        mark = "" if target is None else (" ✓" if r.get("meets_target") else " ✗")
        best = ' class="best"' if r.get("meets_target") else ""
        min_auc = "—" if r.get("min_auc") is None else f"{r['min_auc']:.2f}{mark}"
        cells += f'<td{best}><span class="v">{min_auc}</span></td>'
        cells += "".join(f"<td>{_fmt((r.get('spearman') or {}).get(p))}</td>" for p in perts)
        rows.append(f"<tr><td>{e(r['tracker'])}</td><td>{e(r['variant'])}</td>{cells}</tr>")
    notes = [f"<li>{e(k['name'].replace('_', ' '))}: {e(k['description'])}</li>" for k in card.get("negative_kinds", [])]
    notes += [f"<li>{e(p['name'].replace('_', ' '))}: {e(p['description'])}</li>" for p in card.get("perturbations", [])]
    notes += [f"<li>{e(v)}: {e(d)}</li>" for v, d in card.get("definitions", {}).items()]
    notes += [f"<li>skipped tracker {e(s['tracker'])}: {e(s['reason'])}</li>" for s in card.get("skipped", [])]
    notes += [f"<li>dropped negative {e(d['reference'])}/{e(d['kind'])}#{d['index']}: true motion differs by only "
              f"{d['motion_change']:.2f}</li>" for d in card.get("dropped", [])]
    target_text = f" Target: every AUC ≥ {target:.2f} (✓ met, ✗ not)." if target is not None else ""
    return (f'<p>{e(card.get("summary", ""))}{e(target_text)}</p>'
            f'<table class="lb card"><thead><tr><th>tracker</th><th>variant</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>'
            f'<ul class="notes">{"".join(notes)}</ul>'
            f'<p class="meta">{e(card.get("footer", ""))}</p>')
