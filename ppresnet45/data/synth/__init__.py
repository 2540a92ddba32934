"""Synthetic text-line renderer: the built-in data source for the demo, benchmarks and tests.

Lines of random text (from a charset or a word list) are drawn with Pillow's FreeType
fonts -- Pillow's built-in scalable font, the fonts pip-installed packages carry
(:data:`.fonts.PACKAGE_FONTS`: DejaVu, STIX and Computer Modern from matplotlib, Roboto,
Lato, Source Sans/Serif Pro and more from the ``fonts`` extra) and any TTF/OTF/TTC files
the user passes -- so no network and no system fonts are needed. Each line draws its font
and a style (:class:`.style.StyleRanges`: size, glyph spacing, margins on every side,
vertical offset, tight crops, weight, colours and background, rotation, shear,
perspective, blur, low resolution, noise, JPEG artefacts). Every random choice comes from
the ``np.random.Generator`` that is passed in, so a seed reproduces byte-identical PNGs
and label file. :func:`.dataset.render_font_holdout` keeps whole font families out of a
training set and renders a held-out set only with them.

Output follows PaddleOCR's label format: ``images/000000.png<TAB>text`` per line, UTF-8.
"""

from ...charset import DEFAULT_CHARACTERS
from ..label_file import read_label_texts
from .curriculum import StyleRamp, default_ramp
from .dataset import render_dataset, render_font_holdout
from .fonts import (
    BUILTIN_FONT,
    DEFAULT_FONTS_HOLDOUT,
    FONT_EXTENSIONS,
    PACKAGE_FONTS,
    find_fonts,
    font_family,
    font_supports_char,
    fonts_for_text,
    package_fonts,
    split_fonts,
)
from .render import draw_line, render_line
from .style import LineStyle, StyleRanges, plain_style, sample_style
from .text import random_text, read_word_list

__all__ = [
    "BUILTIN_FONT",
    "DEFAULT_CHARACTERS",
    "DEFAULT_FONTS_HOLDOUT",
    "FONT_EXTENSIONS",
    "PACKAGE_FONTS",
    "LineStyle",
    "StyleRamp",
    "StyleRanges",
    "default_ramp",
    "draw_line",
    "find_fonts",
    "font_family",
    "font_supports_char",
    "fonts_for_text",
    "package_fonts",
    "plain_style",
    "random_text",
    "read_label_texts",
    "read_word_list",
    "render_dataset",
    "render_font_holdout",
    "render_line",
    "sample_style",
    "split_fonts",
]
