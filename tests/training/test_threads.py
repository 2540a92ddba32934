"""``Global.cpu_threads: null``: the thread count is chosen by timing training steps."""

import logging
import time

import pytest

from ppresnet45.training.threads import (
    BLOCKTIMES,
    ThreadTuner,
    describe_setting,
    settings_to_try,
    thread_candidates,
    tuner_for,
)
from ppresnet45.utils.cpu import available_cores

pytestmark = pytest.mark.slow  # training, exports or third-party clients: over ~10 s on 2 cores


def test_thread_candidates():
    assert thread_candidates(1) == [1]
    assert thread_candidates(2) == [1, 2]
    assert thread_candidates(6) == [1, 2, 4, 6]
    assert thread_candidates(8) == [1, 2, 4, 8]


@pytest.mark.parametrize("slow", [1, 2])
def test_tuner_keeps_the_faster_thread_count(slow, caplog):
    """Steps that really take longer at one thread count (sleeps) make the tuner pick the other."""
    tuner = ThreadTuner([1, 2], probe_steps=2)
    assert tuner.steps_needed() == 6
    seen = []
    with caplog.at_level(logging.INFO, logger="ppresnet45.train"):
        for _ in range(tuner.steps_needed()):
            current = tuner.threads
            seen.append(current)
            t0 = time.perf_counter()
            time.sleep(0.06 if current == slow else 0.01)
            assert tuner.after_step(8, time.perf_counter() - t0) == tuner.threads
    assert seen == [1, 1, 1, 2, 2, 2]
    assert tuner.done and tuner.chosen == (3 - slow, None)
    assert tuner.speeds[(3 - slow, None)] > 2 * tuner.speeds[(slow, None)]
    assert "cpu_threads: 1 thread(s)" in caplog.text and f"-> {3 - slow} thread(s)" in caplog.text


def test_tuner_times_again_when_the_speed_drifts(caplog):
    """Another job starts after the choice: the chosen count slows down, the tuner notices,
    times both counts again and switches; the log and the history say why."""
    tuner = ThreadTuner([1, 2], probe_steps=2, watch_steps=4, drift=0.3, min_steps_between=8)
    slow = {1}  # thread counts that run slowly right now

    def step():
        current = tuner.threads
        t0 = time.perf_counter()
        time.sleep(0.05 if current in slow else 0.01)
        return tuner.after_step(8, time.perf_counter() - t0)

    with caplog.at_level(logging.INFO, logger="ppresnet45.train"):
        for _ in range(tuner.steps_needed()):
            step()
        assert tuner.chosen == (2, None)
        for _ in range(6):  # steady speed: no re-timing
            step()
        assert tuner.chosen == (2, None) and len(tuner.history) == 1
        slow = {2}  # the load changed
        for _ in range(12):
            step()
            if tuner.done and tuner.chosen == (1, None):
                break
    assert tuner.chosen == (1, None) and len(tuner.history) == 2
    assert tuner.history[0]["reason"] == "first timing"
    assert tuner.history[1]["reason"].startswith("re-timed at step") and "2 thread(s) ran" in tuner.history[1]["reason"]
    assert [r["chosen"] for r in tuner.pop_records()] == [2, 1] and tuner.pop_records() == []
    assert "re-timed at step" in caplog.text


def test_training_with_cpu_threads_null_times_each_count(overfit_ctc, tmp_path, caplog):
    """A real run: the first steps go to the probe, the log says what was chosen, training goes on."""
    from ppresnet45.config import merge_overrides
    from ppresnet45.training.trainer import Trainer

    cores = available_cores()
    if cores < 2:
        pytest.skip("one usable core: there is nothing to choose")
    config = merge_overrides(
        overfit_ctc["config"],
        {
            "Global.cpu_threads": None,
            "Global.max_steps": 12,
            "Global.save_model_dir": str(tmp_path / "out"),
            "Global.eval_batch_step": [0, 1000],
        },
    )
    with caplog.at_level(logging.INFO, logger="ppresnet45.train"):
        trainer = Trainer(config, show_progress=False)
        trainer.fit()
    tuner = trainer.thread_tuner
    assert tuner.done and set(tuner.speeds) == set(tuner.candidates)
    assert {n for n, _ in tuner.candidates} == set(thread_candidates(cores))  # every count, each block time
    assert tuner.chosen == max(tuner.speeds, key=tuner.speeds.get) and trainer.cpu_threads == tuner.chosen[0]
    assert "cpu_threads:" in caplog.text and f"-> {describe_setting(tuner.chosen)}" in caplog.text


@pytest.mark.parametrize("seed", [-1, 2**32, 10**12])
def test_seed_out_of_range_is_a_config_error(seed):
    from ppresnet45.errors import ConfigError
    from ppresnet45.training.settings import TrainSettings

    with pytest.raises(ConfigError, match="Global.seed"):
        TrainSettings.from_config({"Global": {"seed": seed}})


def _iomp():
    from ppresnet45.training.devices import _iomp_library

    lib = _iomp_library()
    if lib is None:
        pytest.skip("this Paddle build loads no Intel OpenMP runtime (libiomp5)")
    lib.kmp_get_blocktime.restype = __import__("ctypes").c_int
    return lib


def test_training_sets_the_openmp_block_time(monkeypatch):
    """Idle OpenMP workers must not spin through eager training's Python time (see devices.py)."""
    from ppresnet45.training.devices import configure_cpu, set_omp_blocktime

    lib = _iomp()
    monkeypatch.delenv("KMP_BLOCKTIME", raising=False)
    try:
        configure_cpu(cpu_threads=1, omp_blocktime=0)
        assert lib.kmp_get_blocktime() == 0
        assert set_omp_blocktime(7) and lib.kmp_get_blocktime() == 7
        monkeypatch.setenv("KMP_BLOCKTIME", "50")  # the user's environment wins
        assert not set_omp_blocktime(0) and lib.kmp_get_blocktime() == 7
    finally:
        monkeypatch.delenv("KMP_BLOCKTIME", raising=False)
        set_omp_blocktime(200)  # the runtime's default, for the tests that follow


@pytest.mark.parametrize(
    "glob, expected",
    [({}, "auto"), ({"omp_blocktime": "auto"}, "auto"), ({"omp_blocktime": None}, None), ({"omp_blocktime": 30}, 30)],
)
def test_omp_blocktime_setting(glob, expected):
    from ppresnet45.training.settings import TrainSettings

    assert TrainSettings.from_config({"Global": glob}).omp_blocktime == expected


@pytest.mark.parametrize("value", [-1, 10**6, 2.5, True, "0", "Auto"])
def test_bad_omp_blocktime_is_a_config_error(value):
    from ppresnet45.errors import ConfigError
    from ppresnet45.training.settings import TrainSettings

    with pytest.raises(ConfigError, match="Global.omp_blocktime"):
        TrainSettings.from_config({"Global": {"omp_blocktime": value}})


def test_settings_to_try_pair_each_thread_count_above_one_with_each_block_time():
    assert settings_to_try([1, 2, 4], (0, 200)) == [(1, None), (2, 0), (2, 200), (4, 0), (4, 200)]
    assert settings_to_try([1, 2], ()) == [(1, None), (2, None)]
    assert describe_setting((2, 0)) == "2 thread(s) at 0 ms block time" and describe_setting((1, None)) == "1 thread(s)"


def test_tuner_for_times_what_the_config_leaves_open(monkeypatch):
    from ppresnet45.training.settings import TrainSettings

    _iomp()
    monkeypatch.delenv("KMP_BLOCKTIME", raising=False)

    def tuner(world_size=1, threads=2, **glob):
        return tuner_for(TrainSettings.from_config({"Global": glob}), world_size, threads)

    assert tuner(cpu_threads=2).candidates == [(2, b) for b in BLOCKTIMES]  # block time auto by default
    assert tuner(cpu_threads=2, omp_blocktime=0) is None  # both given: nothing to time
    assert tuner(threads=1, cpu_threads=1) is None  # one thread: no idle worker, no block time to choose
    assert tuner(omp_blocktime=0).candidates == [(1, None), (2, None)]
    assert tuner(world_size=2, threads=1) is None  # data-parallel processes keep their share
    monkeypatch.setenv("KMP_BLOCKTIME", "50")  # the user's environment wins over auto
    assert tuner(cpu_threads=2) is None


@pytest.mark.parametrize("slow_blocktime", BLOCKTIMES)
def test_tuner_keeps_the_faster_block_time_and_sets_it(slow_blocktime, monkeypatch):
    """Two block times at 2 threads: the slower one's steps really take longer; the tuner keeps the
    other and leaves the OpenMP runtime at it."""
    from ppresnet45.training.devices import set_omp_blocktime

    lib = _iomp()
    monkeypatch.delenv("KMP_BLOCKTIME", raising=False)
    try:
        tuner = ThreadTuner(settings_to_try([2], BLOCKTIMES), probe_steps=2)
        for _ in range(tuner.steps_needed()):
            assert lib.kmp_get_blocktime() == tuner.current[1]  # each candidate really runs at its block time
            t0 = time.perf_counter()
            time.sleep(0.05 if tuner.current[1] == slow_blocktime else 0.01)
            tuner.after_step(8, time.perf_counter() - t0)
        fast = next(b for b in BLOCKTIMES if b != slow_blocktime)
        assert tuner.chosen == (2, fast) and lib.kmp_get_blocktime() == fast
        assert tuner.pop_records()[0]["blocktime_ms"] == fast
    finally:
        set_omp_blocktime(200)
