"""The HTML report: one self-contained file (inline CSS, SVG charts and mp4s as ``data:`` URIs).

Sections: the leaderboards with their notes, a chart per metric (categories side by side, bootstrap
whiskers), motion fidelity against tuning time, and for every sample a grid of looping, muted,
autoplaying videos: the reference beside each method's output, one row per prompt. Nothing is
fetched when the file is opened, so it can be mailed, attached to a review or opened offline.
"""

from __future__ import annotations

import base64
import html
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from motionbench.errors import MotionBenchError, VideoError
from motionbench.report.card import render_metric_card
from motionbench.report.charts import fidelity_vs_tuning_svg, metric_chart_svg
from motionbench.report.media import video_data_uri
from motionbench.report.model import Leaderboard
from motionbench.report.render import cell_text, header, row_label, row_n
from motionbench.run.records import GenerationRecord
from motionbench.tasks import RECAPTURE

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
main{max-width:1400px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:20px 0 6px}
.meta{color:#666;font-size:12px}
nav a{margin-right:14px}
table.lb{border-collapse:collapse;background:#fff;font-variant-numeric:tabular-nums;margin-bottom:8px}
table.lb th,table.lb td{padding:4px 10px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
table.lb th:first-child,table.lb td:first-child{text-align:left}
table.lb th{background:#f0f2f5;font-weight:600}
td .ci{color:#888;font-size:11px;margin-left:3px}td .sfx{color:#b36b00;font-size:11px;margin-left:3px}
td.best .v{font-weight:700;color:#0a6b2d}
tr.reported td{color:#777;font-style:italic}tr.anchor td{color:#555}
ul.notes{font-size:12px;color:#555;max-width:1100px;padding-left:18px}
ul.notes li{margin:2px 0;overflow-wrap:anywhere}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.charts figure{margin:0;background:#fff;padding:8px;border:1px solid #eee}
.charts img{display:block;max-width:100%}
.sample{background:#fff;border:1px solid #e6e6e6;padding:10px 12px;margin:14px 0}
.grid{display:grid;gap:6px;align-items:start}
.grid .hd{font-weight:600;font-size:12px;color:#444}
.grid .prompt{font-size:12px;color:#333;align-self:center}
.grid video{display:block;width:100%;height:auto;background:#000;border-radius:3px}
.grid .cap{font-size:11px;color:#666;margin-top:2px;font-variant-numeric:tabular-nums}
.missing{font-size:11px;color:#a33;background:#fff3f3;border:1px dashed #e0b4b4;padding:6px;border-radius:3px}
"""


@dataclass(frozen=True)
class HtmlStats:
    path: Path
    size_bytes: int
    videos: int  # embedded videos (references included)
    missing_videos: int  # grid cells that say why a video is absent


class _Videos:
    """Embeds each file once and counts what was embedded or missing."""

    def __init__(self, width: int, crf: int) -> None:
        self.width, self.crf = width, crf
        self.embedded = 0
        self.missing = 0

    def tag(self, path: Path | None, missing_reason: str, title: str) -> str:
        if path is None or not path.exists():
            self.missing += 1
            return f'<div class="missing">{html.escape(missing_reason)}</div>'
        try:
            uri = video_data_uri(path, width=self.width, crf=self.crf)
        except VideoError as exc:
            self.missing += 1
            return f'<div class="missing">{html.escape(str(exc))}</div>'
        self.embedded += 1
        return (f'<video src="{uri}" autoplay loop muted playsinline preload="auto" '
                f'title="{html.escape(title)}"></video>')


def _leaderboards(lb: Leaderboard) -> str:
    parts: list[str] = []
    for group in lb.groups:
        rows = lb.rows_in(group)
        if not rows:
            continue
        parts.append(f"<h3>{html.escape(group)}</h3>")
        parts.append('<table class="lb"><thead><tr><th>Method</th><th>n</th>'
                     + "".join(f'<th title="{html.escape(c.id)}">{html.escape(header(c))}</th>' for c in lb.columns)
                     + "</tr></thead><tbody>")
        for row in rows:
            tds = []
            for col in lb.columns:
                cell = row.cells[col.id]
                t = cell_text(row, col, cell)
                title = f"rank {cell.rank}" if cell.rank else (cell.note or "")
                inner = f'<span class="v">{html.escape(t.value)}</span>'
                if t.interval:
                    inner += f'<span class="ci">{html.escape(t.interval)}</span>'
                if t.suffix:
                    inner += f'<span class="sfx">{html.escape(t.suffix)}</span>'
                cls = ' class="best"' if t.best else ""
                tds.append(f'<td{cls} title="{html.escape(title)}">{inner}</td>')
            parts.append(f'<tr class="{row.kind}"><td>{html.escape(row_label(row))}</td><td>{row_n(row)}</td>'
                         + "".join(tds) + "</tr>")
        parts.append("</tbody></table>")
    parts.append('<ul class="notes">' + "".join(f"<li>{html.escape(line.strip())}</li>" for line in lb.footer_lines())
                 + "</ul>")
    return "\n".join(parts)


def _svg_img(svg: str, alt: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img src="data:image/svg+xml;base64,{data}" alt="{html.escape(alt)}">'


def _charts(lb: Leaderboard) -> str:
    figs = []
    for col in lb.quality_columns:
        svg = metric_chart_svg(lb, col)
        if svg:
            figs.append(f"<figure>{_svg_img(svg, f'{col.id} per category')}</figure>")
    fidelity = next((c for c in lb.quality_columns if c.metric == "motion_fidelity"), None)
    scatter = fidelity_vs_tuning_svg(lb, fidelity) if fidelity else None
    if scatter:
        figs.append(f"<figure>{_svg_img(scatter, 'motion fidelity against tuning time')}</figure>")
    elif fidelity is None:
        figs.append('<p class="meta">No motion-fidelity scores: no fidelity-against-tuning-time chart.</p>')
    return '<div class="charts">' + "\n".join(figs) + "</div>" if figs else '<p class="meta">No charts.</p>'


def _samples(lb: Leaderboard, videos: _Videos) -> str:
    labels = {(r.run, r.method): r.label for r in lb.rows if r.kind != "reported"}
    order = list(dict.fromkeys(r.label for r in lb.rows if r.kind != "reported"))
    # sample -> label -> (prompt_index, seed) -> (store, record)
    jobs: dict[str, dict[str, dict[tuple[int, int], tuple[object, GenerationRecord]]]] = defaultdict(lambda: defaultdict(dict))
    category: dict[str, str] = {}
    prompts: dict[str, dict[int, str]] = defaultdict(dict)
    scores: dict[str, list[str]] = defaultdict(list)
    for store in lb.stores:
        for rec in store.generations.values():
            label = labels.get((store.name, rec.method))
            if label is None:
                continue
            # A recapture row is a camera path (named by its short form or key), a motion-transfer row a prompt.
            row_key = rec.path_index if rec.path_index is not None else rec.prompt_index
            jobs[rec.sample][label][(row_key, rec.seed)] = (store, rec)
            category.setdefault(rec.sample, rec.category)
            prompts[rec.sample].setdefault(row_key, (rec.path or {}).get("name") or rec.path_key or rec.prompt
                                           if rec.path_index is not None else rec.prompt)
        for s in store.scores.values():
            if s.status == "ok" and s.value is not None and any(c.id == (f"{s.metric}/{s.variant}" if s.variant else s.metric)
                                                                for c in lb.quality_columns):
                col = lb.column(f"{s.metric}/{s.variant}" if s.variant else s.metric)
                scores[f"{store.name}\x1f{s.job}"].append(f"{col.label} {s.value:.3f}")
    cat_rank = {g: i for i, g in enumerate(lb.groups)}
    parts: list[str] = []
    for sample in sorted(jobs, key=lambda s: (cat_rank.get(category[s], len(cat_rank)), category[s], s)):
        methods = [m for m in order if m in jobs[sample]]
        keys = sorted({k for m in methods for k in jobs[sample][m]})
        # One seed per prompt (the lowest) keeps the file small; the tables average all seeds.
        first_seed: dict[int, int] = {}
        for p, seed in keys:
            first_seed.setdefault(p, seed)
        rows = sorted(first_seed.items())
        ref_path = next((st.reference_video(sample) for st in lb.stores if st.reference_video(sample).exists()), None)
        ncols = 2 + len(methods)
        unit = "path" if lb.task == RECAPTURE else "prompt"
        cells = [f'<div class="hd">{unit}</div>', '<div class="hd">reference</div>']
        cells += [f'<div class="hd">{html.escape(m)}</div>' for m in methods]
        for i, (p, seed) in enumerate(rows):
            cells.append(f'<div class="prompt">{html.escape(prompts[sample].get(p, ""))}'
                         f'<div class="cap">{unit} {p}, seed {seed}</div></div>')
            if i == 0:
                tag = videos.tag(ref_path, f"reference video not stored (expected videos/reference/{sample}.mp4 "
                                           "in the run folder)", f"{sample} reference")
                cells.append(f'<div style="grid-row:span {len(rows)}">{tag}'
                             f'<div class="cap">{html.escape(sample)}</div></div>')
            for m in methods:
                entry = jobs[sample][m].get((p, seed))
                if entry is None:
                    videos.missing += 1
                    cells.append(f'<div class="missing">no job for this {unit} and seed</div>')
                    continue
                store, rec = entry
                path = store.video_path(rec)  # type: ignore[attr-defined]
                reason = f"generation failed: {rec.error}" if rec.status != "ok" else f"video file missing: {rec.video}"
                tag = videos.tag(path, reason, f"{m}: {rec.prompt}")
                cap = " · ".join(scores.get(f"{store.name}\x1f{rec.job}", []))  # type: ignore[attr-defined]
                cells.append(f"<div>{tag}<div class=\"cap\">{html.escape(cap)}</div></div>")
        style = f"grid-template-columns:minmax(10em,16em) repeat({ncols - 1},{videos.width}px)"
        parts.append(f'<section class="sample" id="sample-{html.escape(sample)}"><h3>{html.escape(sample)} '
                     f'<span class="meta">{html.escape(category[sample])}</span></h3>'
                     f'<div class="grid" style="{style}">' + "".join(cells) + "</div></section>")
    return "\n".join(parts) if parts else '<p class="meta">No generations in these runs.</p>'


def render_html(lb: Leaderboard, *, video_width: int = 192, crf: int = 30,
                metric_card: dict | None = None) -> tuple[str, _Videos]:
    """The report as one HTML string, and what went into it (``metric_card``: see :mod:`.card`)."""
    if video_width < 32 or video_width % 2:
        raise MotionBenchError(f"video_width={video_width}: use an even width of at least 32 pixels")
    videos = _Videos(video_width, crf)
    runs = ", ".join(html.escape(r.name) for r in lb.runs)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        f"<h1>MotionBench report</h1><div class=\"meta\">runs: {runs} · generated {generated}</div>",
        '<nav><a href="#leaderboards">Leaderboards</a><a href="#charts">Charts</a>'
        + ('<a href="#metric-card">Metric card</a>' if metric_card else "") + '<a href="#samples">Samples</a></nav>',
        '<h2 id="leaderboards">Leaderboards</h2>', _leaderboards(lb),
        '<h2 id="charts">Charts</h2>', _charts(lb),
        *(['<h2 id="metric-card">Metric card: motion fidelity validity</h2>', render_metric_card(metric_card)]
          if metric_card else []),
        '<h2 id="samples">Samples</h2>',
        ('<p class="meta">Each row: one camera path (lowest seed); the source clip on the left, every method\'s '
         're-rendering beside it. ' if lb.task == RECAPTURE else
         '<p class="meta">Each row: one prompt (lowest seed); the reference on the left, every method beside it. ')
        + 'Captions under a video are its own scores.</p>',
        _samples(lb, videos),
    ]
    doc = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
           f"<title>MotionBench report: {runs}</title><style>{CSS}</style></head>"
           "<body><main>\n" + "\n".join(body) + "\n</main></body></html>\n")
    return doc, videos


def write_html_report(lb: Leaderboard, path: Path | str, *, video_width: int = 192, crf: int = 30,
                      metric_card: dict | None = None) -> HtmlStats:
    """Write the report atomically and say how large it is and how many videos it holds."""
    path = Path(path)
    doc, videos = render_html(lb, video_width=video_width, crf=crf, metric_card=metric_card)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        tmp.write_text(doc, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return HtmlStats(path=path, size_bytes=path.stat().st_size, videos=videos.embedded, missing_videos=videos.missing)
