"""Load the recognition service with locust: throughput and p50/p95/p99 latency with dynamic
batching and with batch 1, same machine, same run.

    ppresnet45 benchmark-serve --model_dir /tmp/demo_export \\
        --image_dir output/demo_plain/data/heldout --users 32 --duration 60 --batch_sizes 1,16

For each ``--batch_sizes`` value: start ``ppresnet45 serve`` (uvicorn on 127.0.0.1, or Ray
Serve with ``--engine ray --replicas N``; a free port, ``--max_batch_size`` that value), wait
for ``/healthz``, run locust headless (``--users`` concurrent users, one image per request, no
think time) for ``--duration`` seconds, read the service's own ``/metrics`` (mean images per
model call; under Ray Serve, of the replica that answered), stop it with SIGTERM. Prints one line
per setting and the throughput gain of the largest batch over batch 1, with the CPU and the
load average; writes ``--out`` (JSON).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from ..serving.loadtest import run_locust
from ..utils.cpu import cpu_description, cpu_record


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args, batch, port):
    cmd = [
        sys.executable,
        "-m",
        "ppresnet45",
        "serve",
        "--model_dir",
        args.model_dir,
        "--port",
        str(port),
        "--max_batch_size",
        str(batch),
        "--max_wait_ms",
        str(args.max_wait_ms),
        "--backend",
        args.backend,
        "--engine",
        args.engine,
    ]
    cmd += ["--replicas", str(args.replicas)] if args.engine == "ray" else ["--workers", str(args.workers)]
    if args.precision:
        cmd += ["--precision", args.precision]
    if args.cpu_threads:
        cmd += ["--cpu_threads", str(args.cpu_threads)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:
                return proc, url, json.loads(resp.read())
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"serve exited with {proc.returncode}: {' '.join(cmd)}") from None
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("serve did not become healthy in 300 s")


def metrics(url):
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        values = {}
        for line in resp.read().decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
    return values


def add_arguments(parser):
    parser.add_argument("--model_dir", required=True)
    parser.add_argument("--image_dir", required=True, help="a folder of text-line images (one per request)")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--duration", type=int, default=60, help="seconds per setting (default 60)")
    parser.add_argument("--batch_sizes", default="1,16", help="--max_batch_size values to compare (default 1,16)")
    parser.add_argument("--max_wait_ms", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local", help="uvicorn or Ray Serve")
    parser.add_argument("--replicas", type=int, default=1, help="with --engine ray: Ray Serve replicas")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--precision", default=None)
    parser.add_argument("--cpu_threads", type=int, default=None)
    parser.add_argument("--out", default="benchmark_serve.json")


def run(args):
    print(f"CPU: {cpu_description()}", file=sys.stderr)
    results = []
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        proc, url, health = start(args, batch, free_port())
        try:
            load0 = os.getloadavg()[0]
            stats = run_locust(url, args.image_dir, users=args.users, duration_s=args.duration)
            m = metrics(url)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)
        calls = m.get("ppresnet45_batch_images_count", 0)
        stats.update(
            max_batch_size=batch,
            max_wait_ms=args.max_wait_ms,
            runtime=health.get("runtime"),
            mean_batch=round(m.get("ppresnet45_batch_images_sum", 0) / calls, 2) if calls else None,
            http_5xx=sum(v for k, v in m.items() if k.startswith('ppresnet45_requests_total{status="5')),
            load_before=load0,
            load_after=os.getloadavg()[0],
        )
        results.append(stats)
        print(
            f"batch <= {batch:3d} ({stats['runtime']}): {stats['rps']:.1f} req/s, p50 {stats['p50_ms']:.0f} ms, "
            f"p95 {stats['p95_ms']:.0f} ms, p99 {stats['p99_ms']:.0f} ms, {stats['failures']} failures of "
            f"{stats['requests']}, mean batch {stats['mean_batch']}, load {load0:.2f} -> {stats['load_after']:.2f}"
        )
    report = {
        "cpu": cpu_record(),
        "users": args.users,
        "duration_s": args.duration,
        "workers": args.workers,
        "engine": args.engine,
        "replicas": args.replicas if args.engine == "ray" else None,
        "results": results,
    }
    if len(results) >= 2 and results[0]["rps"] > 0:
        report["gain"] = round(results[-1]["rps"] / results[0]["rps"], 2)
        print(
            f"dynamic batching (<= {results[-1]['max_batch_size']}) vs batch 1: x{report['gain']} throughput; "
            f"CPU {cpu_description()}"
        )
    with open(args.out + ".tmp", "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    os.replace(args.out + ".tmp", args.out)
    return 1 if any(r["failures"] or r["http_5xx"] for r in results) else 0
