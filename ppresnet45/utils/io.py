"""Atomic file and directory writes (a reader never sees a half-written output) and checked reads."""

import contextlib
import os
import shutil
import stat
import tempfile


def read_utf8_text(path, what, expected, error):
    """The whole text of a UTF-8 file (a leading BOM dropped), or one clear error line.

    Args:
        path (str): the file.
        what (str): how messages name it, e.g. ``"label file"``.
        expected (str): what the file should hold, for the "not found" message.
        error (type): the exception class to raise (a ``PPResNetError`` subclass).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise error(f"{what} '{path}' not found (expected {expected})")
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{what} '{path}' is not UTF-8 ({exc.reason} at byte {exc.start})") from None


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def apply_default_permissions(path):
    """Give ``path`` (and, for a folder, everything below it) the permissions a plain
    ``open``/``mkdir`` would: ``mkstemp``/``mkdtemp`` create owner-only entries, which would
    make a shared or served model unreadable to others."""
    mask = _umask()
    if os.path.isdir(path):
        for root, _dirs, files in os.walk(path):
            os.chmod(root, 0o777 & ~mask)
            for name in files:
                full = os.path.join(root, name)
                if not os.path.islink(full):
                    keep_exec = os.stat(full).st_mode & stat.S_IXUSR
                    os.chmod(full, (0o777 if keep_exec else 0o666) & ~mask)
    elif os.path.isfile(path):
        os.chmod(path, 0o666 & ~mask)


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` through a temporary file in the same folder + rename."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(path), dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        apply_default_permissions(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path, text):
    """Atomically write UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_output_file(path):
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    For writers that want a file name (``paddle.save``, ``cv2.imwrite``)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    base = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + base, dir=folder)
    os.close(fd)
    try:
        yield tmp
        apply_default_permissions(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_output_dir(path, overwrite=True):
    """Yield a fresh temporary directory beside ``path``; on success it replaces ``path``.

    An old ``path`` is moved aside first and deleted only once the new one is in place,
    so an interrupted or failed write leaves the old directory untouched.
    """
    path = os.path.abspath(os.fspath(path))
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(path)
    tmp = tempfile.mkdtemp(prefix=".tmp-" + os.path.basename(path) + "-", dir=parent)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    apply_default_permissions(tmp)
    old = None
    if os.path.exists(path):
        old = tempfile.mkdtemp(prefix=".old-" + os.path.basename(path) + "-", dir=parent)
        os.rmdir(old)
        os.replace(path, old)
    try:
        os.replace(tmp, path)
    except BaseException:
        if old is not None:
            os.replace(old, path)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
