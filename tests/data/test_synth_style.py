"""The renderer's style distribution: documented ranges and probabilities are honoured, the
drawn image follows the style, font hold-out never leaks, a seed reproduces everything."""

import dataclasses
import json
import os

import numpy as np
import pytest

from ppresnet45.data.synth import (
    PACKAGE_FONTS,
    StyleRanges,
    find_fonts,
    font_family,
    package_fonts,
    render_font_holdout,
    render_line,
    sample_style,
    split_fonts,
)
from ppresnet45.errors import ConfigError, DataError

HELD_OUT = ["DejaVu*", "STIXGeneral", "Computer Modern"]


def _styles(n, ranges=None, seed=0):
    rng = np.random.default_rng(seed)
    return [sample_style(rng, "builtin", ranges) for _ in range(n)]


def test_every_probability_is_honoured_over_many_lines():
    r = StyleRanges()
    styles = _styles(1500)
    freq = {
        "tight_crop_prob": np.mean([s.tight_crop for s in styles]),
        "spacing_prob": np.mean([s.spacing != 0 for s in styles]),
        "bold_prob": np.mean([s.bold for s in styles]),
        "rotate_prob": np.mean([s.rotate_deg != 0 for s in styles]),
        "shear_prob": np.mean([s.shear != 0 for s in styles]),
        "perspective_prob": np.mean([s.perspective is not None for s in styles]),
        "dark_text_prob": np.mean([s.dark_text for s in styles]),
        "gradient_prob": np.mean([s.background == "gradient" for s in styles]),
        "texture_prob": np.mean([s.background == "texture" for s in styles]),
        "blur_prob": np.mean([s.blur_sigma != 0 for s in styles]),
        "rescale_prob": np.mean([s.rescale != 1.0 for s in styles]),
        "noise_prob": np.mean([s.noise_std != 0 for s in styles]),
        "jpeg_prob": np.mean([s.jpeg_quality != 0 for s in styles]),
        # each side is tight alone
        "tight_prob": np.mean([s.margin_left < r.margin[0] for s in styles]),
    }
    for name, seen in freq.items():
        assert abs(seen - getattr(r, name)) < 0.05, (name, seen, getattr(r, name))


def test_every_value_stays_in_its_documented_range():
    r = StyleRanges()
    for s in _styles(1500, seed=1):
        assert r.fill[0] <= s.fill <= r.fill[1] and r.v_offset[0] <= s.v_offset <= r.v_offset[1]
        for m in (s.margin_left, s.margin_right):
            assert r.tight_margin[0] <= m <= r.tight_margin[1] or r.margin[0] <= m <= r.margin[1]
        assert s.spacing == 0 or r.spacing[0] <= s.spacing <= r.spacing[1]
        assert abs(s.rotate_deg) <= r.rotate_deg and (s.shear == 0 or r.shear[0] <= s.shear <= r.shear[1])
        assert s.perspective is None or max(abs(v) for v in s.perspective) <= r.perspective
        assert r.contrast[0] - 1e-6 <= abs(s.bg_luma - s.text_luma) <= r.contrast[1] + 1e-6
        assert min(s.bg_luma, s.text_luma) >= 0 and max(s.bg_luma, s.text_luma) <= 255
        assert (s.bg_luma > s.text_luma) == s.dark_text
        assert r.ink_fade[0] <= s.ink_fade <= r.ink_fade[1]
        assert s.blur_sigma == 0 or r.blur_sigma[0] <= s.blur_sigma <= r.blur_sigma[1]
        assert s.rescale == 1.0 or r.rescale[0] <= s.rescale <= r.rescale[1]
        assert s.noise_std == 0 or r.noise_std[0] <= s.noise_std <= r.noise_std[1]
        assert s.jpeg_quality == 0 or r.jpeg_quality[0] <= s.jpeg_quality <= r.jpeg_quality[1]


# Clean lines (no geometry, noise, blur, low resolution, texture, crop): the ink box is measurable.
CLEAN = dict(
    rotate_prob=0,
    shear_prob=0,
    perspective_prob=0,
    blur_prob=0,
    noise_prob=0,
    jpeg_prob=0,
    rescale_prob=0,
    gradient_prob=0,
    texture_prob=0,
    tight_crop_prob=0,
    contrast=(200, 250),
    tint=(0, 0),
    ink_fade=(1, 1),
)


def test_the_drawn_image_follows_the_margins_and_fill_of_its_style():
    clean = StyleRanges(**CLEAN)
    rng = np.random.default_rng(3)
    height, checked = 48, 0
    for i in range(200):
        img, style = render_line("Hd" + "x" * (i % 5), rng, height=height, ranges=clean, return_style=True)
        grey = img.astype(np.float32).mean(axis=2)
        ink = np.abs(grey - style.bg_luma) > 0.5 * abs(style.bg_luma - style.text_luma)
        cols = np.flatnonzero(ink.any(axis=0))
        assert img.shape[0] == height and cols.size
        left, right = cols[0], img.shape[1] - 1 - cols[-1]
        assert abs(left - style.margin_left * height) <= 2.5, (i, left, style.margin_left * height)
        assert abs(right - style.margin_right * height) <= 2.5, (i, right, style.margin_right * height)
        rows = np.flatnonzero(ink.any(axis=1))
        # "Hd" spans cap height to baseline: a fixed share of the font box, so of the fill.
        assert (rows[-1] - rows[0] + 1) <= style.fill * height + 2
        checked += 1
    assert checked == 200


def test_tight_crops_have_ink_on_the_top_and_bottom_rows():
    tight = StyleRanges(**dict(CLEAN, tight_crop_prob=1.0))
    rng = np.random.default_rng(4)
    for _ in range(30):
        img, style = render_line("Hello", rng, height=32, ranges=tight, return_style=True)
        grey = img.astype(np.float32).mean(axis=2)
        ink = np.abs(grey - style.bg_luma) > 0.3 * abs(style.bg_luma - style.text_luma)
        assert ink[0].any() and ink[-1].any()


def test_bad_ranges_are_one_line_errors():
    with pytest.raises(ConfigError, match=r"StyleRanges.blur_prob: expected a probability"):
        StyleRanges(blur_prob=1.5)
    with pytest.raises(ConfigError, match=r"StyleRanges.fill: expected \(low, high\)"):
        StyleRanges(fill=(0.9, 0.5))


def test_package_fonts_come_from_the_installed_font_packages():
    found = package_fonts()
    names = {os.path.basename(f) for f in found}
    assert {"DejaVuSans.ttf", "DejaVuSerif.ttf", "STIXGeneral.ttf", "cmr10.ttf"} <= names  # matplotlib
    assert "Roboto-Regular.ttf" in names and "Lato-Regular.ttf" in names  # the fonts extra
    assert not any(n.startswith(("STIXSiz", "cmex", "cmsy", "LastResort")) for n in names)  # no symbol fonts
    families = {font_family(f) for f in found}
    assert len(families) >= 12 and "Computer Modern" in families
    assert {p[0] for p in PACKAGE_FONTS} >= {"matplotlib", "font_roboto"}


def test_split_fonts_holds_out_whole_families_and_names_unknown_ones():
    fonts = find_fonts(include_packages=True)
    train, held = split_fonts(fonts, HELD_OUT)
    held_families = {font_family(f) for f in held}
    assert held_families == {"DejaVu Sans", "DejaVu Sans Mono", "DejaVu Serif", "STIXGeneral", "Computer Modern"}
    assert not held_families & {font_family(f) for f in train}
    assert sorted(train + held) == sorted(fonts)
    with pytest.raises(DataError, match="'Comic Sans' matches no font; families:"):
        split_fonts(fonts, ["Comic Sans"])


def _jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_font_holdout_never_leaks_and_is_reproducible(tmp_path):
    fonts = find_fonts(include_packages=True)
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        _train, _held, _train_fonts, held_fonts = render_font_holdout(
            str(out), 60, 30, fonts, HELD_OUT, seed=5, charset="abc123", min_len=3, max_len=6, show_progress=False
        )
        runs.append(out)
    train_rows, held_rows = _jsonl(runs[0] / "labels.jsonl"), _jsonl(runs[0] / "holdout.jsonl")
    held_families = {font_family(f) for f in held_fonts}
    assert len(train_rows) == 60 and len(held_rows) == 30
    assert not {r["family"] for r in train_rows} & held_families
    assert {r["family"] for r in held_rows} <= held_families
    assert not {r["text"] for r in train_rows} & {r["text"] for r in held_rows}  # unseen strings too
    for r in held_rows:  # one folder per held-out font: evaluation groups by it
        assert r["path"].split("/")[1] == r["family"].lower().replace(" ", "_")
    for rel in ("labels.txt", "holdout.txt", "labels.jsonl", held_rows[0]["path"], train_rows[0]["path"]):
        assert (runs[0] / rel).read_bytes() == (runs[1] / rel).read_bytes()


def test_style_record_round_trips_through_the_jsonl(tmp_path):
    fonts = find_fonts(include_packages=True)
    render_font_holdout(str(tmp_path), 5, 2, fonts, HELD_OUT, seed=1, show_progress=False)
    row = _jsonl(tmp_path / "labels.jsonl")[0]
    from ppresnet45.data.synth import LineStyle

    expected = {f.name for f in dataclasses.fields(LineStyle)} - {"font"}
    assert set(row["style"]) == expected
