"""The service's FastAPI app on Ray Serve (two replicas over the simulated two-node cluster):
the same answers as the entry point, the same one-line 4xx, /healthz and /metrics."""

import base64
import json
import socket
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from ppresnet45.data.synth.render import render_line
from ppresnet45.inference import Recognizer


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url, body=None):
    req = urllib.request.Request(url, data=body, headers={"content-type": "application/json"} if body else {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.slow
def test_the_same_app_on_ray_serve_replicas_answers_like_the_entry_point(two_nodes, tiny_model_dir, tmp_path):
    pytest.importorskip("fastapi")
    from ray import serve

    from ppresnet45.serving import ray_serve
    from ppresnet45.serving.app import ServiceConfig

    rng = np.random.default_rng(5)
    paths = []
    for i, text in enumerate(("one", "two 2", "three")):
        paths.append(tmp_path / f"{i}.png")
        cv2.imwrite(str(paths[-1]), render_line(text, rng, augment=False))
    port = _free_port()
    config = ServiceConfig(model_dir=str(tiny_model_dir), backend="paddle", precision="fp32", cpu_threads=1)
    started = ray_serve.deploy(config, replicas=2, port=port)
    try:
        url = f"http://127.0.0.1:{port}"
        body = json.dumps({"images": [base64.b64encode(p.read_bytes()).decode() for p in paths]}).encode()
        status, text = _call(url + "/v1/recognize", body)
        bad_status, bad = _call(url + "/v1/recognize", b'{"images": ["!!"]}')
        health = [json.loads(_call(url + "/healthz")[1]) for _ in range(4)]
        metrics = _call(url + "/metrics")[1]
        replicas = serve.status().applications[ray_serve.DEPLOYMENT].deployments[ray_serve.DEPLOYMENT]
    finally:
        ray_serve.shutdown(started)
    local = Recognizer(tiny_model_dir, backend="paddle", precision="fp32", cpu_threads=1, batch_size=16)(
        [str(p) for p in paths]
    )
    assert status == 200, text
    got = json.loads(text)["results"]
    assert [r["text"] for r in got] == [r["text"] for r in local]
    assert got[0]["score"] == pytest.approx(local[0]["score"], abs=1e-5)
    assert bad_status == 422 and json.loads(bad) == {"error": "images[0]: not valid base64"}
    assert all(h["status"] == "ok" and h["runtime"] == "paddle/fp32" for h in health)
    assert "ppresnet45_request_seconds_bucket" in metrics
    assert replicas.replica_states.get("RUNNING") == 2
