"""POST /v1/recognize, /healthz and /metrics through the real app (TestClient, lifespan on)."""

import base64
import json
import struct
import zlib

import cv2
import numpy as np
import pytest

from ppresnet45.data.synth.render import render_line
from ppresnet45.inference import Recognizer

TEXTS = ("ab", "hello", "2026", "ResNet45 lines", "x")


def _png(img):
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


@pytest.fixture(scope="module")
def lines(tmp_path_factory):
    """Rendered lines: ``[(path, png bytes)]``."""
    folder = tmp_path_factory.mktemp("lines")
    rng = np.random.default_rng(3)
    out = []
    for i, text in enumerate(TEXTS):
        path = folder / f"{i}.png"
        data = _png(render_line(text, rng, augment=False))
        path.write_bytes(data)
        out.append((str(path), data))
    return out


def _bomb():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 400)) + chunk(b"IEND", b"")
    )


def _one_line_error(resp, status):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and body["error"] and "\n" not in body["error"], body
    return body["error"]


def test_multipart_and_json_give_the_text_of_the_entry_point_in_input_order(client, lines, tiny_model_dir):
    files = [("images", (f"{i}.png", data, "image/png")) for i, (_, data) in enumerate(lines)]
    by_form = client.post("/v1/recognize", files=files)
    by_json = client.post("/v1/recognize", json={"images": [base64.b64encode(d).decode() for _, d in lines]})
    assert by_form.status_code == 200 and by_json.status_code == 200, (by_form.text, by_json.text)
    # the same batch as the service's (batch size = max_batch_size 16, all lines in one call)
    local = Recognizer(tiny_model_dir, backend="paddle", precision="fp32", cpu_threads=1, batch_size=16)(
        [p for p, _ in lines]
    )
    want = [{"text": r["text"], "score": pytest.approx(r["score"], abs=1e-5)} for r in local]
    assert by_form.json() == {"results": want}
    assert by_json.json() == by_form.json()


def test_one_image_alone_and_a_partial_request_keep_input_order(client, lines):
    one = client.post("/v1/recognize", files={"images": ("a.png", lines[0][1], "image/png")})
    assert one.status_code == 200 and len(one.json()["results"]) == 1
    files = [
        ("images", ("a.png", lines[0][1])),
        ("images", ("junk.png", b"\x89PNG garbage")),
        ("images", ("b.png", lines[1][1])),
    ]
    mixed = client.post("/v1/recognize?partial=true", files=files)
    results = mixed.json()["results"]
    assert mixed.status_code == 200 and [set(r) for r in results] == [{"text", "score"}, {"error"}, {"text", "score"}]
    assert "images[1] (junk.png)" in results[1]["error"] and results[0] == one.json()["results"][0]


def test_bad_requests_are_one_line_4xx_and_the_service_stays_healthy(client, lines, tmp_path):
    before = client.get("/metrics").text
    good = lines[0][1]
    cases = [
        (
            client.post("/v1/recognize", files={"images": ("x.png", np.random.default_rng(0).bytes(3000))}),
            422,
            "cannot decode",
        ),
        (
            client.post("/v1/recognize", content=b'{"images": [', headers={"content-type": "application/json"}),
            400,
            "not valid JSON",
        ),
        (client.post("/v1/recognize", files={"images": ("notes.txt", b"just some text\n")}), 422, "notes.txt"),
        (client.post("/v1/recognize", files={"images": ("bomb.png", _bomb())}), 422, "over the limit"),
        (client.post("/v1/recognize", files=[("images", (f"{i}.png", good)) for i in range(9)]), 413, "--max_images"),
        (client.post("/v1/recognize", json={"images": [base64.b64encode(good).decode()] * 9}), 413, "--max_images"),
        (client.post("/v1/recognize", files={"images": ("big.png", b"\x00" * 300_000)}), 413, "--max_body_mb"),
        (client.post("/v1/recognize", json={"images": ["not base64!"]}), 422, "base64"),
        (client.post("/v1/recognize", json={"pictures": []}), 422, '{"images"'),
        (client.post("/v1/recognize", json={"images": []}), 422, "no images"),
        (
            client.post("/v1/recognize", data={"images": "a text field"}, files={"note": ("n.txt", b"x")}),
            422,
            "expected a file",
        ),
        (client.post("/v1/recognize", data={"images": "a form"}), 415, "x-www-form-urlencoded"),
        (client.post("/v1/recognize", content=b"raw", headers={"content-type": "image/png"}), 415, "content type"),
        (
            client.post(
                "/v1/recognize", content=b"--xx\r\nbroken", headers={"content-type": "multipart/form-data; boundary=xx"}
            ),
            422,
            "no images",
        ),
        (client.get("/v1/recognize"), 405, "Method Not Allowed"),
    ]
    for resp, status, words in cases:
        assert words in _one_line_error(resp, status)
    assert client.get("/healthz").json()["status"] == "ok"
    ok = client.post("/v1/recognize", files={"images": ("a.png", good)})
    assert ok.status_code == 200
    after = client.get("/metrics").text
    errors = [
        float(line.split()[-1])
        for text in (before, after)
        for line in text.splitlines()
        if line.startswith("ppresnet45_request_errors_total")
    ]
    assert errors[1] - errors[0] == len(cases) - 1  # all but the 405 (no such route for GET)


def test_metrics_are_prometheus_text_with_requests_latency_and_batch_sizes(client, lines):
    client.post("/v1/recognize", files=[("images", ("a.png", lines[0][1])), ("images", ("b.png", lines[1][1]))])
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    for name in ("ppresnet45_requests_total", "ppresnet45_request_seconds", "ppresnet45_batch_images"):
        assert f"# TYPE {name} " in text
    values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line and line[0] != "#"}
    assert values['ppresnet45_requests_total{status="200"}'] >= 1
    assert values['ppresnet45_batch_images_bucket{le="+Inf"}'] == values["ppresnet45_batch_images_count"] >= 1
    assert values['ppresnet45_request_seconds_bucket{le="+Inf"}'] == values["ppresnet45_request_seconds_count"]
    assert values["ppresnet45_batch_images_sum"] >= 2


def test_healthz_names_the_runtime(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["runtime"] == "paddle/fp32" and body["queued"] == 0


def test_a_bad_service_config_is_refused_with_the_option_named(tiny_model_dir):
    from ppresnet45.errors import DataError
    from ppresnet45.serving.app import ServiceConfig, create_app

    with pytest.raises(DataError, match="max_images"):
        create_app(ServiceConfig(model_dir=str(tiny_model_dir), max_images=0))
    assert json.loads(json.dumps({"ok": True}))  # the module imports cleanly without a running loop


def test_serve_command_errors_are_one_line(tiny_model_dir, tmp_path, capsys):
    from ppresnet45.cli import main

    assert main(["serve", "--model_dir", tiny_model_dir, "--replicas", "2"]) == 2
    assert main(["serve", "--model_dir", tiny_model_dir, "--engine", "ray", "--workers", "2"]) == 2
    assert main(["serve", "--model_dir", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert [line.split(":")[0] for line in err if line.startswith("error")] == ["error"] * 3, err
    assert "--replicas and --address need --engine ray" in err[0] and "use --replicas" in err[1]
    assert "nothing" in err[2] and "Traceback" not in "\n".join(err)


def test_the_uvicorn_workers_factory_builds_the_app_from_the_environment(tiny_model_dir, lines, monkeypatch):
    from fastapi.testclient import TestClient

    from ppresnet45.errors import DataError
    from ppresnet45.serving.app import CONFIG_ENV, ServiceConfig, app_from_env, config_json

    monkeypatch.delenv(CONFIG_ENV, raising=False)
    with pytest.raises(DataError, match=CONFIG_ENV):
        app_from_env()
    config = ServiceConfig(
        model_dir=str(tiny_model_dir), backend="paddle", precision="fp32", cpu_threads=1, max_images=2
    )
    monkeypatch.setenv(CONFIG_ENV, config_json(config))
    with TestClient(app_from_env()) as client:
        assert client.get("/healthz").json()["runtime"] == "paddle/fp32"
        too_many = client.post("/v1/recognize", files=[("images", ("a.png", lines[0][1]))] * 3)
    assert too_many.status_code == 413 and "limit of 2" in too_many.json()["error"]
