"""Choosing the CPU thread count of a training run by timing it (``Global.cpu_threads: null``).

More threads are not always faster for eager Paddle on a CPU. On a 2-vCPU AMD EPYC (KVM
guest) one training process ran 6.63 images/s with 1 thread and 2.06 with 2, because Intel
OpenMP's idle workers spin for 200 ms after each of thousands of small kernels and take the
CPU from the Python thread; with the block time set to 0 (:func:`.devices.set_omp_blocktime`)
2 threads ran 7.48. On a 2-vCPU Intel Xeon (AMX) the same 0 ms made 2 threads *slower*
(15.4 images/s against 20.0 with the runtime's 200 ms): waking sleeping workers costs more
there than spinning does. Neither the count nor the block time is a constant, so both are
measured, not assumed.

:class:`ThreadTuner` runs the first training steps at each candidate *setting* — a thread
count (1, 2, 4, ... up to the usable cores) and, with more than one thread and
``Global.omp_blocktime: auto`` (the default), each block time of :data:`BLOCKTIMES` —
``probe_steps`` timed steps each after one untimed step, and then keeps the fastest. The probe
steps are ordinary training steps: no work is thrown away.

A choice made while another job shared the CPU can be wrong for the rest of the run (one
case: 1 thread 2.35 images/s, 2 threads 1.26 while another training ran; 2 threads was faster
once it ended). So the tuner keeps watching: it compares the speed of the last
``watch_steps`` steps with the speed the chosen count had when it was chosen, and when they
differ by more than ``drift`` (either way: a job started or ended) it times every candidate
again and chooses again (at most once every ``min_steps_between`` steps). Every choice is
logged with every candidate's speed and the reason (first choice, or which drift), and kept in
:attr:`ThreadTuner.history` for the run log.
"""

import logging
import os
import time

import paddle

from .devices import RUNTIME_BLOCKTIME, blocktime_settable, set_omp_blocktime

logger = logging.getLogger("ppresnet45.train")

PROBE_STEPS = 3  # timed steps per candidate (after one untimed step)
WATCH_STEPS = 20  # steps whose speed is compared with the speed at the choice
DRIFT = 0.3  # relative change that triggers a re-timing
MIN_STEPS_BETWEEN = 100  # steps from one timing to the next, at least
BLOCKTIMES = (0, RUNTIME_BLOCKTIME)  # ms, tried with every thread count above 1 under omp_blocktime: auto


def thread_candidates(cores):
    """1, 2, 4, ... below ``cores``, then ``cores`` itself."""
    out, n = [], 1
    while n < cores:
        out.append(n)
        n *= 2
    return out + [cores]


def set_threads(n):
    """Set the math-library threads of this process's CPU kernels."""
    paddle.base.core.set_num_threads(int(n))


def settings_to_try(thread_counts, blocktimes=()):
    """``(threads, blocktime ms or None)`` pairs: each count, and each count above 1 with each of
    ``blocktimes`` (one thread has no idle worker to spin or sleep)."""
    out = []
    for n in thread_counts:
        out.extend([(n, b) for b in blocktimes] if n > 1 and blocktimes else [(n, None)])
    return out


def describe_setting(setting):
    """``"2 thread(s)"`` or ``"2 thread(s) at 0 ms block time"``."""
    n, blocktime = setting
    return f"{n} thread(s)" + ("" if blocktime is None else f" at {blocktime} ms block time")


def apply_setting(setting):
    n, blocktime = setting
    set_threads(n)
    if blocktime is not None:
        set_omp_blocktime(blocktime)


def load_average():
    """The 1-minute load average, or None where the OS does not report it."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


class ThreadTuner:
    """Times training steps at each candidate setting, keeps the fastest, and times them again
    when the chosen setting's speed drifts.

    Call :meth:`after_step` after each training step with its images and seconds.

    Attributes:
        candidates (list[tuple]): the ``(threads, blocktime)`` settings tried, in order (plain
            ints are taken as ``(threads, None)``: the block time left as it is).
        speeds (dict[tuple, float]): images/s per setting at the latest timing.
        chosen (tuple | None): the choice in force (None while timing).
        history (list[dict]): one record per choice: ``step``, ``chosen``, ``speeds``,
            ``reason``, ``load`` (1-minute load average).
    """

    def __init__(
        self,
        candidates,
        probe_steps=PROBE_STEPS,
        watch_steps=WATCH_STEPS,
        drift=DRIFT,
        min_steps_between=MIN_STEPS_BETWEEN,
    ):
        self.candidates = [c if isinstance(c, tuple) else (int(c), None) for c in candidates]
        self.probe_steps = int(probe_steps)
        self.watch_steps = int(watch_steps)
        self.drift = float(drift)
        self.min_steps_between = int(min_steps_between)
        self.speeds = {}
        self.history = []
        self.steps = 0  # steps seen
        self._reason = "first timing"
        self._pending = []  # history records not yet taken by the run log
        self.chosen = None if len(self.candidates) > 1 else self.candidates[0]
        self._start_probe()

    def _start_probe(self):
        self._index, self._step, self._images, self._seconds = 0, 0, 0, 0.0
        self._probe_started = self.steps
        self._window = []  # (images, seconds) of the steps since the choice
        if self.chosen is None:
            apply_setting(self.candidates[0])

    @property
    def current(self):
        """The setting in use now."""
        return self.chosen if self.done else self.candidates[self._index]

    @property
    def threads(self):
        """The thread count in use now."""
        return self.current[0]

    @property
    def done(self):
        """Whether a choice is in force (False while timing the candidates)."""
        return self.chosen is not None

    def after_step(self, n_images, seconds):
        """Account one finished step of ``n_images`` that took ``seconds``; may switch to the next
        candidate, choose, or start timing again. Returns the thread count in use from now on."""
        self.steps += 1
        if len(self.candidates) == 1:
            return self.threads
        if self.done:
            self._watch(n_images, seconds)
            return self.threads
        if self._step > 0:  # the first step at a new count is not timed
            self._seconds += seconds
            self._images += n_images
        self._step += 1
        if self._step <= self.probe_steps:
            return self.threads
        self.speeds[self.candidates[self._index]] = self._images / max(self._seconds, 1e-9)
        self._index += 1
        self._step, self._images, self._seconds = 0, 0, 0.0
        if self._index < len(self.candidates):
            apply_setting(self.candidates[self._index])
            return self.threads
        self._choose()
        return self.threads

    def _choose(self):
        self.chosen = max(self.speeds, key=self.speeds.get)
        apply_setting(self.chosen)
        record = {
            "step": self.steps,
            "chosen": self.chosen[0],
            "blocktime_ms": self.chosen[1],
            "speeds": {describe_setting(k): v for k, v in self.speeds.items()},
            "reason": self._reason,
            "load": load_average(),
            "time": time.time(),
        }
        self.history.append(record)
        self._pending.append(record)
        logger.info(
            "cpu_threads: %s -> %s (%s; timed %d steps each, load average %s; re-timed when the "
            "speed drifts by more than %d %%; set Global.cpu_threads and Global.omp_blocktime to skip this)",
            ", ".join(f"{describe_setting(k)} {v:.2f} images/s" for k, v in self.speeds.items()),
            describe_setting(self.chosen),
            self._reason,
            self.probe_steps,
            record["load"],
            round(self.drift * 100),
        )

    def _watch(self, n_images, seconds):
        """After a choice: re-time when the last ``watch_steps`` steps' speed left the band."""
        self._window.append((n_images, seconds))
        if len(self._window) < self.watch_steps:
            return
        recent = self._window[-self.watch_steps :]
        speed = sum(n for n, _ in recent) / max(sum(t for _, t in recent), 1e-9)
        at_choice = self.speeds[self.chosen]
        change = speed / max(at_choice, 1e-9) - 1.0
        if abs(change) <= self.drift or self.steps - self._probe_started < self.min_steps_between:
            del self._window[: -self.watch_steps]
            return
        self._reason = (
            f"re-timed at step {self.steps}: {describe_setting(self.chosen)} ran {speed:.2f} images/s over the "
            f"last {self.watch_steps} steps, {change:+.0%} from {at_choice:.2f} when chosen"
        )
        self.chosen = None
        self._start_probe()

    def pop_records(self):
        """The choices made since the last call (for the run log)."""
        out, self._pending = self._pending, []
        return out

    def steps_needed(self):
        """Training steps the first timing takes (the run should be at least this long to finish it)."""
        return len(self.candidates) * (self.probe_steps + 1) if len(self.candidates) > 1 else 0


def tuning_candidates(settings, world_size, threads):
    """The ``(threads, blocktime)`` settings a run times first (an empty list: nothing to choose):
    one CPU process and more than one setting to try (``Global.cpu_threads`` null with more than
    one usable core, and/or ``Global.omp_blocktime: auto`` with more than one thread)."""
    if world_size != 1 or settings.use_gpu:
        return []
    counts = thread_candidates(threads) if settings.cpu_threads is None else [threads]
    blocktimes = BLOCKTIMES if settings.omp_blocktime == "auto" and blocktime_settable() else ()
    candidates = settings_to_try(counts, blocktimes)
    return candidates if len(candidates) > 1 else []


def tuning_steps(settings, world_size, threads):
    """Training steps the run's first timing takes (0 when it times nothing)."""
    return len(tuning_candidates(settings, world_size, threads)) * (PROBE_STEPS + 1)


def tuner_for(settings, world_size, threads):
    """A :class:`ThreadTuner` over :func:`tuning_candidates`, or None when there is nothing to time."""
    candidates = tuning_candidates(settings, world_size, threads)
    return ThreadTuner(candidates) if candidates else None


def describe_threads(tuner, threads):
    """The thread setting for the run's first log line."""
    if tuner is None:
        return str(threads)
    if tuner.done:
        return describe_setting(tuner.chosen)
    return f"chosen by timing {tuner.probe_steps} steps at each of {', '.join(map(describe_setting, tuner.candidates))}"
