"""Batch recognition on Ray Data: ``ppresnet45 infer --engine ray --workers N [--address ADDR]``.

The driver (the ``infer`` process) lists the source and skips what ``--resume`` finds in the
results file, exactly as a local run does (:meth:`ppresnet45.inference.Recognizer.run`); this
engine then hands the inputs still to do to Ray Data: a dataset of ``(position, path)`` items,
``map_batches`` over :class:`RecognizeBatch`, a callable class Ray runs in a fixed pool of
``N`` actors. Each actor makes one :class:`~ppresnet45.inference.Recognizer` (the model is
loaded once per actor) with ``threads`` math-library threads and asks Ray for as many CPUs, so
N actors never run more threads than the cluster has cores. Rows come back to the driver
batch by batch, in whatever order the actors finish, and are appended and flushed to the
results file as they arrive: a killed run keeps every row it received, and ``--resume`` skips
them. Ray Data restarts a dead actor and retries its batch; a batch that arrives twice is
written once (the entry point keys rows by their input position).

Paths travel, not pixels: every node must see the inputs and the model folder under the same
paths (a shared file system), and have ppresnet45 installed.
"""

import json
import os
import time

from tqdm import tqdm

from ..errors import DataError
from ..inference.api import WINDOW_BATCHES  # model batches per actor call, as a local window
from ..inference.sources import BadInput


class RecognizeBatch:
    """What each Ray Data actor runs: one recognizer, made once, over batches of items.

    Args:
        settings (dict): :meth:`ppresnet45.inference.Recognizer.settings` of the driver's recognizer.
    """

    def __init__(self, settings):
        os.environ.setdefault("GLOG_minloglevel", "2")
        import ray

        from ..inference.api import Recognizer

        self.recognizer = Recognizer(**settings)
        self.worker = f"{ray.get_runtime_context().get_node_id()}:{os.getpid()}"

    def __call__(self, batch):
        """``{"pos", "path", "bad"}`` columns -> ``{"pos", "row" (JSON), "runtime", "worker", "busy_s"}``
        columns (``busy_s``: the call's recognition time, shared among its rows)."""
        inputs = [BadInput(None, str(bad)) if bad else str(path) for path, bad in zip(batch["path"], batch["bad"])]
        t0 = time.perf_counter()
        rows = self.recognizer(inputs)
        share = (time.perf_counter() - t0) / max(len(rows), 1)
        runtime = f"{self.recognizer.backend}/{self.recognizer.precision}"
        return {
            "pos": batch["pos"],
            "row": [json.dumps(r, ensure_ascii=False) for r in rows],
            "runtime": [runtime] * len(rows),
            "worker": [self.worker] * len(rows),
            "busy_s": [share] * len(rows),
        }


def import_ray():
    """``ray``, or a one-line error naming the extra to install."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise DataError(f"--engine ray needs Ray Data ({exc}); pip install 'ppresnet45[ray]'") from None
    return ray


def plan_threads(node_cpus, workers, cpu_threads=None):
    """Math-library threads (and Ray CPUs) per actor: ``cpu_threads`` if given, else the cluster's
    CPUs shared among the workers, at most one node's worth.

    Args:
        node_cpus (list[float]): the CPUs of each live node.
        workers (int): actors wanted.
        cpu_threads (int | None): the user's choice.

    Raises:
        DataError: the cluster cannot hold ``workers`` actors of that many CPUs.
    """
    total, biggest = int(sum(node_cpus)), int(max(node_cpus, default=0))
    threads = cpu_threads or max(1, min(biggest, total // max(workers, 1)))
    fits = sum(int(c) // threads for c in node_cpus)
    if fits < workers:
        raise DataError(
            f"--workers {workers} with {threads} thread(s) each: the Ray cluster has room for {fits} "
            f"(CPUs per node: {', '.join(str(int(c)) for c in node_cpus) or 'none'}); "
            "lower --workers or --cpu_threads, or add nodes"
        )
    return threads


class RayBatchEngine:
    """Recognize a run's inputs on Ray Data actors (see the module docs).

    Args:
        workers (int): actors (one model each).
        address (str | None): a running cluster (``ray://host:10001`` or ``host:6379``); None:
            ``RAY_ADDRESS`` if set, else a local Ray started for this run and stopped after it.
        cpu_threads (int | None): threads per actor (None: :func:`plan_threads`).
        batch_rows (int | None): items per actor call (None: the recognizer's batch size x
            :data:`WINDOW_BATCHES`).

    Attributes (after a run):
        backend, precision (str): what the actors ran (the first batch's).
        stats (dict): ``images``, ``wall_s``, ``images_per_s``, ``workers``, ``threads``.
        rows_by_worker (dict): ``"<node id>:<pid>"`` -> rows it returned (a restarted actor is a new pid).
        busy_by_worker (dict): ``"<node id>:<pid>"`` -> seconds it spent recognizing (model
            loading and Ray's scheduling excluded): ``images / max(busy)`` is the run's rate with
            every actor busy.
    """

    def __init__(self, workers=1, address=None, cpu_threads=None, batch_rows=None):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise DataError(f"--workers: expected a positive int, got {workers!r}")
        self.workers, self.address, self.cpu_threads, self.batch_rows = workers, address, cpu_threads, batch_rows
        self.backend = self.precision = None
        self.stats = None
        self.threads = None
        self.rows_by_worker = {}
        self.busy_by_worker = {}

    def _connect(self, ray):
        """Join ``address`` / ``RAY_ADDRESS`` or start a local Ray; True when this engine started it."""
        if ray.is_initialized():
            return False
        address = self.address or os.environ.get("RAY_ADDRESS") or None
        env = {"env_vars": {"GLOG_minloglevel": "2"}}
        if address:
            ray.init(address=address, runtime_env=env, log_to_driver=False)
        else:
            ray.init(include_dashboard=False, runtime_env=env, log_to_driver=False)
        return True

    def windows(self, recognizer, inputs, progress):
        """Yield ``(positions, rows)`` as the actors finish batches (the engine protocol of
        :meth:`ppresnet45.inference.Recognizer.run`)."""
        self.stats = {"images": len(inputs), "wall_s": 0.0, "images_per_s": 0.0, "workers": self.workers}
        if not inputs:  # everything was resumed: no cluster needed
            return
        ray = import_ray()
        started = self._connect(ray)
        try:
            yield from self._run(ray, recognizer, inputs, progress)
        finally:
            if started:
                ray.shutdown()

    def _run(self, ray, recognizer, inputs, progress):
        t0 = time.perf_counter()
        node_cpus = [n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")]
        self.threads = plan_threads(node_cpus, self.workers, self.cpu_threads)
        settings = dict(recognizer.settings(), cpu_threads=self.threads)
        rows_per_call = self.batch_rows or settings["batch_size"] * WINDOW_BATCHES
        items = [
            {
                "pos": i,
                "path": "" if isinstance(x, BadInput) else os.fspath(x),
                "bad": x.reason if isinstance(x, BadInput) else "",
            }
            for i, x in enumerate(inputs)
        ]
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        blocks = max(1, -(-len(items) // rows_per_call))
        ds = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
            RecognizeBatch,
            fn_constructor_kwargs={"settings": settings},
            batch_size=rows_per_call,
            compute=ray.data.ActorPoolStrategy(size=self.workers),
            num_cpus=self.threads,
            batch_format="numpy",
        )
        failed = 0
        with tqdm(
            total=len(items),
            desc=f"recognize (ray, {self.workers} workers)",
            unit="img",
            dynamic_ncols=True,
            disable=not progress,
        ) as bar:
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                rows = [json.loads(r) for r in batch["row"]]
                if self.backend is None and len(batch["runtime"]):
                    self.backend, self.precision = str(batch["runtime"][0]).split("/", 1)
                failed += sum("error" in r for r in rows)
                for worker, busy in zip(batch["worker"], batch["busy_s"]):
                    worker = str(worker)
                    self.rows_by_worker[worker] = self.rows_by_worker.get(worker, 0) + 1
                    self.busy_by_worker[worker] = self.busy_by_worker.get(worker, 0.0) + float(busy)
                bar.update(len(rows))
                yield [int(p) for p in batch["pos"]], rows
        wall = time.perf_counter() - t0
        busiest = max(self.busy_by_worker.values(), default=0.0)
        self.stats.update(
            wall_s=wall,
            threads=self.threads,
            failed=failed,
            images_per_s=(len(items) - failed) / wall if wall > 0 else 0.0,
            busy_images_per_s=len(items) / busiest if busiest > 0 else 0.0,
        )
