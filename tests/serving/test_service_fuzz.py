"""The image fuzz corpus of tests/inference/test_fuzz_images.py, each file sent as a request:
no 5xx, a 422 exactly for the files ``load_image`` refuses, and the service healthy after."""

import importlib.util
import pathlib

import pytest

from ppresnet45.inference.images import ImageLoadError, load_image


def _fuzz_module():
    path = pathlib.Path(__file__).resolve().parents[1] / "inference" / "test_fuzz_images.py"
    spec = importlib.util.spec_from_file_location("fuzz_images_for_serving", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_every_fuzz_file_as_a_request_is_answered_without_5xx_and_the_service_stays_healthy(
    tiny_model_dir, tmp_path, client_factory
):
    folder = tmp_path / "fuzz"
    folder.mkdir()
    lines, _ = _fuzz_module()._generate(folder)
    files = [folder / line.split("\t")[0] for line in lines if "\t" in line and line.split("\t")[0]]
    files = [f for f in files if f.is_file()]
    statuses, wrong = {}, []
    with client_factory(tiny_model_dir, max_wait_ms=0) as client:
        for f in files:
            resp = client.post("/v1/recognize", files={"images": (f.name, f.read_bytes())})
            statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
            try:
                load_image(str(f))
                expected = 200
            except ImageLoadError:
                expected = 422
            if resp.status_code != expected or (expected == 422 and set(resp.json()) != {"error"}):
                wrong.append((f.name, resp.status_code, resp.text[:200]))
        health = client.get("/healthz")
        metrics = client.get("/metrics").text
    assert len(files) >= 900 and not any(code >= 500 for code in statuses), statuses
    assert not wrong, wrong[:5]
    assert statuses.get(200, 0) > 150 and statuses.get(422, 0) > 300, statuses
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert f'ppresnet45_requests_total{{status="200"}} {statuses[200]}' in metrics
