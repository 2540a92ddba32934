"""PaddleOCR label files: one ``image_path<TAB>text`` per line, read by one parser.

Training datasets, the LMDB converter, the synthetic renderer's hold-out lists and the
recognizer's accuracy all read label files through :func:`iter_label_lines`, so the rules are
the same everywhere: UTF-8 (a BOM is accepted), blank lines skipped, the line split at the
first delimiter (the text may contain it), a line without the delimiter or without a path
reported as malformed with its line number.
"""

import os
from dataclasses import dataclass

from ..errors import DataError

EXPECTED = "'image_path<TAB>text'"


@dataclass
class LabelLine:
    """One non-blank line of a label file.

    Attributes:
        lineno (int): 1-based line number.
        path (str): the image path as written (``""`` when malformed without a delimiter).
        text (str | None): the label; None when the line is malformed.
        error (str | None): why the line is malformed (``None`` when it is fine).
        raw (str): the line itself (undecodable bytes replaced).
    """

    lineno: int
    path: str
    text: object
    error: object
    raw: str


def iter_label_lines(path, delimiter="\t"):
    """Yield a :class:`LabelLine` per non-blank line of the label file ``path``.

    Raises:
        DataError: the file cannot be read.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise DataError(f"label file '{path}': cannot read ({exc.strerror or exc})") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    for lineno, line in enumerate(raw.split(b"\n"), 1):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            shown = line.decode("utf-8", "replace")
            yield LabelLine(lineno, shown, None, f"not UTF-8 text (byte {exc.start})", shown)
            continue
        if delimiter not in text:
            yield LabelLine(
                lineno, "", None, f"expected {EXPECTED.replace('<TAB>', _shown(delimiter))}, got {text[:60]!r}", text
            )
            continue
        image, label = text.split(delimiter, 1)
        if not image.strip():
            yield LabelLine(lineno, "", None, "empty image path before the delimiter", text)
            continue
        yield LabelLine(lineno, image, label, None, text)


def _shown(delimiter):
    return "<TAB>" if delimiter == "\t" else delimiter


def read_label_file(path, delimiter="\t", base_dir=None):
    """All ``(image paths, texts)`` of a label file; the first malformed line is an error.

    Args:
        path (str): the label file.
        delimiter (str): between path and text.
        base_dir (str | None): relative image paths are joined to this folder (default:
            the label file's folder); absolute paths stay as they are.

    Raises:
        DataError: ``<file>:<line>: <what is wrong>``, or the file has no entries.
    """
    base = os.path.abspath(base_dir if base_dir is not None else os.path.dirname(os.path.abspath(path)))
    paths, texts = [], []
    for line in iter_label_lines(path, delimiter):
        if line.error:
            raise DataError(f"{path}:{line.lineno}: {line.error}")
        image = line.path.strip()
        paths.append(image if os.path.isabs(image) else os.path.join(base, image))
        texts.append(line.text)
    if not paths:
        raise DataError(f"label file '{path}' has no {EXPECTED} lines")
    return paths, texts


def read_label_texts(path, delimiter="\t"):
    """The set of texts of a label file (for hold-out lists); a malformed line is an error."""
    texts = set()
    for line in iter_label_lines(path, delimiter):
        if line.error:
            raise DataError(f"{path}:{line.lineno}: {line.error}")
        texts.add(line.text)
    return texts
