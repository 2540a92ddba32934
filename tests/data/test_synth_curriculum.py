"""The curriculum file of the demo recipe: plain built-in-font lines first, then a ramp to the
diverse distribution, in file order."""

import json
from pathlib import Path

import pytest

from ppresnet45.data.synth import BUILTIN_FONT, StyleRamp, default_ramp, find_fonts, render_dataset, split_fonts
from ppresnet45.data.synth.curriculum import PLAIN_LINES, RAMP_SHARE
from ppresnet45.errors import ConfigError


def test_strength_is_zero_then_linear_then_one():
    ramp = StyleRamp(100, ("a.ttf",), start=0.2, end=0.6)
    assert [ramp.strength(f) for f in (0.0, 0.19, 0.2, 0.4, 0.6, 0.99)] == pytest.approx([0, 0, 0, 0.5, 1, 1])


@pytest.mark.parametrize("start,end", [(0.5, 0.2), (-0.1, 0.5), (0.2, 1.5)])
def test_bad_ramp_is_a_config_error(start, end):
    with pytest.raises(ConfigError, match="start <= end"):
        StyleRamp(10, ("a.ttf",), start=start, end=end)


def test_curriculum_file_starts_plain_and_ends_diverse(tmp_path):
    train_fonts, _ = split_fonts(find_fonts(include_packages=True), ["DejaVu Sans"])
    ramp = StyleRamp(40, tuple(train_fonts), start=0.25, end=0.5, clean_fraction=0.0)
    label = render_dataset(
        tmp_path,
        40,
        seed=3,
        charset="0123456789abc",
        max_len=4,
        fonts=train_fonts,
        line_recipe=ramp,
        show_progress=False,
    )
    rows = [json.loads(line) for line in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert len(rows) == 40 and len(Path(label).read_text().splitlines()) == 40
    for row in rows[:10]:  # before START: plain lines in the built-in font
        assert row["font"] == BUILTIN_FONT and row["style"]["rotate_deg"] == 0 and row["style"]["text_luma"] == 0
    assert all(row["font"] in train_fonts for row in rows[20:])  # from END on: the training fonts, styled
    assert len({row["font"] for row in rows[20:]}) > 3
    again = tmp_path / "again"
    render_dataset(
        again, 40, seed=3, charset="0123456789abc", max_len=4, fonts=train_fonts, line_recipe=ramp, show_progress=False
    )
    assert (again / "labels.jsonl").read_text() == (tmp_path / "labels.jsonl").read_text()


@pytest.mark.parametrize("num", [500, 12000, 20000, 36000, 60000, 10**6])
def test_the_default_ramp_keeps_the_plain_lines_and_gives_the_rest_to_hard_lines(num):
    start, end = default_ramp(num)
    assert 0.1 <= start <= 0.3 and end == pytest.approx(start + RAMP_SHARE)
    # the plain part is PLAIN_LINES lines wherever the 10-30 % bounds allow it
    assert start * num == pytest.approx(min(0.3 * num, max(0.1 * num, PLAIN_LINES)), abs=1)
    assert default_ramp(12000) == (0.3, 0.7)  # the demo's default file: the ramp its seeds were run with
