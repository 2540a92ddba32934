"""Batches for training and evaluation: a seeded, sharded, resumable sampler over a
:class:`~ppresnet45.data.datasets.RecDataSet` and a ``paddle.io.DataLoader`` around it.

Determinism: epoch ``e`` uses the permutation ``default_rng([seed, e])`` of the epoch's
entries, the same on every rank; rank ``r`` of ``w`` takes positions ``r, r+w, r+2w, ...``
(the list is first padded by wrapping around so that every rank gets the same number of
samples). Augmentation is seeded by the sample's position in that permutation, so a run is
reproducible from the seed, whatever ``num_workers`` is, and ``start_batch`` resumes an
epoch mid-way with exactly the batches an uninterrupted run would have produced.

Skip counts: every sample carries a small vector of skip counts out of the worker (see
:meth:`RecDataSet.load`); :meth:`RecDataLoader.skip_counts` sums them over the current
epoch, plus (on rank 0) the labels excluded by the dataset's pre-scan.
"""

import logging

import cv2
import numpy as np
import paddle

from ..errors import ConfigError, PPResNetError
from .datasets import build_dataset
from .transforms import SKIP_REASONS

logger = logging.getLogger(__name__)


class RecBatchSampler:
    """Seeded, rank-sharded, resumable batch sampler.

    Yields lists of keys ``(entry, epoch, position)`` for :meth:`RecDataSet.load`.

    Args:
        dataset (RecDataSet): the dataset (its :meth:`epoch_entries` gives each epoch's entries).
        batch_size (int): samples per batch on this rank.
        shuffle (bool): permute the entries each epoch (seeded by ``seed`` and the epoch).
        drop_last (bool): drop this rank's last, incomplete batch.
        seed (int): the run's seed.
        rank (int): this process's rank, ``0 <= rank < world_size``.
        world_size (int): number of ranks sharing the data.
        epoch (int): the first epoch to iterate.
        start_batch (int): batches of that first epoch to skip (resuming mid-epoch).
    """

    def __init__(
        self, dataset, batch_size, shuffle=True, drop_last=False, seed=0, rank=0, world_size=1, epoch=0, start_batch=0
    ):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ConfigError(f"batch_size_per_card: expected a positive int, got {batch_size!r}")
        if not isinstance(world_size, int) or world_size < 1:
            raise ConfigError(f"world_size: expected a positive int, got {world_size!r}")
        if not isinstance(rank, int) or not 0 <= rank < world_size:
            raise ConfigError(f"rank: expected an int in [0, {world_size - 1}], got {rank!r}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = int(seed)
        self.rank = rank
        self.world_size = world_size
        self.epoch = int(epoch)
        self.start_batch = 0
        self._check_start(start_batch)
        self.start_batch = int(start_batch)

    def _check_start(self, start_batch):
        if not isinstance(start_batch, int) or isinstance(start_batch, bool) or not 0 <= start_batch <= len(self):
            raise ConfigError(
                f"start_batch: expected an int in [0, {len(self)}] (batches per epoch), got {start_batch!r}"
            )

    def set_epoch(self, epoch, start_batch=None):
        """Select the epoch to iterate next.

        Args:
            epoch (int): the epoch; its order comes from ``(seed, epoch)``.
            start_batch (int | None): batches to skip at its start; ``None`` keeps a pending
                resume offset if ``epoch`` is the epoch it was given for, else 0.
        """
        epoch = int(epoch)
        if start_batch is None:
            start_batch = self.start_batch if epoch == self.epoch else 0
        self.epoch = epoch
        self._check_start(start_batch)
        self.start_batch = int(start_batch)

    def _samples_per_rank(self, n):
        return -(-n // self.world_size)  # ceil

    def __len__(self):
        per_rank = self._samples_per_rank(len(self.dataset.epoch_entries(self.epoch)))
        return per_rank // self.batch_size if self.drop_last else -(-per_rank // self.batch_size)

    def epoch_keys(self):
        """This rank's keys for the current epoch, in order: an int64 array ``[N, 3]`` of
        ``(entry, epoch, position)``."""
        entries = self.dataset.epoch_entries(self.epoch)
        n = len(entries)
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(n)
            entries = entries[order]
        total = self._samples_per_rank(n) * self.world_size
        positions = np.arange(self.rank, total, self.world_size, dtype=np.int64)
        keys = np.empty((len(positions), 3), dtype=np.int64)
        keys[:, 0] = entries[positions % n]  # the last few positions wrap around (padding)
        keys[:, 1] = self.epoch
        keys[:, 2] = positions
        return keys

    def __iter__(self):
        keys = self.epoch_keys()
        n_batches = len(self)
        start, self.start_batch = self.start_batch, 0  # the offset applies to one pass only
        for b in range(start, n_batches):
            chunk = keys[b * self.batch_size : (b + 1) * self.batch_size]
            yield [tuple(int(v) for v in k) for k in chunk]


class _LoadWithCounts(paddle.io.Dataset):
    """What the worker processes call: ``dataset.load(key)`` → (sample, skip vector)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __getitem__(self, key):
        return self.dataset.load(key)

    def __len__(self):
        return len(self.dataset)


def _stack(values):
    first = values[0]
    if isinstance(first, np.ndarray):
        return np.stack(values)
    if isinstance(first, (bool, np.bool_)):
        return np.asarray(values, dtype=bool)
    if isinstance(first, (int, np.integer)):
        return np.asarray(values, dtype=np.int64)
    if isinstance(first, (float, np.floating)):
        return np.asarray(values, dtype=np.float32)
    return list(values)  # strings and other objects travel as a plain list


def collate_with_counts(items):
    """Collate ``(sample, skips)`` pairs into ``[fields, skip_counts]``.

    Fields are stacked per position (``KeepKeys`` lists) or per key (dicts); the skip
    vectors are summed into a tuple of Python ints, which Paddle carries beside the tensors
    rather than converting them (no device copy)."""
    samples = [it[0] for it in items]
    skips = np.sum(np.stack([it[1] for it in items]), axis=0)
    first = samples[0]
    if isinstance(first, dict):
        fields = {k: _stack([s[k] for s in samples]) for k in first}
    else:
        fields = [_stack([s[i] for s in samples]) for i in range(len(first))]
    return [fields, [int(v) for v in skips]]


def _as_tensor(value):
    """Arrays become tensors, as Paddle's DataLoader returns them; strings stay lists."""
    return paddle.to_tensor(value) if isinstance(value, np.ndarray) else value


class _SerialOpenCV:
    """Fork worker processes while OpenCV runs single-threaded.

    A forked child inherits OpenCV's thread-pool state but not its threads; if it then
    touches the pool (a parallel ``cv2`` call, or ``cv2.setNumThreads``) it can wait
    forever on a thread that does not exist. With one thread at fork time the children
    never use the pool (and, as single processes, gain nothing from it); the parent gets
    its setting back right after the fork.
    """

    def __enter__(self):
        self.previous = cv2.getNumThreads()
        cv2.setNumThreads(1)

    def __exit__(self, *exc):
        cv2.setNumThreads(self.previous)


class RecDataLoader:
    """Iterable of batches for one rank, with per-epoch skip counts.

    Iterating yields one epoch of batches, each a list of ``paddle.Tensor`` in ``KeepKeys``
    order (e.g. ``[image float32 [B,3,32,128], label int64 [B,L], length int64 [B]]``).
    Build it with :func:`build_dataloader`.

    Args:
        dataset (RecDataSet): the dataset.
        batch_sampler (RecBatchSampler): the sampler.
        num_workers (int): worker processes (0: load in this process).
        use_shared_memory (bool): pass batches from workers through shared memory.
        places: Paddle place(s) for the tensors (default: the current device).
    """

    def __init__(self, dataset, batch_sampler, num_workers=0, use_shared_memory=True, places=None):
        self.dataset = dataset
        self.batch_sampler = batch_sampler
        self.num_workers = int(num_workers)
        self._counts = np.zeros(len(SKIP_REASONS), dtype=np.int64)
        self._loader = paddle.io.DataLoader(
            _LoadWithCounts(dataset),
            batch_sampler=batch_sampler,
            collate_fn=collate_with_counts,
            num_workers=self.num_workers,
            use_shared_memory=bool(use_shared_memory),
            return_list=True,
            places=places,
        )

    def __len__(self):
        """Batches in a full epoch on this rank (a resumed epoch yields ``len - start_batch``)."""
        return len(self.batch_sampler)

    @property
    def epoch(self):
        """The epoch the next iteration yields."""
        return self.batch_sampler.epoch

    def set_epoch(self, epoch, start_batch=None):
        """Select the epoch (and optionally the batch to start from) of the next iteration;
        see :meth:`RecBatchSampler.set_epoch`. Skip counts reset when that iteration starts."""
        self.batch_sampler.set_epoch(epoch, start_batch)

    def __iter__(self):
        self._counts[:] = 0
        if self.num_workers > 0:
            self.dataset.close()  # no open LMDB handle may cross into the forked workers
            with _SerialOpenCV():
                batches = iter(self._loader)  # forks the workers
        else:
            # In this process, without Paddle's prefetch thread: an error in the dataset then
            # reaches the caller (in that thread it would end the thread and leave the loop
            # waiting forever).
            batches = self._batches_in_process()
        for fields, skips in batches:
            self._counts += np.asarray(skips, dtype=np.int64)
            yield fields

    def _batches_in_process(self):
        for keys in self.batch_sampler:
            fields, skips = collate_with_counts([self.dataset.load(k) for k in keys])
            if isinstance(fields, dict):
                yield {k: _as_tensor(v) for k, v in fields.items()}, skips
            else:
                yield [_as_tensor(v) for v in fields], skips

    def skip_counts(self, include_excluded=None):
        """Samples skipped in the current (or last) pass over an epoch, by reason.

        Counts travel with the batches out of the worker processes and are summed here as
        batches arrive; they reset when a new pass (``iter(loader)``) starts. A sample is
        counted once, when the entry the sampler asked for is replaced.

        Args:
            include_excluded (bool | None): add the labels the dataset excluded at init
                (empty, too long, unknown characters, malformed lines: they are left out of
                every epoch). Default: on rank 0 only, so that summing over ranks counts
                them once.

        Returns:
            dict[str, int]: reason → count, only reasons with a non-zero count.
        """
        if include_excluded is None:
            include_excluded = self.batch_sampler.rank == 0
        out = {r: int(c) for r, c in zip(SKIP_REASONS, self._counts) if c}
        if include_excluded:
            for r, c in getattr(self.dataset, "prescan_counts", {}).items():
                out[r] = out.get(r, 0) + int(c)
        return out


def build_dataloader(config, mode, seed=0, rank=0, world_size=1, epoch=0, start_batch=0):
    """Build the dataset and loader of ``config[mode]``.

    Reads ``<mode>.dataset`` (see :func:`build_dataset`) and ``<mode>.loader``:
    ``batch_size_per_card`` (required), ``shuffle`` (default: true for Train),
    ``drop_last`` (default false), ``num_workers`` (default 0), ``use_shared_memory``
    (default true).

    Args:
        config (dict): the full config.
        mode (str): ``"Train"`` or ``"Eval"``.
        seed (int): the run's seed (data order and augmentation).
        rank (int): this process's rank.
        world_size (int): number of ranks.
        epoch (int): the first epoch to iterate.
        start_batch (int): batches of that epoch already consumed (resume).

    Returns:
        RecDataLoader: iterable over batches (lists of tensors in ``KeepKeys`` order).
    """
    if mode not in ("Train", "Eval"):
        raise ConfigError(f"build_dataloader: mode must be 'Train' or 'Eval', got {mode!r}")
    section = config.get(mode)
    if not isinstance(section, dict):
        raise ConfigError(f"{mode}: missing section (expected {mode}.dataset and {mode}.loader)")
    loader_cfg = section.get("loader") or {}
    if not isinstance(loader_cfg, dict):
        raise ConfigError(f"{mode}.loader: expected a mapping, got {type(loader_cfg).__name__}")
    known = {"batch_size_per_card", "shuffle", "drop_last", "num_workers", "use_shared_memory"}
    unknown = sorted(set(loader_cfg) - known)
    if unknown:
        logger.warning("%s.loader: ignoring unknown key(s) %s (known: %s)", mode, unknown, ", ".join(sorted(known)))
    batch_size = loader_cfg.get("batch_size_per_card")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ConfigError(f"{mode}.loader.batch_size_per_card: expected a positive int, got {batch_size!r}")
    num_workers = loader_cfg.get("num_workers", 0)
    if not isinstance(num_workers, int) or isinstance(num_workers, bool) or num_workers < 0:
        raise ConfigError(f"{mode}.loader.num_workers: expected a non-negative int, got {num_workers!r}")
    flags = {}
    for key, default in (("shuffle", mode == "Train"), ("drop_last", False), ("use_shared_memory", True)):
        value = loader_cfg.get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{mode}.loader.{key}: expected true or false, got {value!r}")
        flags[key] = value

    dataset = build_dataset(config, mode, seed=seed)
    sampler = RecBatchSampler(
        dataset,
        batch_size,
        shuffle=flags["shuffle"],
        drop_last=flags["drop_last"],
        seed=seed,
        rank=rank,
        world_size=world_size,
        epoch=epoch,
        start_batch=0,
    )
    if len(dataset.epoch_entries(epoch)) == 0:
        raise ConfigError(f"{mode}.dataset.ratio_list: an epoch draws no sample (ratios {dataset.ratios})")
    if len(sampler) == 0:
        raise ConfigError(
            f"{mode}.loader.batch_size_per_card: {batch_size} is more than the "
            f"{-(-len(dataset.epoch_entries(epoch)) // world_size)} samples per card with drop_last: true, "
            f"so an epoch has no batch"
        )
    try:
        sampler.set_epoch(epoch, start_batch)
    except ConfigError as exc:
        raise ConfigError(f"build_dataloader: {exc}") from None
    # Run one sample through the transforms here: a config mistake (e.g. a KeepKeys name)
    # then raises its one-line error now, not wrapped in a worker's traceback later.
    try:
        dataset.load((int(dataset.valid_ids[0]), epoch, 0))
    except PPResNetError as exc:
        raise type(exc)(f"{mode}.dataset: {exc}") from None
    finally:
        dataset.close()
    return RecDataLoader(dataset, sampler, num_workers=num_workers, use_shared_memory=flags["use_shared_memory"])
