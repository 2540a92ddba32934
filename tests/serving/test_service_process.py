"""`ppresnet45 serve` as a real uvicorn process on 127.0.0.1: concurrent requests share one
model call, a few seconds of locust load see no failure, and SIGTERM lets the requests in
flight finish before the process exits."""

import base64
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from ppresnet45.data.synth.render import render_line

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url, images, timeout=60):
    body = json.dumps({"images": [base64.b64encode(b).decode() for b in images]}).encode()
    req = urllib.request.Request(url + "/v1/recognize", data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _metric(url, name):
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


def start_server(model_dir, port, *extra):
    """A `tools/serve.py` process and its URL, once /healthz answers."""
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""), GLOG_minloglevel="2")
    proc = subprocess.Popen(
        [
            sys.executable,
            os.path.join(REPO, "tools", "serve.py"),
            "--model_dir",
            str(model_dir),
            "--port",
            str(port),
            "--backend",
            "paddle",
            "--precision",
            "fp32",
            "--cpu_threads",
            "1",
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("serve exited early:\n" + proc.stdout.read()[-3000:])
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise AssertionError("serve did not become healthy in 120 s")


@pytest.fixture(scope="module")
def line_png():
    ok, buf = cv2.imencode(".png", render_line("hello", np.random.default_rng(0), augment=False))
    assert ok
    return buf.tobytes()


@pytest.fixture(scope="module")
def server(tiny_model_dir):
    """One uvicorn process for the tests below (the last one stops it with SIGTERM)."""
    proc, url = start_server(tiny_model_dir, free_port(), "--max_batch_size", "6", "--max_wait_ms", "1500")
    yield proc, url
    if proc.poll() is None:
        proc.kill()
        proc.wait(30)


@pytest.mark.slow
def test_concurrent_requests_share_one_model_call(server, line_png):
    _, url = server
    answers = [None] * 6
    threads = [threading.Thread(target=lambda i=i: answers.__setitem__(i, _post(url, [line_png]))) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(a is not None and a[0] == 200 for a in answers), answers
    assert len({json.dumps(a[1]) for a in answers}) == 1  # the same image, the same text
    # six requests within the 1.5 s window fill one batch of six: one model call
    assert _metric(url, "ppresnet45_batch_images_count") == 1 and _metric(url, "ppresnet45_batch_images_sum") == 6


@pytest.mark.slow
def test_a_short_locust_run_has_no_failures(server, tmp_path, line_png):
    # never import locust here: it monkey-patches the process with gevent (it runs in a child)
    if importlib.util.find_spec("locust") is None:
        pytest.skip("locust is not installed (the [loadtest] extra)")
    from ppresnet45.serving.loadtest import run_locust

    _, url = server
    (tmp_path / "line.png").write_bytes(line_png)
    before = _metric(url, "ppresnet45_batch_images_count")
    stats = run_locust(url, str(tmp_path), users=6, duration_s=4)
    assert stats["requests"] >= 6 and stats["failures"] == 0 and stats["p99_ms"] >= stats["p50_ms"] > 0, stats
    calls = _metric(url, "ppresnet45_batch_images_count") - before
    assert calls < stats["requests"]  # batched: fewer model calls than requests


@pytest.mark.slow
def test_sigterm_lets_in_flight_requests_finish(server, line_png):
    proc, url = server
    in_flight = {}
    sender = threading.Thread(target=lambda: in_flight.update(answer=_post(url, [line_png, line_png])))
    sender.start()
    time.sleep(0.5)  # the request now waits in the batcher (2 images < 6, 1.5 s window)
    proc.send_signal(signal.SIGTERM)
    sender.join(60)
    rc = proc.wait(60)
    log = proc.stdout.read()
    assert in_flight["answer"][0] == 200 and len(in_flight["answer"][1]["results"]) == 2, (in_flight, log[-2000:])
    # uvicorn re-raises the signal it handled once it has shut down gracefully: rc is -SIGTERM
    assert rc in (0, -signal.SIGTERM) and "Shutting down" in log and "Finished server process" in log, log[-2000:]
