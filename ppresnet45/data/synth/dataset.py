"""Render a folder of text lines with a PaddleOCR label file."""

import contextlib
import dataclasses
import json
import logging
import os
import tempfile

import cv2
import numpy as np
from tqdm import tqdm

from ...charset import DEFAULT_CHARACTERS
from ...errors import ConfigError, DataError
from ...utils.io import atomic_write_text
from ..label_file import read_label_texts
from .fonts import _check_coverage, family_slug, find_fonts, font_family, split_fonts
from .render import render_line
from .text import _charset_list, random_text

logger = logging.getLogger(__name__)

# Tries per line before giving up on finding a text that is new / not excluded.
_MAX_TEXT_TRIES = 1000


def _write_png(path, image):
    """Write a PNG through a temporary name + rename, so no reader sees half a file."""
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise DataError(f"cannot encode image for '{path}'")
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buf.tobytes())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def render_dataset(
    out_dir,
    num,
    seed=0,
    charset=DEFAULT_CHARACTERS,
    words=None,
    min_len=1,
    max_len=10,
    fonts=None,
    height=32,
    augment=True,
    label_file="labels.txt",
    image_subdir="images",
    exclude_texts=None,
    unique=False,
    show_progress=True,
    ranges=None,
    folder_per_family=False,
    line_recipe=None,
):
    """Render ``num`` text lines into ``out_dir`` with a PaddleOCR label file.

    Writes ``out_dir/<image_subdir>/000000.png ...`` and ``out_dir/<label_file>`` with
    lines ``images/000000.png<TAB>text``, plus ``<label_file stem>.jsonl`` with each line's
    font, font family and style. The label file is written last and atomically, so it
    only ever lists complete images. The same arguments and seed give byte-identical files.

    Args:
        out_dir (str): output folder (created if missing).
        num (int): number of lines.
        seed (int): seed of the ``np.random.Generator`` that drives everything.
        charset (str | list[str] | None): characters to draw texts from; with ``words``
            it filters the word list (words using other characters are dropped), and
            ``None`` keeps every word.
        words (list[str] | None): draw texts as words joined by spaces instead.
        min_len (int): shortest text in characters.
        max_len (int): longest text in characters.
        fonts (list[str] | None): font sources from :func:`find_fonts` (default: built-in).
        height (int): image height in pixels.
        augment (bool): random styles and distortions (see :func:`render_line`).
        label_file (str): label-file name inside ``out_dir``.
        image_subdir (str): image folder inside ``out_dir``.
        exclude_texts (set[str] | None): texts never to generate (e.g. a held-out set).
        unique (bool): never generate the same text twice.
        show_progress (bool): show a tqdm progress bar.
        ranges (StyleRanges | None): the style distribution when ``augment``.
        folder_per_family (bool): put each image under ``<image_subdir>/<font family>/``,
            so evaluation can report accuracy by font (the image's folder).
        line_recipe (Callable | None): ``line_recipe(index, rng) -> (fonts, augment)`` for
            line ``index``, overriding ``fonts`` / ``augment`` line by line (a curriculum
            whose style strength changes along the file; ``fonts`` None is the built-in
            font). ``fonts`` must still cover the charset (it is the coverage check's). A
            recipe with a ``max_len_at(index, max_len)`` method also caps line ``index``'s
            text length (a length curriculum).

    Returns:
        str: the label-file path.

    Raises:
        ConfigError: bad arguments, or too few distinct texts are possible.
        DataError: fonts are missing or cannot draw the charset/words.
    """
    if not isinstance(num, int) or isinstance(num, bool) or num < 1:
        raise ConfigError(f"num: expected a positive integer, got {num!r}")
    if not isinstance(min_len, int) or not isinstance(max_len, int) or min_len < 1 or max_len < min_len:
        raise ConfigError(
            f"min_len/max_len: expected integers with 1 <= min_len <= max_len, got {min_len!r}/{max_len!r}"
        )
    fonts = list(fonts) if fonts else find_fonts()
    chars = _charset_list(charset)
    if words is not None:
        words = [w for w in words if w and w.strip()]
        if chars is not None:
            allowed = set(chars)
            kept = [w for w in words if set(w) <= allowed | {" "}]
            if len(kept) < len(words):
                logger.warning(
                    "dropped %d of %d words that use characters outside the charset", len(words) - len(kept), len(words)
                )
            words = kept
        if not words:
            raise ConfigError("words: no word left that uses only characters of the charset")
        if any("\t" in w or "\n" in w or "\r" in w for w in words):
            raise ConfigError("words: a word contains a tab or newline (labels are one line, tab-separated)")
        _check_coverage("".join(sorted(set("".join(words)))), fonts, "words")
    else:
        if chars is None:
            chars = list(DEFAULT_CHARACTERS)
        _check_coverage(chars, fonts, "charset")
    exclude = set(exclude_texts or ())
    seen = set()

    out_dir = os.fspath(out_dir)
    image_dir = os.path.join(out_dir, image_subdir)
    os.makedirs(image_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    lines, records = [], []
    cap = getattr(line_recipe, "max_len_at", None)

    def line_max_len(index):
        return max(min_len, min(max_len, cap(index, max_len))) if cap is not None else max_len

    for i in tqdm(range(num), desc="synth", unit="line", disable=not show_progress):
        for _ in range(_MAX_TEXT_TRIES):
            text = random_text(rng, chars, min_len, line_max_len(i), words=words)
            if text in exclude or (unique and text in seen):
                continue
            break
        else:
            raise ConfigError(
                f"could only generate {len(lines)} of {num} lines: every new text was excluded or a repeat "
                f"(allow more texts: raise max_len, widen the charset/words, or drop unique/exclude)"
            )
        seen.add(text)
        image, style = _render_with_retries(text, rng, i, fonts, augment, line_recipe, height, ranges)
        family = font_family(style.font)
        folder = "/".join(p for p in (image_subdir, family_slug(family) if folder_per_family else "") if p)
        rel = f"{folder}/{i:06d}.png" if folder else f"{i:06d}.png"
        os.makedirs(os.path.join(out_dir, os.path.dirname(rel)), exist_ok=True)
        _write_png(os.path.join(out_dir, rel), image)
        lines.append(f"{rel}\t{text}\n")
        records.append(
            json.dumps(
                {"path": rel, "text": text, "font": style.font, "family": family, "style": _style_record(style)},
                ensure_ascii=False,
            )
            + "\n"
        )
    label_path = os.path.join(out_dir, label_file)
    atomic_write_text(os.path.join(out_dir, os.path.splitext(label_file)[0] + ".jsonl"), "".join(records))
    atomic_write_text(label_path, "".join(lines))
    return label_path


def _render_with_retries(text, rng, index, fonts, augment, line_recipe, height, ranges, tries=5):
    """``render_line`` of line ``index`` (its fonts and augment from ``line_recipe`` when given).

    A font that covers every character can still draw no ink for a text at a drawn size (a
    rare pairing among the many package fonts); the line is then drawn again with fresh
    choices from ``rng`` instead of ending a long render."""
    for attempt in range(tries):
        line_fonts, line_augment = line_recipe(index, rng) if line_recipe is not None else (fonts, augment)
        try:
            return render_line(
                text, rng, fonts=line_fonts, height=height, augment=line_augment, ranges=ranges, return_style=True
            )
        except DataError as exc:
            if attempt == tries - 1 or "drew nothing" not in str(exc):
                raise
            logger.info("line %d: %s; drawing it again", index, exc)
    raise AssertionError("unreachable")


def _style_record(style):
    record = dataclasses.asdict(style)
    record.pop("font")
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in record.items()}


def render_font_holdout(
    out_dir,
    num,
    num_holdout,
    fonts,
    holdout,
    seed=0,
    label_file="labels.txt",
    holdout_label_file="holdout.txt",
    exclude_texts=None,
    **kwargs,
):
    """Render a training set without the held-out font families and a held-out set drawn
    only with them, from strings that never occur in training.

    The held-out set goes to ``out_dir/holdout/<font family>/`` with ``holdout_label_file``
    (so evaluation can report accuracy per unseen font); the training set to
    ``out_dir/images/`` with ``label_file``.

    Args:
        out_dir (str): output folder.
        num (int): training lines.
        num_holdout (int): held-out lines.
        fonts (list[str]): every font source (:func:`.fonts.find_fonts`).
        holdout (list[str]): family names / patterns to hold out (:func:`.fonts.split_fonts`).
        seed (int): seed of the training set; the held-out set uses ``seed + 1``.
        label_file, holdout_label_file (str): label-file names inside ``out_dir``.
        exclude_texts (set[str] | None): texts neither set may contain.
        **kwargs: more :func:`render_dataset` arguments (charset, lengths, height, ...).

    Returns:
        tuple[str, str, list[str], list[str]]: training and held-out label files, training
        and held-out font sources.
    """
    train_fonts, held_fonts = split_fonts(fonts, holdout)
    kwargs.pop("image_subdir", None)
    held_path = render_dataset(
        out_dir,
        num_holdout,
        seed=seed + 1,
        fonts=held_fonts,
        label_file=holdout_label_file,
        image_subdir="holdout",
        folder_per_family=True,
        exclude_texts=exclude_texts,
        unique=True,
        **{k: v for k, v in kwargs.items() if k != "unique"},
    )
    exclude = set(exclude_texts or ()) | read_label_texts(held_path)
    train_path = render_dataset(
        out_dir,
        num,
        seed=seed,
        fonts=train_fonts,
        label_file=label_file,
        image_subdir="images",
        exclude_texts=exclude,
        **kwargs,
    )
    return train_path, held_path, train_fonts, held_fonts
