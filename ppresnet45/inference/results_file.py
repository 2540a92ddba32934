"""The JSON-lines results of ``ppresnet45 infer``: written as they come, resumable.

One JSON object per line (``path``, ``text``, ``score``, and ``error``, ``chunks``,
``label``, ``line`` where they apply). Unlike every other output a user keeps, this file is
*not* written atomically: rows are appended and flushed as each window of batches finishes,
so an interrupted run keeps everything it finished, and ``--resume`` carries on from there.

A row's key (:func:`row_key`) is its label-file line number when it has one, else its
path; resuming skips every input whose key is already in the file. An interrupted write can
leave a partial last line: resuming cuts it off (that input is recognized again).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from typing import IO, TYPE_CHECKING, Any

from ..errors import DataError

if TYPE_CHECKING:
    from .._types import Row, StrPath


def row_key(row: Mapping[str, Any]) -> tuple[str, Any]:
    """What identifies a row across runs: ``("line", n)`` for label-file rows, else ``("path", p)``."""
    if row.get("line") is not None:
        return "line", row["line"]
    return "path", row.get("path")


def read_rows(path: StrPath) -> list[Row]:
    """The complete rows of a results file (a partial last line is cut off the file).

    Raises:
        DataError: a complete line is not a JSON object (not a results file: not resuming).
    """
    if not os.path.isfile(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    end = data.rfind(b"\n") + 1
    if end < len(data):  # an interrupted write: drop the partial line
        with open(path, "r+b") as f:
            f.truncate(end)
    rows: list[Row] = []
    for lineno, line in enumerate(data[:end].splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            row = None
        if not isinstance(row, dict):
            raise DataError(
                f"--resume: {path}:{lineno} is not a JSON results row (expected the JSON lines of "
                "an earlier `ppresnet45 infer --output` run)"
            )
        rows.append(row)
    return rows


class ResultsWriter:
    """Append rows to ``path`` (or stdout when ``path`` is None), flushing after each write.

    Args:
        path (str | None): the results file; None writes to stdout.
        resume (bool): keep the file's rows and append (else start the file afresh).
    """

    def __init__(self, path: str | None, resume: bool = False) -> None:
        self.path = path
        self._file: IO[str]
        if path is None:
            self._file, self._own = sys.stdout, False
        else:
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise DataError(f"--output: folder '{folder}' does not exist")
            if os.path.isdir(path):
                raise DataError(f"--output: '{path}' is a folder (expected a file for the JSON lines)")
            self._file, self._own = open(path, "a" if resume else "w", encoding="utf-8"), True  # noqa: SIM115 - closed by close()

    def write(self, rows: Iterable[Row]) -> None:
        """Write ``rows``, one JSON line each, and flush."""
        self._file.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        self._file.flush()

    def close(self) -> None:
        if self._own:
            self._file.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
