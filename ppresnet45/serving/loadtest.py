"""Load a running service with locust, headless, and read back its figures.

:func:`run_locust` runs ``python -m locust`` against ``url`` with
:mod:`.locust_recognize` (one image per request, no think time) for a fixed time and returns
throughput, failures and latency percentiles from locust's CSV summary. Used by
``ppresnet45 benchmark-serve`` (60 s, 32 users) and by a few-second smoke test.
"""

import csv
import os
import subprocess
import sys
import tempfile

from ..errors import PPResNetError

LOCUSTFILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locust_recognize.py")


def run_locust(url, images_dir, users=32, duration_s=60, spawn_rate=None, timeout_s=None):
    """Load ``url`` for ``duration_s`` seconds with ``users`` concurrent users.

    Args:
        url (str): the service, e.g. ``http://127.0.0.1:8000``.
        images_dir (str): a folder of images, one per request, drawn at random.
        users (int): concurrent users (each sends its next request as soon as one is answered).
        duration_s (int): how long to run.
        spawn_rate (float | None): users started per second (default: all at once).
        timeout_s (float | None): kill locust after this long (default: duration + 60 s).

    Returns:
        dict: ``requests``, ``failures``, ``rps``, ``p50_ms``, ``p95_ms``, ``p99_ms``, ``mean_ms``.

    Raises:
        PPResNetError: locust did not run or wrote no summary.
    """
    with tempfile.TemporaryDirectory(prefix="ppresnet45_locust_") as tmp:
        prefix = os.path.join(tmp, "run")
        cmd = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            LOCUSTFILE,
            "--headless",
            "-u",
            str(users),
            "-r",
            str(spawn_rate or users),
            "-t",
            f"{int(duration_s)}s",
            "--host",
            url,
            "--csv",
            prefix,
            "--only-summary",
            "--exit-code-on-error",
            "0",
            "--stop-timeout",
            "10",
        ]
        env = dict(os.environ, PPRESNET45_LOCUST_IMAGES=os.path.abspath(images_dir))
        proc = subprocess.run(
            cmd, env=env, capture_output=True, text=True, check=False, timeout=timeout_s or duration_s + 60
        )
        stats = prefix + "_stats.csv"
        if proc.returncode != 0 or not os.path.isfile(stats):
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise PPResNetError(f"locust exited with {proc.returncode}: {' | '.join(tail)}")
        with open(stats, newline="", encoding="utf-8") as f:
            rows = {r["Name"]: r for r in csv.DictReader(f)}
    row = rows.get("Aggregated") or next(iter(rows.values()))
    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "p50_ms": float(row["50%"]),
        "p95_ms": float(row["95%"]),
        "p99_ms": float(row["99%"]),
        "mean_ms": float(row["Average Response Time"]),
        "users": users,
        "duration_s": duration_s,
    }
