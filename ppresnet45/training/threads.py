"""Choosing the CPU thread count of a training run by timing it (``Global.cpu_threads: null``).

More threads are not always faster for eager Paddle on a CPU. On a 2-vCPU AMD EPYC (KVM
guest) one training process ran 6.63 images/s with 1 thread and 2.06 with 2, because Intel
OpenMP's idle workers spin for 200 ms after each of thousands of small kernels and take the
CPU from the Python thread; with the block time set to 0 (:func:`.devices.set_omp_blocktime`,
which training now does) 2 threads ran 7.48. Other machines, other runtimes and other models
can still tip the other way, so the count is measured, not assumed.

:class:`ThreadTuner` runs the first training steps at each candidate thread count (1, 2, 4,
... up to the usable cores; ``probe_steps`` timed steps each after one untimed step) and then
keeps the fastest for the rest of the run. The probe steps are ordinary training steps — no
work is thrown away — and the choice and every candidate's speed go to the log.
"""

import logging

import paddle

logger = logging.getLogger("ppresnet45.train")

PROBE_STEPS = 3  # timed steps per candidate (after one untimed step)


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


class ThreadTuner:
    """Times training steps at each candidate thread count, then keeps the fastest.

    Call :meth:`after_step` after each training step with its images and seconds.

    Attributes:
        candidates (list[int]): the thread counts tried, in order.
        speeds (dict[int, float]): measured images/s per thread count.
        chosen (int | None): the choice, once made.
    """

    def __init__(self, candidates, probe_steps=PROBE_STEPS):
        self.candidates = list(candidates)
        self.probe_steps = int(probe_steps)
        self.speeds = {}
        self.chosen = None if len(self.candidates) > 1 else self.candidates[0]
        self._index = 0
        self._step = 0  # steps done at the current candidate (the first is not timed)
        self._images = 0
        self._seconds = 0.0
        if self.chosen is None:
            set_threads(self.candidates[0])

    @property
    def current(self):
        """The thread count in use now."""
        return self.chosen if self.done else self.candidates[self._index]

    @property
    def done(self):
        return self.chosen is not None

    def after_step(self, n_images, seconds):
        """Account one finished step of ``n_images`` that took ``seconds``; may switch to the next
        candidate or choose. Returns the thread count in use from now on."""
        if self.done:
            return self.chosen
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
        self.chosen = max(self.speeds, key=self.speeds.get)
        set_threads(self.chosen)
        logger.info("cpu_threads: %s -> %d thread(s) for the rest of the run (timed %d steps each; set "
                    "Global.cpu_threads to skip this)", ", ".join(f"{n} thread(s) {v:.2f} images/s"
                                                           for n, v in self.speeds.items()), self.chosen,
                    self.probe_steps)
        return self.chosen

    def steps_needed(self):
        """Training steps the probe takes (the run should be at least this long to finish it)."""
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
