"""Render a folder of text lines with a PaddleOCR label file."""

import logging
import os
import tempfile

import cv2
import numpy as np
from tqdm import tqdm

from ...charset import DEFAULT_CHARACTERS
from ...errors import ConfigError, DataError
from ...utils.io import atomic_write_text
from .fonts import _check_coverage, find_fonts
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
        try:
            os.unlink(tmp)
        except OSError:
            pass
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
):
    """Render ``num`` text lines into ``out_dir`` with a PaddleOCR label file.

    Writes ``out_dir/<image_subdir>/000000.png ...`` and ``out_dir/<label_file>`` with
    lines ``images/000000.png<TAB>text``. The label file is written last and atomically,
    so it only ever lists complete images. The same arguments and seed give
    byte-identical files.

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

    Returns:
        str: the label-file path.

    Raises:
        ConfigError: bad arguments, or too few distinct texts are possible.
        DataError: fonts are missing or cannot draw the charset/words.
    """
    if not isinstance(num, int) or isinstance(num, bool) or num < 1:
        raise ConfigError(f"num: expected a positive integer, got {num!r}")
    if not isinstance(min_len, int) or not isinstance(max_len, int) or min_len < 1 or max_len < min_len:
        raise ConfigError(f"min_len/max_len: expected integers with 1 <= min_len <= max_len, got {min_len!r}/{max_len!r}")
    fonts = list(fonts) if fonts else find_fonts()
    chars = _charset_list(charset)
    if words is not None:
        words = [w for w in words if w and w.strip()]
        if chars is not None:
            allowed = set(chars)
            kept = [w for w in words if set(w) <= allowed | {" "}]
            if len(kept) < len(words):
                logger.warning("dropped %d of %d words that use characters outside the charset", len(words) - len(kept), len(words))
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
    lines = []
    for i in tqdm(range(num), desc="synth", unit="line", disable=not show_progress):
        for _ in range(_MAX_TEXT_TRIES):
            text = random_text(rng, chars, min_len, max_len, words=words)
            if text in exclude or (unique and text in seen):
                continue
            break
        else:
            raise ConfigError(
                f"could only generate {len(lines)} of {num} lines: every new text was excluded or a repeat "
                f"(allow more texts: raise max_len, widen the charset/words, or drop unique/exclude)"
            )
        seen.add(text)
        image = render_line(text, rng, fonts=fonts, height=height, augment=augment)
        rel = f"{image_subdir}/{i:06d}.png" if image_subdir else f"{i:06d}.png"
        _write_png(os.path.join(out_dir, rel), image)
        lines.append(f"{rel}\t{text}\n")
    label_path = os.path.join(out_dir, label_file)
    atomic_write_text(label_path, "".join(lines))
    return label_path
