"""The dynamic batcher: concurrent requests share model calls, bounded by size and wait."""

import asyncio
import threading
import time

import pytest

from ppresnet45.errors import DataError
from ppresnet45.serving.batching import DynamicBatcher


class Recorder:
    """A stand-in model: doubles numbers and records each call's batch (and its thread)."""

    def __init__(self, delay=0.0):
        self.calls, self.threads, self.delay = [], set(), delay

    def __call__(self, items):
        self.calls.append(list(items))
        self.threads.add(threading.get_ident())
        time.sleep(self.delay)
        return [2 * x for x in items]


def _run(coro):
    return asyncio.run(coro)


async def _submit_all(batcher, requests):
    await batcher.start()
    try:
        return await asyncio.gather(*(batcher.submit(r) for r in requests))
    finally:
        await batcher.stop()


def test_concurrent_requests_are_batched_up_to_the_size_and_answered_in_order():
    model = Recorder()
    batcher = DynamicBatcher(model, max_batch_size=8, max_wait_ms=200)
    requests = [[i] for i in range(10)] + [[100, 101, 102]]
    answers = _run(_submit_all(batcher, requests))
    assert answers == [[2 * x for x in r] for r in requests]
    assert [len(c) for c in model.calls] == [8, 5]  # all queued before the first batch closed
    assert len(model.threads) == 1  # one model, one thread


def test_a_request_bigger_than_the_batch_goes_alone_and_is_not_split():
    model = Recorder()
    answers = _run(_submit_all(DynamicBatcher(model, max_batch_size=4, max_wait_ms=50), [[1], list(range(10)), [2]]))
    assert answers[1] == [2 * x for x in range(10)]
    assert sorted(len(c) for c in model.calls) in ([1, 1, 10], [2, 10])
    assert [len(c) for c in model.calls if len(c) > 4] == [10]


def test_batch_size_one_means_one_request_per_call():
    model = Recorder()
    _run(_submit_all(DynamicBatcher(model, max_batch_size=1, max_wait_ms=50), [[i] for i in range(5)]))
    assert [len(c) for c in model.calls] == [1] * 5


def test_the_wait_is_bounded_a_lone_request_is_not_held_longer():
    async def lone():
        model = Recorder()
        batcher = DynamicBatcher(model, max_batch_size=64, max_wait_ms=100)
        await batcher.start()
        t0 = time.perf_counter()
        out = await batcher.submit([5])
        waited = time.perf_counter() - t0
        await batcher.stop()
        return out, waited

    out, waited = _run(lone())
    assert out == [10] and 0.09 <= waited < 2.0


def test_stop_finishes_every_queued_request():
    async def scenario():
        model = Recorder(delay=0.05)
        batcher = DynamicBatcher(model, max_batch_size=2, max_wait_ms=0)
        await batcher.start()
        pending = [asyncio.create_task(batcher.submit([i])) for i in range(7)]
        await asyncio.sleep(0.01)
        await batcher.stop()
        assert not batcher.running
        return [t.result() for t in pending]

    assert _run(scenario()) == [[2 * i] for i in range(7)]


def test_a_failing_model_call_fails_its_requests_and_the_batcher_goes_on():
    def flaky(items):
        if 13 in items:
            raise ValueError("bad batch")
        return items

    async def scenario():
        batcher = DynamicBatcher(flaky, max_batch_size=1, max_wait_ms=0)
        await batcher.start()
        with pytest.raises(ValueError, match="bad batch"):
            await batcher.submit([13])
        out = await batcher.submit([1])
        await batcher.stop()
        return out

    assert _run(scenario()) == [1]


@pytest.mark.parametrize("kwargs, word", [({"max_batch_size": 0}, "max_batch_size"), ({"max_wait_ms": -1}, "max_wait")])
def test_bad_settings_are_refused_by_name(kwargs, word):
    with pytest.raises(DataError, match=word):
        DynamicBatcher(lambda x: x, **kwargs)
