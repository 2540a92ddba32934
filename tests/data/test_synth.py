"""Tests of the synthetic text-line renderer (ppresnet45.data.synth) and `ppresnet45 synth`."""

import os
import shutil

import cv2
import numpy as np
import pytest

from ppresnet45.cli import main
from ppresnet45.data.synth import (
    find_fonts,
    random_text,
    read_label_texts,
    render_dataset,
    render_line,
)
from ppresnet45.errors import ConfigError, DataError


def _read_labels(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t", 1) for line in f]


def _dir_bytes(folder):
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, folder)] = f.read()
    return out


def _a_font_file(tmp_path):
    """A real font file: Pillow's bundled .ttf if it ships one, else its built-in font's bytes."""
    import PIL
    from PIL import ImageFont

    pil_dir = os.path.dirname(PIL.__file__)
    for root, _, files in os.walk(pil_dir):
        for name in sorted(files):
            if name.lower().endswith((".ttf", ".otf")):
                dst = tmp_path / name
                shutil.copy(os.path.join(root, name), dst)
                return dst
    try:
        font = ImageFont.load_default(size=20)
    except TypeError:
        font = None
    data = getattr(font, "font_bytes", None)
    if not data:
        pytest.skip("Pillow ships no .ttf file and its built-in font exposes no font bytes to copy")
    dst = tmp_path / "builtin_copy.ttf"
    dst.write_bytes(data)
    return dst


def test_same_seed_gives_byte_identical_files_and_other_seed_differs(tmp_path):
    a = render_dataset(tmp_path / "a", 12, seed=7, show_progress=False)
    b = render_dataset(tmp_path / "b", 12, seed=7, show_progress=False)
    c = render_dataset(tmp_path / "c", 12, seed=8, show_progress=False)
    files_a, files_b, files_c = (_dir_bytes(os.path.dirname(p)) for p in (a, b, c))
    assert len(files_a) == 14  # 12 images + labels.txt + labels.jsonl (font and style per line)
    assert files_a == files_b
    assert files_a["labels.txt"] != files_c["labels.txt"]
    assert any(files_a[k] != files_c[k] for k in files_a if k.endswith(".png"))


def test_label_file_lists_existing_images_that_decode_to_32px_bgr(tmp_path):
    label_path = render_dataset(tmp_path, 10, seed=1, min_len=2, max_len=6, show_progress=False)
    assert label_path == os.path.join(str(tmp_path), "labels.txt")
    rows = _read_labels(label_path)
    assert [r[0] for r in rows] == [f"images/{i:06d}.png" for i in range(10)]
    for rel, text in rows:
        assert 2 <= len(text) <= 6 and set(text) <= set("0123456789abcdefghijklmnopqrstuvwxyz")
        img = cv2.imread(str(tmp_path / rel), cv2.IMREAD_UNCHANGED)
        assert img is not None and img.ndim == 3 and img.shape[0] == 32 and img.shape[2] == 3


def test_render_line_has_exact_height_and_width_that_follows_text():
    for augment in (False, True):
        short = render_line("ab", np.random.default_rng(0), height=48, augment=augment)
        long = render_line("abcdefghijklmnop", np.random.default_rng(0), height=48, augment=augment)
        assert short.dtype == np.uint8 and short.shape[0] == 48 and short.shape[2] == 3
        assert long.shape[0] == 48 and long.shape[1] > 3 * short.shape[1]


def test_plain_render_is_dark_text_on_white():
    img = render_line("hello", np.random.default_rng(0), augment=False)
    assert img[0, 0].tolist() == [255, 255, 255]
    assert img.min() < 60  # solid ink strokes


def test_exclude_texts_and_unique_are_respected(tmp_path):
    label_path = render_dataset(
        tmp_path,
        3,
        seed=0,
        charset="ab",
        min_len=2,
        max_len=2,
        exclude_texts={"aa"},
        unique=True,
        show_progress=False,
    )
    assert sorted(t for _, t in _read_labels(label_path)) == ["ab", "ba", "bb"]
    with pytest.raises(ConfigError, match="could only generate 3 of 4"):
        render_dataset(
            tmp_path / "x",
            4,
            charset="ab",
            min_len=2,
            max_len=2,
            exclude_texts={"aa"},
            unique=True,
            show_progress=False,
        )


def test_random_text_keeps_lengths_and_never_puts_spaces_at_edges():
    rng = np.random.default_rng(3)
    for _ in range(200):
        text = random_text(rng, "a b", 1, 5)
        assert 1 <= len(text) <= 5
        assert text == text.strip() and "  " not in text
    words = ["cat", "dog", "mouse"]
    for _ in range(50):
        text = random_text(rng, None, 3, 12, words=words)
        assert 3 <= len(text) <= 12 and all(w in words for w in text.split(" "))


def test_user_font_folder_is_accepted(tmp_path):
    font_dir = tmp_path / "fonts" / "nested"
    font_dir.mkdir(parents=True)
    font_file = _a_font_file(font_dir)
    fonts = find_fonts([str(tmp_path / "fonts")])
    assert fonts == ["builtin", str(font_file)]
    only_user = find_fonts([str(font_file)], include_builtin=False)
    img = render_line("font42", np.random.default_rng(0), fonts=only_user)
    assert img.shape[0] == 32
    label_path = render_dataset(tmp_path / "out", 4, fonts=fonts, show_progress=False)
    assert len(_read_labels(label_path)) == 4


def test_missing_font_path_raises_data_error_naming_it(tmp_path):
    missing = str(tmp_path / "no_such_fonts")
    with pytest.raises(DataError, match="no_such_fonts"):
        find_fonts([missing])


def test_character_no_font_can_draw_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="U\\+4E2D"):
        render_dataset(tmp_path, 2, charset="a\u4e2d", show_progress=False)


def test_cli_synth_writes_images_labels_and_meta(tmp_path, capsys):
    out = tmp_path / "cli"
    dict_path = tmp_path / "dict.txt"
    dict_path.write_text("x\ny\nz\n", encoding="utf-8")
    held_out = tmp_path / "held_out.txt"
    held_out.write_text("images/0.png\tx\n", encoding="utf-8")
    rc = main(
        [
            "synth",
            "--output_dir",
            str(out),
            "--num",
            "5",
            "--seed",
            "3",
            "--dict",
            str(dict_path),
            "--max_len",
            "1",
            "--exclude_label_file",
            str(held_out),
            "--no_progress",
        ]
    )
    assert rc == 0
    assert str(out / "labels.txt") in capsys.readouterr().out
    rows = _read_labels(out / "labels.txt")
    assert len(rows) == 5 and {t for _, t in rows} <= {"y", "z"}
    assert all((out / rel).is_file() for rel, _ in rows)
    assert (out / "synth_meta.json").is_file()
    assert read_label_texts(out / "labels.txt") == {t for _, t in rows}


def test_cli_bad_dict_path_returns_exit_code_2(tmp_path, capsys):
    rc = main(["synth", "--output_dir", str(tmp_path / "o"), "--num", "2", "--dict", str(tmp_path / "missing.txt")])
    assert rc == 2
    assert "missing.txt" in capsys.readouterr().err
