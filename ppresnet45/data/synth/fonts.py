"""Fonts for the renderer: Pillow's built-in scalable font, the fonts that pip-installed
packages carry, the user's TTF/OTF/TTC files; font families (for hold-out splits),
glyph-coverage checks, and metrics that size text to the line height."""

import fnmatch
import functools
import importlib.util
import os
import re
import unicodedata

from ...errors import DataError

BUILTIN_FONT = "builtin"
FONT_EXTENSIONS = (".ttf", ".otf", ".ttc")

# A code point no real font maps (plane-16 private use): its mask is the font's .notdef glyph.
_UNMAPPED_CODEPOINT = "\U0010fffd"
_COVERAGE_SIZE = 24
_METRIC_SIZE = 64

# Fonts that pip packages carry: (package, folder inside it, file patterns, licence). The
# ``font-*`` packages are installed by ``pip install 'ppresnet45[fonts]'``; matplotlib
# by the ``plot`` extra. Only files that draw Latin text are listed (matplotlib's math
# symbol fonts are not).
PACKAGE_FONTS = (
    (
        "matplotlib",
        "mpl-data/fonts/ttf",
        (
            "DejaVuSans.ttf",
            "DejaVuSans-*.ttf",
            "DejaVuSansMono*.ttf",
            "DejaVuSerif.ttf",
            "DejaVuSerif-*.ttf",
            "STIXGeneral*.ttf",
            "cmr10.ttf",
            "cmb10.ttf",
            "cmss10.ttf",
            "cmtt10.ttf",
            "cmti10.ttf",
        ),
        "DejaVu: Bitstream Vera licence; STIX: OFL-1.1; Computer Modern (BaKoMa): free redistribution",
    ),
    ("font_roboto", "files", ("*.ttf",), "Apache-2.0"),
    ("font_lato", "files", ("*.ttf",), "OFL-1.1"),
    ("font_source_sans_pro", "files", ("*.ttf",), "OFL-1.1"),
    ("font_source_serif_pro", "files", ("*.ttf",), "OFL-1.1"),
    ("font_caladea", "files", ("*.ttf",), "Apache-2.0"),
    ("font_hanken_grotesk", "files", ("*.otf", "*.ttf"), "OFL-1.1"),
    ("font_manrope", "files", ("Manrope-[A-Z]*[a-z].ttf",), "OFL-1.1"),
    ("font_rhd", "files", ("*.ttf",), "MIT"),
    ("font_fredoka_one", "files", ("*.ttf",), "OFL-1.1"),
    ("font_amatic_sc", "files", ("*.ttf",), "OFL-1.1"),
    ("font_intuitive", "files", ("*.ttf",), "OFL-1.1"),
)


# The families the demo recipe keeps out of training: the fonts other people's renderers use
# most (DejaVu is matplotlib's and many Linux systems' default, STIX and Computer Modern are
# the TeX-style faces).
DEFAULT_FONTS_HOLDOUT = ("DejaVu*", "STIXGeneral", "Computer Modern")


def package_fonts():
    """Font files carried by the installed packages of :data:`PACKAGE_FONTS` (sorted; packages
    that are not installed are left out). Packages are located, not imported."""
    found = []
    for package, folder, patterns, _ in PACKAGE_FONTS:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        base = os.path.join(next(iter(spec.submodule_search_locations)), folder)
        if not os.path.isdir(base):
            continue
        names = sorted(n for n in os.listdir(base) if any(fnmatch.fnmatchcase(n, p) for p in patterns))
        found.extend(os.path.join(base, n) for n in names)
    return found


def find_fonts(paths=None, include_builtin=True, include_packages=False):
    """List the font sources to render with.

    Args:
        paths (str | list[str] | None): font files and/or folders; folders are searched
            recursively for ``.ttf``/``.otf``/``.ttc`` files.
        include_builtin (bool): start the list with ``"builtin"`` (Pillow's scalable font).
        include_packages (bool): add :func:`package_fonts`.

    Returns:
        list[str]: ``"builtin"`` (when included) followed by font file paths, in a stable
        (sorted) order so that a seed picks the same fonts on every run.

    Raises:
        DataError: a path does not exist, a folder holds no font file, or a file is not a
            font FreeType can load.
    """
    if paths is None:
        paths = []
    elif isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    sources = [BUILTIN_FONT] if include_builtin else []
    paths = list(paths) + (package_fonts() if include_packages else [])
    for raw in paths:
        path = os.fspath(raw)
        if path == BUILTIN_FONT:
            if BUILTIN_FONT not in sources:
                sources.append(BUILTIN_FONT)
            continue
        if os.path.isdir(path):
            found = []
            for root, dirs, files in os.walk(path):
                dirs.sort()
                found.extend(os.path.join(root, f) for f in sorted(files) if f.lower().endswith(FONT_EXTENSIONS))
            if not found:
                raise DataError(f"font folder '{path}' holds no {'/'.join(FONT_EXTENSIONS)} files")
        elif os.path.isfile(path):
            found = [path]
        else:
            raise DataError(f"font path '{path}' not found (expected a .ttf/.otf file or a folder of them)")
        for font_path in found:
            _load_font(font_path, _COVERAGE_SIZE)  # fail now, naming the file, not mid-dataset
            if font_path not in sources:
                sources.append(font_path)
    if not sources:
        raise DataError("no fonts: pass font files/folders or keep the built-in font")
    return sources


@functools.lru_cache(maxsize=512)
def _load_font(source, size):
    from PIL import ImageFont

    if source == BUILTIN_FONT:
        try:
            font = ImageFont.load_default(size=size)
        except TypeError:  # Pillow < 10.1 has no sized default font
            font = None
        if not isinstance(font, ImageFont.FreeTypeFont):
            raise DataError(
                "Pillow's built-in scalable font needs Pillow >= 10.1 built with FreeType; "
                "upgrade Pillow or pass font files with --fonts"
            )
        return font
    try:
        return ImageFont.truetype(source, size)
    except OSError as exc:
        raise DataError(
            f"font file '{source}' cannot be loaded by FreeType ({exc}); expected a TTF/OTF/TTC font"
        ) from exc


@functools.lru_cache(maxsize=64)
def _box_ratio(source):
    """(ascender + descender) / font size: how tall a line box the font draws per size unit."""
    ascent, descent = _load_font(source, _METRIC_SIZE).getmetrics()
    return max(0.5, (ascent + descent) / float(_METRIC_SIZE))


@functools.lru_cache(maxsize=64)
def _notdef_mask(source):
    mask = _load_font(source, _COVERAGE_SIZE).getmask(_UNMAPPED_CODEPOINT)
    return mask.size, bytes(mask)


@functools.lru_cache(maxsize=200000)
def font_supports_char(source, ch):
    """Whether font ``source`` has a glyph for ``ch`` (it does not draw its .notdef box).

    Args:
        source (str): ``"builtin"`` or a font file path.
        ch (str): one character (dictionary entry).
    """
    if ch.isspace():
        return True
    mask = _load_font(source, _COVERAGE_SIZE).getmask(ch)
    if mask.size[0] == 0 or mask.size[1] == 0:
        # An empty drawing for a printable character means the glyph is missing, unless
        # it is a format/combining character that legitimately draws nothing alone.
        return unicodedata.category(ch[:1]) in ("Cf", "Mn", "Me")
    return (mask.size, bytes(mask)) != _notdef_mask(source)


def fonts_for_text(text, fonts):
    """The fonts of ``fonts`` that have a glyph for every character of ``text``."""
    chars = set(text)
    return [f for f in fonts if all(font_supports_char(f, c) for c in chars)]


def _check_coverage(chars, fonts, what):
    missing = [c for c in dict.fromkeys(chars) if not any(font_supports_char(f, c) for f in fonts)]
    if missing:
        shown = ", ".join(f"{c!r} (U+{ord(c[0]):04X})" for c in missing[:8])
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        raise DataError(
            f"{what}: no font can draw {shown}{more}; fonts tried: {', '.join(fonts)} "
            "(pass --fonts with a font covering these characters, or drop them)"
        )


@functools.lru_cache(maxsize=1024)
def font_family(source):
    """The family name of a font source (``"DejaVu Serif"`` for every DejaVu Serif style;
    Computer Modern's cm*10 files are one family ``"Computer Modern"``)."""
    font = _load_font(source, _COVERAGE_SIZE)
    family = font.getname()[0] or os.path.splitext(os.path.basename(source))[0]
    if re.fullmatch(r"cm[a-z]{1,3}10", family):
        return "Computer Modern"
    return family


def family_slug(family):
    """A folder name for a family: ``"DejaVu Serif"`` -> ``"dejavu_serif"``."""
    return re.sub(r"[^a-z0-9]+", "_", family.lower()).strip("_") or "font"


def split_fonts(fonts, holdout):
    """Split ``fonts`` into ``(training fonts, held-out fonts)`` by family.

    Args:
        fonts (list[str]): font sources (:func:`find_fonts`).
        holdout (list[str]): family names (case-insensitive, ``*`` wildcards allowed) or
            font file names to keep out of training; every style of a held-out family is
            held out, so no bold or italic variant leaks into training.

    Raises:
        DataError: a hold-out name matches no font, or nothing is left for training.
    """
    held, used = [], set()
    for source in fonts:
        family = font_family(source).lower()
        name = os.path.basename(source).lower()
        for pattern in holdout:
            p = pattern.lower()
            if fnmatch.fnmatchcase(family, p) or fnmatch.fnmatchcase(name, p):
                held.append(source)
                used.add(pattern)
                break
    unused = [p for p in holdout if p not in used]
    if unused:
        families = sorted({font_family(f) for f in fonts})
        raise DataError(
            f"--fonts_holdout: {', '.join(repr(u) for u in unused)} matches no font; families: {', '.join(families)}"
        )
    train = [f for f in fonts if f not in held]
    if not train:
        raise DataError("--fonts_holdout: every font is held out; nothing is left to train on")
    return train, held
