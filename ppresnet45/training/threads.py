"""Choosing the CPU thread count of a training run by timing it (``Global.cpu_threads: null``).

More threads are not always faster for eager Paddle on a CPU. On a 2-vCPU AMD EPYC (KVM
guest) one training process ran 6.63 images/s with 1 thread and 2.06 with 2, because Intel
OpenMP's idle workers spin for 200 ms after each of thousands of small kernels and take the
CPU from the Python thread; with the block time set to 0 (:func:`.devices.set_omp_blocktime`,
which training now does) 2 threads ran 7.48. Other machines, other runtimes and other models
can still tip the other way, so the count is measured, not assumed.

:class:`ThreadTuner` runs the first training steps at each candidate thread count (1, 2, 4,
... up to the usable cores; ``probe_steps`` timed steps each after one untimed step) and then
keeps the fastest. The probe steps are ordinary training steps — no work is thrown away.

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

logger = logging.getLogger("ppresnet45.train")

PROBE_STEPS = 3  # timed steps per candidate (after one untimed step)
WATCH_STEPS = 20  # steps whose speed is compared with the speed at the choice
DRIFT = 0.3  # relative change that triggers a re-timing
MIN_STEPS_BETWEEN = 100  # steps from one timing to the next, at least


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


def load_average():
    """The 1-minute load average, or None where the OS does not report it."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


class ThreadTuner:
    """Times training steps at each candidate thread count, keeps the fastest, and times
    them again when the chosen count's speed drifts.

    Call :meth:`after_step` after each training step with its images and seconds.

    Attributes:
        candidates (list[int]): the thread counts tried, in order.
        speeds (dict[int, float]): images/s per thread count at the latest timing.
        chosen (int | None): the choice in force (None while timing).
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
        self.candidates = list(candidates)
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
            set_threads(self.candidates[0])

    @property
    def current(self):
        """The thread count in use now."""
        return self.chosen if self.done else self.candidates[self._index]

    @property
    def done(self):
        """Whether a choice is in force (False while timing the candidates)."""
        return self.chosen is not None

    def after_step(self, n_images, seconds):
        """Account one finished step of ``n_images`` that took ``seconds``; may switch to the next
        candidate, choose, or start timing again. Returns the thread count in use from now on."""
        self.steps += 1
        if len(self.candidates) == 1:
            return self.chosen
        if self.done:
            self._watch(n_images, seconds)
            return self.current
        if self._step > 0:  # the first step at a new count is not timed
            self._seconds += seconds
            self._images += n_images
        self._step += 1
        if self._step <= self.probe_steps:
            return self.current
        self.speeds[self.candidates[self._index]] = self._images / max(self._seconds, 1e-9)
        self._index += 1
        self._step, self._images, self._seconds = 0, 0, 0.0
        if self._index < len(self.candidates):
            set_threads(self.candidates[self._index])
            return self.current
        self._choose()
        return self.chosen

    def _choose(self):
        self.chosen = max(self.speeds, key=self.speeds.get)
        set_threads(self.chosen)
        record = {
            "step": self.steps,
            "chosen": self.chosen,
            "speeds": dict(self.speeds),
            "reason": self._reason,
            "load": load_average(),
            "time": time.time(),
        }
        self.history.append(record)
        self._pending.append(record)
        logger.info(
            "cpu_threads: %s -> %d thread(s) (%s; timed %d steps each, load average %s; re-timed when the "
            "speed drifts by more than %d %%; set Global.cpu_threads to skip this)",
            ", ".join(f"{n} thread(s) {v:.2f} images/s" for n, v in self.speeds.items()),
            self.chosen,
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
            f"re-timed at step {self.steps}: {self.chosen} thread(s) ran {speed:.2f} images/s over the "
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


def tuner_for(settings, world_size, threads):
    """A :class:`ThreadTuner` when the run should choose its thread count: ``Global.cpu_threads``
    null, one CPU process, more than one usable core; else None."""
    if settings.cpu_threads is None and world_size == 1 and not settings.use_gpu and threads > 1:
        return ThreadTuner(thread_candidates(threads))
    return None


def describe_threads(tuner, threads):
    """The thread setting for the run's first log line."""
    if tuner is None or tuner.done:
        return str(threads)
    return f"chosen by timing {tuner.probe_steps} steps at each of {', '.join(map(str, tuner.candidates))}"
