"""Prepare work ahead in a background thread while the caller consumes it.

The recognizer decodes and pre-processes the next batches in a worker thread while the
model runs on the current one; runtimes that release the GIL while they compute overlap
with it. The worker stops as soon as the consumer does (an error, an early exit), so no
thread outlives a call.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Generator, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def in_background(items: Iterable[T], depth: int, stats: dict[str, Any]) -> Generator[T, None, None]:
    """Iterate ``items`` in a worker thread, up to ``depth`` ahead; time spent waiting for
    the worker is added to ``stats["wait_s"]``, and the worker's exceptions re-raised here.
    Closing the generator (or an error in the consumer) stops the worker."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item: object) -> bool:
        """Queue ``item`` unless the consumer has stopped; False once it has."""
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(end)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            put(exc)

    worker = threading.Thread(target=work, name="ppresnet45-preprocess", daemon=True)
    worker.start()
    try:
        while True:
            t0 = time.perf_counter()
            item = q.get()
            stats["wait_s"] += time.perf_counter() - t0
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)
