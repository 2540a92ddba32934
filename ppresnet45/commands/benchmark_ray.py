"""Lines/s of ``infer --engine ray`` with 1 and 2 workers (1 thread each), against one local process.

    ppresnet45 benchmark-ray --model_dir /tmp/demo_export \\
        --image_dir output/demo_plain/data/train_clean.txt --lines 3000 --workers 1,2 --rounds 2

One local Ray (all cores) serves every run; rounds go 1, 2, 1, 2 workers ... so drift on a shared
machine hits both alike. Per run: the end-to-end rate (actors starting and loading the model
included) and the steady rate: lines over the busiest actor's recognition time
(:attr:`RayBatchEngine.busy_by_worker`; model loading and Ray's start-up excluded), or for the
local process its recognition rate. First, the driver alone (``--driver_lines`` made-up
paths, canned rows, no image read): listing, merging + scoring + writing, and the resume
scan, the parts of a run that do not grow with the cluster. Prints the same-run ratio 2 vs 1
worker, the CPU and the load average before and after each run, and writes ``--out`` (JSON).
"""

import json
import os
import statistics
import sys
import tempfile
import time

from ..engines.ray_batch import RayBatchEngine
from ..inference import Recognizer
from ..inference.sources import list_image_sources
from ..utils.cpu import cpu_description, cpu_record


def load_average():
    return os.getloadavg()[0]


def timed_run(recognizer, labels, engine):
    t0 = time.perf_counter()
    load0 = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        done = recognizer.run(labels, output=os.path.join(tmp, "rows.jsonl"), engine=engine)
    wall = time.perf_counter() - t0
    busy = engine.stats["busy_images_per_s"] if engine else done.stats["images_per_s"]
    return {
        "lines": done.images,
        "failed": done.n_failed,
        "wall_s": round(wall, 2),
        "end_to_end_lines_per_s": round(done.images / wall, 1),
        "steady_lines_per_s": round(busy, 1),
        "runtime": f"{done.backend}/{done.precision}",
        "load_before": load0,
        "load_after": load_average(),
        "rows_by_worker": list(engine.rows_by_worker.values()) if engine else None,
        "busy_s_by_worker": [round(b, 2) for b in engine.busy_by_worker.values()] if engine else None,
    }


class CannedEngine:
    """An engine that recognizes nothing: every input gets a fixed row, 64 at a time, so a run
    measures only the driver's side (listing, resume, merging, scoring, writing)."""

    backend, precision, stats = "canned", "-", None

    def windows(self, recognizer, inputs, progress):
        for lo in range(0, len(inputs), 64):
            chunk = inputs[lo : lo + 64]
            yield range(lo, lo + len(chunk)), [{"path": str(p), "text": "some text", "score": 0.98} for p in chunk]
        self.stats = {"images": len(inputs), "wall_s": 0.0}


def driver_bounds(recognizer, lines):
    """Rows/s of the driver alone on a label file of ``lines`` made-up paths (no image is read)."""
    tmp = tempfile.mkdtemp(prefix="ppresnet45_bench_driver_")
    labels, out = os.path.join(tmp, "labels.txt"), os.path.join(tmp, "rows.jsonl")
    with open(labels, "w", encoding="utf-8") as f:
        f.writelines(f"/shared/lines/{i:09d}.png\tsome text\n" for i in range(lines))
    t0 = time.perf_counter()
    list_image_sources(labels)
    listing = time.perf_counter() - t0
    t0 = time.perf_counter()
    recognizer.run(labels, output=out, engine=CannedEngine())
    driver = time.perf_counter() - t0
    t0 = time.perf_counter()
    recognizer.run(labels, output=out, resume=True, engine=CannedEngine())
    resume = time.perf_counter() - t0
    return {
        "lines": lines,
        "listing_lines_per_s": round(lines / listing),
        "driver_rows_per_s": round(lines / driver),
        "resume_scan_s": round(resume, 2),
        "load": load_average(),
    }


def add_arguments(parser):
    parser.add_argument("--model_dir", required=True)
    parser.add_argument("--image_dir", required=True, help="a folder or a 'path<TAB>text' label file")
    parser.add_argument("--lines", type=int, default=3000, help="first N inputs (default 3000)")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--precision", default=None)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--out", default="benchmark_ray.json")
    parser.add_argument(
        "--driver_lines",
        type=int,
        default=100000,
        help="also time the driver alone (canned rows) on this many made-up lines (0: skip)",
    )


def run(args):
    import ray

    sources = list_image_sources(args.image_dir)
    n = min(args.lines, len(sources.paths))
    tmp = tempfile.mkdtemp(prefix="ppresnet45_bench_ray_")
    labels = os.path.join(tmp, "labels.txt")
    with open(labels, "w", encoding="utf-8") as f:
        for i in range(n):
            text = sources.labels[i] if sources.labels else ""
            f.write(f"{os.path.abspath(sources.paths[i])}\t{text}\n")
    for path in sources.paths[:n]:  # warm the page cache: no run pays for the first disk reads
        with open(path, "rb") as f:
            f.read()
    recognizer = Recognizer(
        args.model_dir, backend=args.backend, precision=args.precision, cpu_threads=1, batch_size=args.batch_size
    )
    print(f"CPU: {cpu_description()}; {n} lines, batch {args.batch_size}", file=sys.stderr)
    driver = driver_bounds(recognizer, args.driver_lines) if args.driver_lines else None
    if driver:
        print(f"driver alone: {driver}", file=sys.stderr)
    local = timed_run(recognizer, labels, None)  # one process, one thread: the reference
    print(f"local (1 process, 1 thread): {local}", file=sys.stderr)
    ray.init(include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": {"GLOG_minloglevel": "2"}})
    workers = [int(w) for w in args.workers.split(",")]
    runs = {w: [] for w in workers}
    try:
        for r in range(args.rounds):
            for w in workers:
                res = timed_run(recognizer, labels, RayBatchEngine(workers=w, cpu_threads=1))
                runs[w].append(res)
                print(f"round {r + 1}, {w} worker(s) x 1 thread: {res}", file=sys.stderr)
    finally:
        ray.shutdown()
    summary = {
        w: {k: statistics.median(x[k] for x in rs) for k in ("steady_lines_per_s", "end_to_end_lines_per_s")}
        for w, rs in runs.items()
    }
    report = {"cpu": cpu_record(), "lines": n, "driver": driver, "local": local, "runs": runs, "median": summary}
    if len(workers) >= 2:
        a, b = workers[0], workers[1]
        report["ratio_steady"] = round(summary[b]["steady_lines_per_s"] / summary[a]["steady_lines_per_s"], 2)
        report["ratio_end_to_end"] = round(
            summary[b]["end_to_end_lines_per_s"] / summary[a]["end_to_end_lines_per_s"], 2
        )
    with open(args.out + ".tmp", "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    os.replace(args.out + ".tmp", args.out)
    for w in workers:
        print(
            f"{w} worker(s): steady {summary[w]['steady_lines_per_s']:.1f} lines/s, end-to-end "
            f"{summary[w]['end_to_end_lines_per_s']:.1f} lines/s (median of {args.rounds})"
        )
    if "ratio_steady" in report:
        print(
            f"{workers[1]} vs {workers[0]} workers: steady x{report['ratio_steady']}, end-to-end "
            f"x{report['ratio_end_to_end']}; load average now {load_average():.2f}; CPU {cpu_description()}"
        )
    return 0
