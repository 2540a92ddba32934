"""``versus.md``: the report of ``ppresnet45 versus`` (:mod:`.versus`) as Markdown: the row for
the table in docs/speed_vs_paddleocr.md, each side's rounds (start-up vs loop) and the exact
commands as shell lines (a multi-line client script shown as ``<client script>``; the script
itself is in ``versus.json``). :mod:`.rivals` writes its commands the same way.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from ..utils.cpu import ISA_CAP_ENV


def command_line(cmd: dict[str, Any]) -> str:
    """One side's command of a report (``{"argv": [...], "env": {...}}``) as a shell line: the
    environment, then the arguments, with a multi-line client script shown as ``<client script>``."""
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in cmd["env"].items())
    argv = [a if "\n" not in a else "<client script>" for a in cmd["argv"]]
    return f"{env} {shlex.join(argv)}"


def table_row(report: dict[str, Any]) -> str:
    """The report as one row of the table in docs/speed_vs_paddleocr.md."""
    s, ours, cpu, choice = report["settings"], report["ppresnet45"], report["cpu"], report["ppresnet45"]["runtime"]
    cells = [
        cpu["description"],
        cpu["kind"],
        s["isa_cap"] or "-",
        s["lines"],
        s["cpu_threads"],
        s["batch_size"],
        f"{ours['median_s']:.2f}",
        f"{report['paddleocr']['median_s']:.2f}",
        f"{report['ratio']:.2f}x",
        f"{report['agreement']['share']:.1%}",
        f"{choice['backend']}/{choice['precision']}" + (" (auto)" if choice.get("auto") else ""),
        f"`{s['command'] or ''}`",
    ]
    return "| " + " | ".join(str(c) for c in cells) + " |"


def format_markdown(report: dict[str, Any]) -> str:
    """``versus.md``: the docs' table row, each side's rounds with start-up vs loop, and the exact commands."""
    s, ag, choice = report["settings"], report["agreement"], report["ppresnet45"]["runtime"]
    out = [
        f"# ppresnet45 infer vs PaddleOCR's {s['paddleocr_model_name']} recognizer ({report['when']})",
        "",
        "| CPU (model + flags) | kind | ISA cap | lines | threads | batch | ours s | PaddleOCR s | ratio | "
        "same text | our runtime choice | command |",
        "|---" * 12 + "|",
        table_row(report),
        "",
        "| side | median s | min s | rounds s | loop median s | start-up median s | lines/s | accuracy |",
        "|---" * 8 + "|",
    ]
    for side in report["commands"]:  # the sides, ours first
        r = report[side]
        out.append(
            f"| {side} | {r['median_s']:.3f} | {r['min_s']:.3f} | {', '.join(f'{t:.3f}' for t in r['rounds_s'])}"
            f" | {r['loop_median_s']:.3f} | {r['startup_median_s']:.3f} | {r['lines_per_s']:.1f} | "
            + (f"{r['accuracy']:.4f} |" if "accuracy" in r else "- |")
        )
    ignored = "; our runtime is one of them: its figure is not one of a capped CPU" if choice["ignores_isa_cap"] else ""
    out += [
        "",
        f"Ratio = PaddleOCR median s / ours = {report['ratio']:.2f}. Same text on {ag['same']}/{ag['lines']} "
        f"lines. Our runtime: {choice.get('reason') or 'as given'}. ISA cap: {s['isa_cap'] or 'none'} "
        f"({', '.join(s['isa_cap_ignored_by'])} kernels do not honour {ISA_CAP_ENV}{ignored}). "
        f"Versions: {json.dumps(report['versions'])}.",
        "",
        "Commands (the client script is in versus.json):",
        "",
    ]
    out += [f"- {side}: `{command_line(cmd)}`" for side, cmd in report["commands"].items()]
    return "\n".join(out) + "\n"
