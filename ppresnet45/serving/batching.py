"""Dynamic batching: the images of concurrent requests go to the model together.

Requests queue up; the batching loop takes the first one waiting, then keeps taking more for
at most ``max_wait_ms`` or until ``max_batch_size`` images are gathered, and hands them to the
recognizer in one call, on one worker thread (one model per process: the recognizer is not
thread-safe, and the event loop stays free to accept requests, answer ``/healthz`` and parse
the next uploads meanwhile). A request is never split: one with more images than
``max_batch_size`` goes alone (the recognizer cuts it into model batches itself). Under
Ray Serve each replica runs its own batcher, so "one model per worker" holds there too.
"""

import asyncio
import concurrent.futures
import time

from ..errors import DataError


class DynamicBatcher:
    """Gather concurrent calls into batches for ``fn`` (see the module docs).

    Args:
        fn (callable): ``list of items -> list of results`` (same length, same order); runs
            on one worker thread.
        max_batch_size (int): most items per call of ``fn`` (a bigger request goes alone).
        max_wait_ms (float): how long the first request of a batch waits for company.
        on_batch (callable | None): called with each batch's item count.
    """

    def __init__(self, fn, max_batch_size=16, max_wait_ms=10.0, on_batch=None):
        if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) or max_batch_size < 1:
            raise DataError(f"max_batch_size: expected a positive int, got {max_batch_size!r}")
        if not isinstance(max_wait_ms, (int, float)) or max_wait_ms < 0:
            raise DataError(f"max_wait_ms: expected a number >= 0, got {max_wait_ms!r}")
        self.fn, self.max_batch_size, self.max_wait = fn, max_batch_size, max_wait_ms / 1000.0
        self.on_batch = on_batch or (lambda n: None)
        self._queue = None
        self._task = None
        self._pool = None
        self._carry = None  # a request taken from the queue that did not fit the last batch

    @property
    def running(self):
        return self._task is not None and not self._task.done()

    @property
    def waiting(self):
        """Requests queued, not yet in a batch."""
        return (self._queue.qsize() if self._queue else 0) + (self._carry is not None)

    async def start(self):
        self._queue = asyncio.Queue()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="recognize")
        self._task = asyncio.create_task(self._loop())

    async def stop(self):
        """Finish every queued request, then stop (what a graceful shutdown calls)."""
        if self._task is None:
            return
        await self._queue.put(None)
        await self._task
        self._pool.shutdown(wait=True)
        self._task = None

    async def submit(self, items):
        """The results of ``items``, computed in some batch."""
        if not self.running:
            raise RuntimeError("the batcher is not running")
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((list(items), future))
        return await future

    async def _next(self, timeout):
        if self._carry is not None:
            entry, self._carry = self._carry, None
            return entry
        if timeout is None:
            return await self._queue.get()
        return await asyncio.wait_for(self._queue.get(), timeout)

    async def _gather(self):
        """One batch of queued requests (and whether the stop mark was seen)."""
        first = await self._next(None)
        if first is None:
            return [], True
        batch, size = [first], len(first[0])
        deadline = time.monotonic() + self.max_wait
        while size < self.max_batch_size:
            left = deadline - time.monotonic()
            try:
                entry = self._queue.get_nowait() if left <= 0 else await self._next(left)
            except (TimeoutError, asyncio.QueueEmpty):
                break
            if entry is None:
                return batch, True
            if size + len(entry[0]) > self.max_batch_size:
                self._carry = entry
                break
            batch.append(entry)
            size += len(entry[0])
        return batch, False

    async def _loop(self):
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping or self._carry is not None or not self._queue.empty():
            batch, stop_seen = await self._gather() if not stopping else await self._drain()
            stopping = stopping or stop_seen
            if not batch:
                continue
            items = [x for entry, _ in batch for x in entry]
            try:
                results = await loop.run_in_executor(self._pool, self.fn, items)
            except Exception as exc:  # noqa: BLE001 - every waiting request learns why
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.on_batch(len(items))
            pos = 0
            for entry, future in batch:
                if not future.done():
                    future.set_result(results[pos : pos + len(entry)])
                pos += len(entry)

    async def _drain(self):
        """After the stop mark: what is left, without waiting for more."""
        batch, size = [], 0
        while size < self.max_batch_size:
            if self._carry is not None:
                entry, self._carry = self._carry, None
            elif not self._queue.empty():
                entry = self._queue.get_nowait()
            else:
                break
            if entry is None:
                continue
            if batch and size + len(entry[0]) > self.max_batch_size:
                self._carry = entry
                break
            batch.append(entry)
            size += len(entry[0])
        return batch, True
