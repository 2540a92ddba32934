"""A training file whose style strength ramps up along its lines: the demo's curriculum.

CTC on a ResNet45 leaves its blank plateau (every frame predicts blank, loss ~20 on these
lines) within ~100 steps on plain black-on-white lines, but stayed on it for 300+ steps on
the diverse lines alone. The earlier two-stage recipe trained on plain lines first and then
restarted training on the diverse ones from the first stage's weights; the restart (a fresh
Adam state and the learning rate back at its peak) threw the model back onto the plateau,
and whether it left it again depended on the CPU's floating-point details.

:class:`StyleRamp` makes one file instead, read in order (``Train.loader.shuffle: false``)
by one run with one continuous schedule: line ``i`` of ``num`` is "hard" (the diverse
distribution: the training fonts, ``clean_fraction`` of them plain, the rest styled) with
probability ``strength(i / num)``, which is 0 up to ``start``, rises linearly to 1 at
``end`` and stays 1; otherwise it is "easy" (plain, Pillow's built-in font). With
``short_len`` the first lines are also short: the longest text allowed rises from
``short_len`` characters at the start of the file to the full length at ``start`` (a length
curriculum; off by default: in the demo's short runs it did not make the 32x128 model leave
the plateau sooner). Nothing restarts: the model moves from easy to hard lines while the
optimizer keeps its state.
"""

import dataclasses

from ...errors import ConfigError

PLAIN_LINES = 3600  # 225 steps of 16: the slowest escape from the plateau seen was ~170 steps
RAMP_SHARE = 0.4  # the ramp from the first hard line to all hard, as a share of the file


def default_ramp(num):
    """``(start, end)`` for a file of ``num`` lines: the plain part is :data:`PLAIN_LINES` lines
    (a margin over the escape, which does not grow with the file), at least 10 % and at most
    30 % of the file, then the ramp over :data:`RAMP_SHARE` of it. 12000 lines: 0.3, 0.7;
    60000: 0.1, 0.5 (more of a longer run goes to the hard lines)."""
    start = min(0.3, max(0.1, PLAIN_LINES / max(num, 1)))
    return round(start, 4), round(start + RAMP_SHARE, 4)


@dataclasses.dataclass(frozen=True)
class StyleRamp:
    """``line_recipe`` of :func:`.dataset.render_dataset` for a curriculum file.

    Attributes:
        num (int): lines in the file.
        fonts (list[str]): the hard lines' fonts (the training fonts).
        start (float): fraction of the file that is all easy lines.
        end (float): fraction of the file from which every line is hard (``start <= end <= 1``).
        clean_fraction (float): share of hard lines drawn plain (in the training fonts).
        short_len (int | None): the longest text of the file's first line; the cap rises
            linearly to the full length at ``start`` (None: no length curriculum).
    """

    num: int
    fonts: tuple
    start: float = 0.3
    end: float = 0.7
    clean_fraction: float = 0.25
    short_len: object = None

    def __post_init__(self):
        if not 0.0 <= self.start <= self.end <= 1.0:
            raise ConfigError(f"style ramp: expected 0 <= start <= end <= 1, got start {self.start}, end {self.end}")
        if self.short_len is not None and (
            isinstance(self.short_len, bool) or not isinstance(self.short_len, int) or self.short_len < 1
        ):
            raise ConfigError(f"style ramp: short_len must be a positive int or None, got {self.short_len!r}")
        if not 0.0 <= self.clean_fraction <= 1.0:
            raise ConfigError(f"style ramp: clean_fraction must be in [0, 1], got {self.clean_fraction}")

    def strength(self, fraction):
        """Probability that the line at ``fraction`` (0..1) of the file is hard."""
        if fraction >= self.end:
            return 1.0
        if fraction < self.start:
            return 0.0
        return (fraction - self.start) / max(self.end - self.start, 1e-9)

    def max_len_at(self, index, max_len):
        """The longest text allowed for line ``index`` when the file's longest is ``max_len``."""
        fraction = index / max(self.num, 1)
        if self.short_len is None or fraction >= self.start or self.short_len >= max_len:
            return max_len
        return int(self.short_len + (max_len - self.short_len) * fraction / self.start)

    def __call__(self, index, rng):
        """``(fonts, augment)`` of line ``index`` (two draws from ``rng`` per line)."""
        hard = rng.random() < self.strength(index / max(self.num, 1))
        styled = rng.random() >= self.clean_fraction
        if hard:
            return list(self.fonts), styled
        return None, False

    def settings(self):
        """What decides the file's content besides the seed (for a render stamp)."""
        return {"ramp": [self.start, self.end], "clean_fraction": self.clean_fraction, "short_len": self.short_len}
