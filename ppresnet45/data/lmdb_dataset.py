"""LMDB text-recognition datasets (the layout of the standard benchmark LMDBs)."""

import os

import numpy as np
from tqdm import tqdm

from ..errors import ConfigError, DataError
from ..registry import DATASETS
from .datasets import RecDataSet
from .transforms import SkipSample


def _import_lmdb(what):
    try:
        import lmdb
    except ImportError:
        raise ConfigError(
            f"{what} needs the optional 'lmdb' package: pip install lmdb (or pip install 'ppresnet45[lmdb]')"
        ) from None
    return lmdb


# py-lmdb refuses to open one environment twice in a process ("already open"), and Train and
# Eval may read the same folder: environments are shared per (process, folder), counted.
_OPEN_ENVS: dict = {}  # (pid, real path) -> [environment, users]


def _acquire_env(path):
    key = (os.getpid(), os.path.realpath(path))
    entry = _OPEN_ENVS.get(key)
    if entry is None:
        lmdb = _import_lmdb("LMDBDataSet")
        try:
            env = lmdb.open(path, readonly=True, lock=False, readahead=False, meminit=False, max_readers=32)
        except lmdb.Error as exc:
            raise DataError(f"LMDBDataSet: cannot open LMDB '{path}': {exc}") from None
        entry = _OPEN_ENVS[key] = [env, 0]
    entry[1] += 1
    return entry[0]


def _release_env(path):
    key = (os.getpid(), os.path.realpath(path))
    entry = _OPEN_ENVS.get(key)
    if entry is not None:
        entry[1] -= 1
        if entry[1] <= 0:
            entry[0].close()
            del _OPEN_ENVS[key]


def find_lmdb_dirs(data_dir):
    """Folders under ``data_dir`` (itself included) that hold an LMDB environment (``data.mdb``), sorted."""
    found = []
    for root, dirs, files in os.walk(data_dir, followlinks=True):
        dirs.sort()
        if "data.mdb" in files:
            found.append(root)
    return sorted(found)


@DATASETS.register()
class LMDBDataSet(RecDataSet):
    """One or more LMDB environments in the standard text-recognition layout.

    Each environment holds ``num-samples`` and, for ``i`` = 1..num-samples,
    ``image-%09d`` (encoded image bytes) and ``label-%09d`` (UTF-8 text). Every folder under
    ``data_dir`` that contains a ``data.mdb`` is one source. Needs the ``lmdb`` package.

    Args:
        data_dir (str): folder holding the LMDB environment(s).
        ratio_list (float | list[float] | None): sampling ratio per environment per epoch.
        transforms (list | None): the transform config list.
        global_config (dict | None): the config's ``Global`` section.
        seed (int): seed of epoch sampling and augmentation.
    """

    def __init__(self, data_dir, ratio_list=None, transforms=None, global_config=None, seed=0):
        super().__init__(transforms=transforms, ratio_list=ratio_list, global_config=global_config, seed=seed)
        _import_lmdb("LMDBDataSet")  # a clear error when the optional package is missing
        self.data_dir = os.fspath(data_dir)
        if not os.path.isdir(self.data_dir):
            raise DataError(f"LMDBDataSet.data_dir: folder '{self.data_dir}' not found")
        self.env_dirs = find_lmdb_dirs(self.data_dir)
        if not self.env_dirs:
            raise DataError(
                f"LMDBDataSet.data_dir: no LMDB environment (a folder with data.mdb) under '{self.data_dir}'"
            )
        sizes, labels = [], []
        for env_dir in self.env_dirs:
            env = _acquire_env(env_dir)
            with env.begin(write=False) as txn:
                raw = txn.get(b"num-samples")
                try:
                    n = int(raw.decode("ascii"))
                except (AttributeError, ValueError, UnicodeDecodeError):
                    _release_env(env_dir)
                    raise DataError(
                        f"LMDBDataSet: '{env_dir}' has no valid 'num-samples' record (got {raw!r}); "
                        f"expected the standard layout num-samples / image-%09d / label-%09d"
                    ) from None
                for i in tqdm(
                    range(1, n + 1), desc=f"LMDBDataSet: reading labels of {env_dir}", unit="label", disable=n < 200000
                ):
                    lab = txn.get(b"label-%09d" % i)
                    try:
                        labels.append(lab.decode("utf-8") if lab is not None else None)
                    except UnicodeDecodeError:
                        labels.append(None)
            _release_env(env_dir)
            sizes.append(n)
        self._finish_init(self.env_dirs, sizes, labels)
        self._envs, self._pid = None, None

    def _locate(self, entry):
        s = int(np.searchsorted(self.source_bounds, entry, side="right") - 1)
        return s, int(entry - self.source_bounds[s]) + 1  # 1-based record index

    def _env(self, s):
        # LMDB handles must not cross a fork: open lazily in each process.
        if self._envs is None or self._pid != os.getpid():
            self._envs, self._pid = [_acquire_env(d) for d in self.env_dirs], os.getpid()
        return self._envs[s]

    def close(self):
        """Release the LMDB environments this process opened (closed when no dataset uses them)."""
        if self._envs is not None and self._pid == os.getpid():
            for d in self.env_dirs:
                _release_env(d)
        self._envs, self._pid = None, None

    def _read(self, entry):
        s, idx = self._locate(entry)
        desc = f"{self.env_dirs[s]}:image-{idx:09d}"
        with self._env(s).begin(write=False) as txn:
            raw = txn.get(b"image-%09d" % idx)
            lab = txn.get(b"label-%09d" % idx)
        if raw is None:
            raise SkipSample("missing_image", desc)
        try:
            label = lab.decode("utf-8")
        except (AttributeError, UnicodeDecodeError):
            raise SkipSample("malformed_label", desc) from None
        return bytes(raw), label, desc

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_envs"], state["_pid"] = None, None
        return state
