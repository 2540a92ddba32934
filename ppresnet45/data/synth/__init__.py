"""Synthetic text-line renderer: the built-in data source for the demo, benchmarks and tests.

Lines of random text (from a charset or a word list) are drawn with Pillow's FreeType
fonts -- Pillow's built-in scalable font (Pillow >= 10.1) plus any TTF/OTF/TTC files the
user passes -- so no network and no system fonts are needed. Each line gets a random
font size (the font's ascender-to-descender box fills 60-85% of the line height),
character spacing, stroke weight, text and background colour (flat, gradient or a soft
noise texture), a small rotation, shear and perspective warp, blur, noise and JPEG
artefacts, all mild enough that the text stays legible. Every random choice comes from
the ``np.random.Generator`` that is passed in, so a seed reproduces byte-identical PNGs
and label file.

Output follows PaddleOCR's label format: ``images/000000.png<TAB>text`` per line, UTF-8.
"""

from ...charset import DEFAULT_CHARACTERS
from ..label_file import read_label_texts
from .dataset import render_dataset
from .fonts import BUILTIN_FONT, FONT_EXTENSIONS, find_fonts, font_supports_char, fonts_for_text
from .render import render_line
from .text import random_text, read_word_list

__all__ = ["BUILTIN_FONT", "FONT_EXTENSIONS", "DEFAULT_CHARACTERS", "find_fonts", "font_supports_char",
           "fonts_for_text", "random_text", "read_word_list", "render_line", "render_dataset", "read_label_texts"]
