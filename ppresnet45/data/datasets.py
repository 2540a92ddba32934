"""Text-recognition datasets: PaddleOCR label files (``SimpleDataSet``) and LMDB (``LMDBDataSet``).

Both share :class:`RecDataSet`, which

* pre-scans every label once at init with the label encoder of the transform list
  (empty, too long, unknown characters, malformed lines) and excludes unusable entries,
  so they cost nothing later and never reach a batch;
* draws each epoch's entries from every source (label file / LMDB environment) by its
  ``ratio_list`` ratio, deterministically from (seed, epoch);
* loads a sample for a key ``(entry, epoch, position)`` with a per-sample random generator
  seeded by (seed, epoch, position) for augmentation, and replaces a sample that fails at
  load time (missing or undecodable image, a transform error) by the next entry, then by
  seeded random picks — so the result does not depend on worker count or resume point.

:meth:`RecDataSet.load` returns the sample together with a vector of skip counts (one per
:data:`~ppresnet45.data.transforms.SKIP_REASONS`) that travels with the batch out of the
worker processes; the loader sums them per epoch.
"""

import logging
import os

import numpy as np
import paddle
from tqdm import tqdm

from ..errors import ConfigError, DataError, PPResNetError
from ..registry import DATASETS
from .label_file import iter_label_lines
from .transforms import SKIP_REASONS, SkipSample, apply_transforms, build_transforms

logger = logging.getLogger(__name__)

REASON_INDEX = {r: i for i, r in enumerate(SKIP_REASONS)}
_VALID = -1  # reason code of a usable entry
_LOG_FIRST_SKIPS = 10  # per process and dataset: log this many skipped samples in detail
_MAX_ATTEMPTS = 50  # failed loads in a row before a sample slot gives up with an error


def _as_list(value, key):
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [value]
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if not isinstance(item, (str, os.PathLike)):
                raise ConfigError(f"{key}[{i}]: expected a path (string), got {type(item).__name__} {item!r}")
        return list(value)
    raise ConfigError(f"{key}: expected a path or a list of paths, got {type(value).__name__} {value!r}")


def _as_path(value, key):
    """A path argument as a string; anything but a str / PathLike is a ConfigError naming ``key``."""
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigError(f"{key}: expected a folder path (string), got {type(value).__name__} {value!r}")
    return os.fspath(value)


# Beyond this a sampling ratio is a typo (10**12 would draw 10**12 entry ids per epoch).
MAX_RATIO = 1000.0


def _ratios(ratio_list, n_sources, key):
    """Per-source sampling ratios; a single number applies to every source."""
    if ratio_list is None:
        return [1.0] * n_sources
    if isinstance(ratio_list, (int, float)) and not isinstance(ratio_list, bool):
        ratio_list = [ratio_list] * n_sources
    if not isinstance(ratio_list, (list, tuple)) or len(ratio_list) != n_sources:
        raise ConfigError(f"{key}: expected one ratio per source ({n_sources}), got {ratio_list!r}")
    out = []
    for i, r in enumerate(ratio_list):
        if not isinstance(r, (int, float)) or isinstance(r, bool) or not 0 <= r <= MAX_RATIO:
            raise ConfigError(
                f"{key}[{i}]: expected a number in [0, {MAX_RATIO:g}] (1: every entry once per epoch), got {r!r}"
            )
        out.append(float(r))
    return out


class RecDataSet(paddle.io.Dataset):
    """Base class: sources of (image, label) entries, label pre-scan, per-epoch sampling,
    and fault-tolerant loading. Subclasses fill the entries in ``__init__`` and implement
    :meth:`_read`.

    Args:
        transforms (list | None): the ``transforms`` config list (see
            :func:`~ppresnet45.data.transforms.build_transforms`).
        ratio_list (float | list[float] | None): sampling ratio per source per epoch;
            ``0.5`` takes a seeded half of that source each epoch, ``2.0`` takes it twice.
        global_config (dict | None): the config's ``Global`` section.
        seed (int): seed of epoch sampling and augmentation.
    """

    def __init__(self, transforms=None, ratio_list=None, global_config=None, seed=0):
        self.global_config = dict(global_config or {})
        self.seed = int(seed)
        self.ops = build_transforms(transforms, self.global_config, key=f"{type(self).__name__}.transforms")
        self._ratio_list_cfg = ratio_list
        self._epoch_cache = (None, None)
        self._skips_logged = 0

    # -- filled by subclasses -------------------------------------------------------
    def _read(self, entry):
        """Return ``(encoded image bytes, label text, description for messages)`` for an
        entry; raise :class:`SkipSample` ("missing_image") when the image is absent."""
        raise NotImplementedError

    # -- shared machinery -------------------------------------------------------------
    def _finish_init(self, source_names, source_sizes, labels, label_reasons=None):
        """Pre-scan the labels and build the entry tables.

        Args:
            source_names (list[str]): one name per source (for messages).
            source_sizes (list[int]): entries per source, in entry order.
            labels (Iterable[str | None]): label text per entry (``None``: malformed).
            label_reasons (list | None): a known reason per entry (or ``None``).
        """
        self.sources = list(source_names)
        self.ratios = _ratios(self._ratio_list_cfg, len(self.sources), f"{type(self).__name__}.ratio_list")
        n = int(sum(source_sizes))
        self.source_bounds = np.concatenate([[0], np.cumsum(source_sizes)]).astype(np.int64)
        checker = next((op.check_label for op in self.ops if hasattr(op, "check_label")), None)
        reasons = np.full(n, _VALID, dtype=np.int8)
        it = (
            labels
            if n < 200000
            else tqdm(labels, total=n, desc=f"{type(self).__name__}: checking labels", unit="label")
        )
        for i, text in enumerate(it):
            reason = label_reasons[i] if label_reasons is not None else None
            if reason is None and text is None:
                reason = "malformed_label"
            if reason is None and checker is not None:
                reason = checker(text)
            if reason is not None:
                reasons[i] = REASON_INDEX[reason]
        self.entry_reasons = reasons
        self.valid_ids = np.flatnonzero(reasons == _VALID).astype(np.int64)
        self.prescan_counts = {r: int(np.sum(reasons == i)) for i, r in enumerate(SKIP_REASONS) if np.any(reasons == i)}
        self._valid_by_source = [
            self.valid_ids[(self.valid_ids >= lo) & (self.valid_ids < hi)]
            for lo, hi in zip(self.source_bounds[:-1], self.source_bounds[1:])
        ]
        where = ", ".join(self.sources) if len(self.sources) <= 3 else f"{len(self.sources)} sources"
        if len(self.valid_ids) == 0:
            raise DataError(
                f"{type(self).__name__}: no usable samples in {where} ({n} entries; unusable labels: "
                f"{self.prescan_counts or 'none'})"
            )
        msg = f"{type(self).__name__}: {len(self.valid_ids)} usable samples of {n} in {where}"
        if self.prescan_counts:
            msg += f"; labels excluded at load: {self.prescan_counts}"
        logger.info(msg)

    @property
    def num_entries(self):
        """All entries, usable or not."""
        return int(self.source_bounds[-1])

    def __len__(self):
        """Number of usable samples (entries whose label passed the pre-scan)."""
        return len(self.valid_ids)

    def epoch_entries(self, epoch):
        """Entry ids used in ``epoch`` (before shuffling), drawn per source by its ratio.

        The count is the same for every epoch; the chosen subset (ratio < 1) changes with
        the epoch, reproducibly from the seed.
        """
        if self._epoch_cache[0] == epoch:
            return self._epoch_cache[1]
        parts = []
        for s, (ids, ratio) in enumerate(zip(self._valid_by_source, self.ratios)):
            if ratio == 1.0 or len(ids) == 0:
                parts.append(ids)
                continue
            want = int(round(len(ids) * ratio))
            reps, rem = divmod(want, len(ids))
            rng = np.random.default_rng([self.seed, int(epoch), 1000 + s])
            extra = np.sort(rng.choice(len(ids), size=rem, replace=False)) if rem else np.zeros(0, np.int64)
            parts.append(np.concatenate([np.tile(ids, reps), ids[extra]]))
        out = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        self._epoch_cache = (epoch, out)
        return out

    def __getitem__(self, key):
        """The transformed sample for ``key`` (an entry id, or ``(entry, epoch, position)``);
        a failing sample is replaced as in :meth:`load`."""
        return self.load(key)[0]

    def load(self, key):
        """Load and transform one sample, replacing it if it fails.

        Args:
            key (int | tuple): an entry id, or ``(entry, epoch, position)`` as the batch
                sampler yields; ``position`` seeds the augmentation.

        Returns:
            tuple: ``(sample, skips)``, the sample (a list after ``KeepKeys``, else a dict)
            and an int64 vector counting, per :data:`SKIP_REASONS`, whether the entry
            asked for was skipped (at most one count).
        """
        if isinstance(key, (tuple, list)):
            entry, epoch, pos = (int(v) for v in key)
        else:
            entry, epoch, pos = int(key), 0, int(key)
        if not 0 <= entry < self.num_entries:
            raise IndexError(f"{type(self).__name__}: entry {entry} out of range (0..{self.num_entries - 1})")
        skips = np.zeros(len(SKIP_REASONS), dtype=np.int64)
        current, last = entry, None
        for attempt in range(_MAX_ATTEMPTS):
            rng = np.random.default_rng([self.seed, epoch, pos, attempt])
            try:
                return self._load_one(current, rng), skips
            except SkipSample as exc:
                reason, detail = exc.reason, exc.detail or exc.reason
            except PPResNetError:
                raise  # a config mistake (e.g. a KeepKeys name) must surface, not be skipped
            except Exception as exc:  # noqa: BLE001 - never let one odd sample stop training
                reason, detail = "transform_error", f"{type(exc).__name__}: {exc}"
            last = f"entry {current}: {detail}"
            if attempt == 0:
                skips[REASON_INDEX[reason]] += 1
            self._log_skip(reason, current, detail)
            current = self._replacement(current, epoch, pos, attempt + 1)
        raise DataError(
            f"{type(self).__name__}: {_MAX_ATTEMPTS} samples in a row could not be loaded for entry {entry} "
            f"(last: {last}); check data_dir and the images"
        )

    def _load_one(self, entry, rng):
        code = int(self.entry_reasons[entry])
        if code != _VALID:
            raise SkipSample(SKIP_REASONS[code], f"label of entry {entry}")
        image, label, desc = self._read(entry)
        data = {"image": image, "label": label, "img_path": desc, "rng": rng}
        out = apply_transforms(data, self.ops)
        if isinstance(out, dict):
            out.pop("rng", None)
        return out

    def _replacement(self, entry, epoch, pos, attempt):
        """The next usable entry first; then seeded random picks, to escape runs of bad data."""
        nv = len(self.valid_ids)
        if attempt == 1:
            j = int(np.searchsorted(self.valid_ids, entry, side="right"))
            return int(self.valid_ids[j % nv])
        rng = np.random.default_rng([self.seed, epoch, pos, attempt, 7])
        return int(self.valid_ids[rng.integers(nv)])

    def close(self):
        """Release open file handles (LMDB environments); they reopen on the next read.

        The loader calls it before starting worker processes, so no handle crosses a fork."""

    def _log_skip(self, reason, entry, detail):
        self._skips_logged += 1
        if self._skips_logged <= _LOG_FIRST_SKIPS:
            logger.warning(
                "%s: skipped %s (%s)%s",
                type(self).__name__,
                detail,
                reason,
                "; further skips are only counted" if self._skips_logged == _LOG_FIRST_SKIPS else "",
            )


@DATASETS.register()
class SimpleDataSet(RecDataSet):
    """Images on disk listed in PaddleOCR label files (``relative/path.jpg<TAB>text``).

    Args:
        data_dir (str): folder the image paths are relative to.
        label_file_list (str | list[str]): one or more label files.
        ratio_list (float | list[float] | None): sampling ratio per label file per epoch.
        delimiter (str): separator between path and text (the first one on a line).
        transforms (list | None): the transform config list.
        global_config (dict | None): the config's ``Global`` section.
        seed (int): seed of epoch sampling and augmentation.
        ext_op_transform_idx (int | None): accepted for PaddleOCR configs; unused.
    """

    def __init__(
        self,
        data_dir,
        label_file_list,
        ratio_list=None,
        delimiter="\t",
        transforms=None,
        global_config=None,
        seed=0,
        ext_op_transform_idx=None,
    ):
        super().__init__(transforms=transforms, ratio_list=ratio_list, global_config=global_config, seed=seed)
        self.data_dir = _as_path(data_dir, "SimpleDataSet.data_dir") if data_dir is not None else ""
        if self.data_dir and not os.path.isdir(self.data_dir):
            raise DataError(f"SimpleDataSet.data_dir: folder '{self.data_dir}' not found")
        if not isinstance(delimiter, str) or delimiter == "" or delimiter == "\n":
            raise ConfigError(f"SimpleDataSet.delimiter: expected a non-empty string, got {delimiter!r}")
        self.delimiter = delimiter
        files = _as_list(label_file_list, "SimpleDataSet.label_file_list")
        if not files:
            raise ConfigError("SimpleDataSet.label_file_list: expected at least one label file")
        self.paths, texts, sizes = [], [], []
        for i, path in enumerate(files):
            path = os.fspath(path)
            if not os.path.isfile(path):
                raise DataError(f"SimpleDataSet.label_file_list[{i}]: label file '{path}' not found")
            n_before = len(self.paths)
            for rel, text in parse_label_file(path, delimiter):
                self.paths.append(rel)
                texts.append(text)
            sizes.append(len(self.paths) - n_before)
        self._finish_init([os.fspath(f) for f in files], sizes, texts)
        self.texts = texts

    def _read(self, entry):
        rel = self.paths[entry]
        path = os.path.join(self.data_dir, rel)
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise SkipSample("missing_image", path) from None
        except OSError as exc:
            raise SkipSample("missing_image", f"{path}: {exc.strerror}") from None
        return raw, self.texts[entry], path


def parse_label_file(path, delimiter="\t"):
    """Yield ``(image_path, text)`` per non-blank line of a label file; a malformed line
    (see :func:`.label_file.iter_label_lines`) yields ``(raw line, None)`` and is counted as
    malformed by the callers."""
    for line in iter_label_lines(path, delimiter):
        yield (line.path, line.text) if line.error is None else (line.raw, None)


def build_dataset(config, mode, seed=0):
    """Build the dataset of ``config[mode]["dataset"]`` (``mode`` = "Train" or "Eval").

    Args:
        config (dict): the full config (its ``Global`` section reaches the transforms).
        mode (str): the config section.
        seed (int): seed of epoch sampling and augmentation.
    """
    section = config.get(mode)
    if not isinstance(section, dict) or not isinstance(section.get("dataset"), dict):
        raise ConfigError(f"{mode}.dataset: expected a mapping with 'name' (e.g. {{name: SimpleDataSet, ...}})")
    cfg = section["dataset"]
    if "name" not in cfg:
        raise ConfigError(f"{mode}.dataset.name: missing (e.g. SimpleDataSet or LMDBDataSet)")
    try:
        return DATASETS.build(cfg, global_config=config.get("Global") or {}, seed=seed)
    except PPResNetError as exc:
        raise type(exc)(f"{mode}.dataset: {exc}") from None
