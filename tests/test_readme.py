"""The README's first screen works as written: the two make commands come first, the quick
start starts within the first 60 lines, and its commands run in order in an empty folder
(configs by name, no checkout paths)."""

import pathlib
import shlex
import subprocess
import sys

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text(encoding="utf-8")
LINES = TEXT.splitlines()


def _quick_start():
    start = LINES.index("## Quick start")
    fence = next(i for i in range(start, len(LINES)) if LINES[i].startswith("```"))
    end = next(i for i in range(fence + 1, len(LINES)) if LINES[i].startswith("```"))
    return start, [line for line in LINES[fence + 1 : end] if line.strip()]


def test_the_readme_starts_with_the_two_make_commands_and_stays_short():
    assert LINES[0] == "# ppresnet45" and LINES[2] == "```sh"
    assert LINES[3].startswith("make demo") and LINES[4].startswith("make test") and LINES[5] == "```"
    assert len(LINES) <= 250
    start, commands = _quick_start()
    assert start < 60 and commands and all(c.startswith("ppresnet45 ") for c in commands)


@pytest.mark.slow
def test_the_quick_start_runs_in_order_in_an_empty_folder(tmp_path):
    _, commands = _quick_start()
    cli = [sys.executable, "-c", "from ppresnet45.cli import entry_point; entry_point()"]
    for command in commands:
        argv = shlex.split(command)
        proc = subprocess.run(cli + argv[1:], cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{command}\n{proc.stderr[-2000:]}"
    rows = (tmp_path / "output" / "rows.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 64  # one row per rendered line
    for made in (
        "inference/inference.json",
        "inference/inference.yml",
        "benchmark/benchmark.json",
        "model/best_accuracy.pdparams",
        "model/curves.png",
    ):
        assert (tmp_path / "output" / made).is_file(), made
