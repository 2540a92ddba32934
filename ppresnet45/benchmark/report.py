"""The benchmark report: decoded-text agreement between rows, Markdown, JSON and a plot.

A report of several models (``benchmark --model_dir A B``) has one ``- model:`` line per
model and a ``model`` column first in the table; decoded-text agreement compares rows of
the same model only.

:func:`write_reports` writes, each atomically, ``benchmark.json`` (machine info, peak probe,
settings, records, skipped rows, notes), ``benchmark.md`` (:func:`format_markdown`) and
``benchmark.png`` (:func:`plot_throughput`: throughput vs batch size; skipped with a note
when matplotlib is not installed).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from ..inference.policy import DEFAULT_POLICY
from ..utils.io import atomic_output_file, atomic_write_text

# Explains the table's columns; the nominal size is filled in per report.
TABLE_LEGEND = (
    "Model only: latency per batch on pre-processed batches at the nominal width. Full path: files → text "
    "(header read, image decode, pre-process, model, text decode; image decoding and pre-processing overlap the "
    "model in a background thread except on the paddle backends, whose run() holds the GIL), "
    "first on copies of the images stretched to exactly {height}×{width} "
    "(same input shapes as model only; '% of model' = its images/s ÷ model-only images/s), then on the images "
    "as they are (real widths, batched by aspect ratio; efficiency = images/s ÷ model-only images/s on the same "
    "batches). Split: ms per image of the real-width pass in decode+pre-process (CPU time) / model / "
    "post-process."
)
TABLE_COLUMNS = 16


AUTO_MIN_AGREEMENT = DEFAULT_POLICY.min_same_text  # the one agreement rule (inference/policy.py)


def add_text_agreement(records: list[dict[str, Any]]) -> None:
    """Set each record's ``text_agreement`` and drop its raw decoded texts.

    The agreement is the share of images whose decoded text equals the reference row's
    (``paddle``/``fp32`` at the same batch size, else the first FP32 row), so a lower
    precision or another runtime shows at once whether it changes what is read. ``None``
    where either row has no texts or they cover different numbers of images.
    """
    texts = {id(r): r["full_path"].pop("texts", None) for r in records}
    for r in records:
        same_bs = [
            o
            for o in records
            if o["batch_size"] == r["batch_size"] and o["precision"] == "fp32" and o.get("model") == r.get("model")
        ]
        ref = next((o for o in same_bs if o["backend"] == "paddle"), same_bs[0] if same_bs else None)
        mine, theirs = texts[id(r)], texts[id(ref)] if ref is not None else None
        if ref is None or not mine or not theirs or len(mine) != len(theirs):
            r["text_agreement"] = None
            continue
        pairs = [(a, b) for a, b in zip(mine, theirs) if a is not None and b is not None]
        same = sum(1 for a, b in pairs if a == b)
        r["text_agreement"] = {
            "reference": f"{ref['backend']}/{ref['precision']}",
            "images": len(pairs),
            "same_text": same,
            "fraction": same / len(pairs) if pairs else None,
        }


def auto_picks(records: Iterable[dict[str, Any]]) -> list[str]:
    """Per model and batch size, what ``--backend auto`` picks from these rows: the fastest
    full path (real widths) among rows whose text agrees with fp32 (fp32 rows always do)."""
    best: dict[tuple[Any, int], tuple[float, str]] = {}
    for r in records:
        agreement = (r.get("text_agreement") or {}).get("fraction")
        ok = r["precision"] == "fp32" or (agreement is not None and agreement >= AUTO_MIN_AGREEMENT)
        speed = r["full_path"].get("images_per_s")
        key = (r.get("model"), r["batch_size"])
        if ok and speed and (key not in best or speed > best[key][0]):
            best[key] = (speed, f"{r['backend']}/{r['precision']}")
    several = len({k[0] for k in best}) > 1
    return [
        f"{model + ' ' if several and model else ''}batch {bs}: {name} ({speed:.1f} img/s)"
        for (model, bs), (speed, name) in sorted(best.items(), key=lambda kv: (str(kv[0][0]), kv[0][1]))
    ]


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}"


def _agreement_text(agreement: dict[str, Any] | None) -> str:
    if not agreement or agreement.get("fraction") is None:
        return "–"
    return f"{100 * agreement['fraction']:.1f} % ({agreement['same_text']}/{agreement['images']})"


def _model_line(s: dict[str, Any]) -> str:
    label = f"{s['label']}: " if s.get("label") and s["label"] != s["model_name"] else ""
    return (
        f"- model: {label}`{s['model_dir']}` ({s['model_name'] or 'unnamed'}"
        f"{', untrained weights' if s['untrained'] else ''}), "
        f"input {s['image_shape']}, max width {s['max_width']}, "
        f"{_fmt(s['macs_per_image'] / 1e9 if s['macs_per_image'] else None, 2)} GMAC per image"
    )


def _models(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's model entries (one for a report of one model)."""
    return report["settings"].get("models") or [report["settings"]]


def _header_lines(report: dict[str, Any]) -> list[str]:
    """The bullet list above the table: models, CPU, settings, peak, versions."""
    m, s, peak = report["machine"], report["settings"], report["peak"]
    return [_model_line(model) for model in _models(report)] + [
        (
            f"- CPU: {m['cpu_model']} ({m['usable_cpus']} usable of {m['logical_cpus']} logical; "
            f"{' '.join(m['cpu_flags']) or 'no listed flags'}); load average at the end {m['load_average']}"
        ),
        (
            f"- threads: {s['cpu_threads']}; warmup {s['warmup']}, iters {s['iters']}"
            + (f", best of {s['rounds']} interleaved rounds" if s.get("rounds", 1) > 1 else "")
            + f"; images: {s['images']}"
        ),
        f"- FP32 peak: {_fmt(peak.get('gflops'))} GFLOP/s by {peak.get('method') or peak.get('error')}",
        (
            f"- versions: python {m['python']}, paddlepaddle {m['paddlepaddle']}, onnxruntime {m['onnxruntime']}, "
            f"openvino {m['openvino']}, numpy {m['numpy']}, opencv {m['opencv']}"
        ),
    ]


def _table_head(width: int | str, with_model: bool = False) -> list[str]:
    head = [
        (
            "| backend | precision | batch | p50 ms | p90 ms | p99 ms | model img/s | GFLOP/s | % peak "
            f"| full img/s @{width} | % of model | full img/s real widths | efficiency "
            "| split ms/img (pre / model / post) | peak RSS MB | same text as fp32 |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    return ["| model " + head[0], "|---" + head[1]] if with_model else head


def _record_row(r: dict[str, Any], with_model: bool = False) -> str:
    """One table row of a record (with its model's label first when the report has several)."""
    return (f"| {r.get('model') or '–'} " if with_model else "") + _record_cells(r)


def _record_cells(r: dict[str, Any]) -> str:
    lat, fp, nom = r["latency_ms"], r["full_path"], r.get("full_path_nominal") or {}
    ms = fp["ms_per_image"]
    eff, vs = fp["path_efficiency"], nom.get("vs_model_only")
    return (
        f"| {r['backend']} | {r['precision']} | {r['batch_size']} | {_fmt(lat['p50'])} | {_fmt(lat['p90'])} "
        f"| {_fmt(lat['p99'])} | {_fmt(r['throughput_ips'])} | {_fmt(r['gflops'])} | {_fmt(r['pct_of_peak'])} "
        f"| {_fmt(nom.get('images_per_s'))} | {_fmt(vs * 100 if vs else None)} % "
        f"| {_fmt(fp['images_per_s'])} | {_fmt(eff * 100 if eff else None)} % "
        f"| {_fmt(ms['preprocess'], 2)} / {_fmt(ms['model'], 2)} / {_fmt(ms['postprocess'], 2)} "
        f"| {_fmt(r['peak_rss_mb'], 0)} | {_agreement_text(r.get('text_agreement'))} |"
    )


def _skipped_lines(skipped_rows: Iterable[dict[str, Any]], with_model: bool = False) -> list[str]:
    """``- backend/precision (batch 1, 8): reason``, one line per (model,) backend, precision and reason."""
    grouped: dict[tuple[str, str, str, str], list[int]] = {}
    for sk in skipped_rows:
        model = f"{sk['model']}: " if with_model and sk.get("model") else ""
        grouped.setdefault((model, sk["backend"], sk["precision"], sk["reason"]), []).append(sk["batch_size"])
    return [
        f"- {m}{b}/{p} (batch {', '.join(map(str, sizes))}): {reason}" for (m, b, p, reason), sizes in grouped.items()
    ]


def format_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: settings, a table of records, skipped combinations, notes."""
    _, height, width = report["settings"]["image_shape"]
    several = len(_models(report)) > 1
    if several:  # each model's own nominal size
        height, width = "H", "W"
    lines = ["# ppresnet45 benchmark", ""] + _header_lines(report)
    lines += ["", TABLE_LEGEND.format(height=height, width=width), ""] + _table_head(width, several)
    lines += [_record_row(r, several) for r in report["records"]]
    if not report["records"]:
        lines.append("| (no measurements) |" + " |" * (TABLE_COLUMNS + several - 1))
    picks = auto_picks(report["records"])
    if picks:
        lines += [
            "",
            f"`--backend auto` would pick (fastest full path whose text equals fp32 on >= "
            f"{AUTO_MIN_AGREEMENT:.0%} of the images): " + "; ".join(picks),
        ]
    skipped = _skipped_lines(report["skipped"], several)
    if skipped:
        lines += ["", "Skipped:", ""] + skipped
    if report.get("notes"):
        lines += ["", "Notes:", ""] + [f"- {n}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


def plot_throughput(report: dict[str, Any], path: str) -> str | None:
    """Write a PNG of images/s vs batch size, model only and full path per backend/precision.

    Returns:
        str | None: a note when the plot was skipped (no matplotlib), else ``None``.
    """
    try:  # imported here: matplotlib is optional and slow to import
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: benchmark.png skipped"
    series: dict[tuple[str, str], list[dict[str, Any]]] = {}
    several = len(_models(report)) > 1
    for r in report["records"]:
        name = f"{r.get('model')} {r['backend']}" if several else r["backend"]
        series.setdefault((name, r["precision"]), []).append(r)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, ((b, p), rows) in enumerate(sorted(series.items())):
        rows = sorted(rows, key=lambda r: r["batch_size"])
        xs = [r["batch_size"] for r in rows]
        color = f"C{i % 10}"
        ax.plot(xs, [r["throughput_ips"] for r in rows], "o-", color=color, label=f"{b}/{p} model only")
        ax.plot(xs, [r["full_path"]["images_per_s"] for r in rows], "s--", color=color, label=f"{b}/{p} full path")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch size")
    ax.set_ylabel("images / s")
    s = report["settings"]
    title = " vs ".join(m.get("label") or m["model_name"] or "model" for m in _models(report))
    ax.set_title(f"{title}{'' if several else ' ' + str(s['image_shape'])}, {s['cpu_threads']} threads")
    ax.grid(True, alpha=0.3)
    if series:
        ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_output_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return None


def write_reports(report: dict[str, Any], output_dir: str) -> None:
    """Write benchmark.json, benchmark.md and benchmark.png atomically into ``output_dir``.

    The written paths go into ``report["outputs"]``; a skipped plot adds its note to
    ``report["notes"]`` before the Markdown and JSON are written, so both mention it.
    """
    os.makedirs(output_dir, exist_ok=True)
    png = os.path.join(output_dir, "benchmark.png")
    note = plot_throughput(report, png)
    if note:
        report["notes"].append(note)
    else:
        report["outputs"]["png"] = png
    report["outputs"]["json"] = os.path.join(output_dir, "benchmark.json")
    report["outputs"]["markdown"] = os.path.join(output_dir, "benchmark.md")
    atomic_write_text(report["outputs"]["markdown"], format_markdown(report))
    atomic_write_text(report["outputs"]["json"], json.dumps(report, indent=2, ensure_ascii=False) + "\n")
