"""Type aliases shared by the annotations (read by type checkers only).

Modules import them under ``if TYPE_CHECKING:`` and use them in annotations, which
``from __future__ import annotations`` keeps as strings, so nothing here runs or costs
an import at run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import os
    from collections.abc import Callable
    from typing import Any, TypeAlias, Union

    StrPath: TypeAlias = Union[str, "os.PathLike[str]"]  # a file or folder path
    Row: TypeAlias = dict[str, Any]  # one result row of the recognizer (path, text, score, ...)
    LogFn: TypeAlias = Callable[[str], Any]  # receives one-line notes
