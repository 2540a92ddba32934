"""How the benchmark talks to its subprocesses: marked JSON lines and the thread environment.

A child prints each result as one line, :data:`MARK` followed by JSON; everything else it
prints (library logs, warnings) is ignored, so a backend's chatter cannot corrupt a result.
Thread counts go in through the environment because OpenMP, MKL and OpenBLAS read them once,
when they load, before any Python code could set them.
"""

from __future__ import annotations

import json
import os
import sys
from typing import IO, Any

MARK = "@@ppresnet45-benchmark@@ "
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "FLAGS_cpu_math_library_num_threads")


def thread_env(threads: int | None) -> dict[str, str]:
    """This process's environment with every math library limited to ``threads`` threads
    (unchanged when ``threads`` is falsy); Paddle's logging is set by ``import ppresnet45``."""
    env = dict(os.environ)
    if threads:
        for key in THREAD_ENV:
            env[key] = str(threads)
    return env


def child_command(module: str, function: str, *args: Any) -> list[str]:
    """Command line running ``module.function(*args)`` in a fresh interpreter and exiting with
    its return value; ``args`` must be literals (they are written out with ``repr``)."""
    code = f"import sys; from {module} import {function}; sys.exit({function}(*{args!r}))"
    return [sys.executable, "-c", code]


def write_event(event: dict[str, Any], stream: IO[str] | None = None) -> None:
    """Print ``event`` (a JSON-serialisable dict) as one marked line and flush, so the parent
    sees it even if this process crashes afterwards."""
    stream = sys.stdout if stream is None else stream
    stream.write(MARK + json.dumps(event) + "\n")
    stream.flush()


def read_event(line: str) -> Any:
    """The event on a marked line, or ``None`` for any other output."""
    if not line.startswith(MARK):
        return None
    return json.loads(line[len(MARK) :])
