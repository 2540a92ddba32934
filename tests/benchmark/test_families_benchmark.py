"""``ppresnet45 benchmark`` on ABINet and VisionLAN exports: fixed-size inputs, MACs from the
architecture, the recognizer's full path and text agreement between backends."""

import json

import pytest

from ppresnet45.benchmark import runner
from ppresnet45.benchmark.inputs import load_model_spec, macs_per_image, nominal_batches
from ppresnet45.cli import main
from ppresnet45.data.synth import render_dataset
from ppresnet45.inference.images import list_image_sources

SHAPES = {"abinet": [3, 32, 128], "visionlan": [3, 64, 256]}


@pytest.mark.slow
@pytest.mark.parametrize("family", ["abinet", "visionlan"])
def test_benchmark_runs_on_a_fixed_size_export(family, family_dirs, tmp_path, capsys, monkeypatch):
    # the CPU's peak probe is tested in test_peak.py; here it would only add two 6-s probes
    monkeypatch.setattr(runner, "measure_peak", lambda threads, isolate=True: {"gflops": 100.0, "method": "stub"})
    rc = main(
        [
            "--model_dir",
            str(family_dirs[family]),
            "--batch_sizes",
            "1,2",
            "--backends",
            "paddle,onnxruntime",
            "--iters",
            "2",
            "--warmup",
            "1",
            "--num_images",
            "3",
            "--cpu_threads",
            "1",
            "--in_process",
            "--no_progress",
            "--output_dir",
            str(tmp_path / "out"),
        ],
        command="benchmark",
    )
    assert rc == 0 and "| paddle | fp32 | 2 |" in capsys.readouterr().out
    report = json.loads((tmp_path / "out" / "benchmark.json").read_text(encoding="utf-8"))
    assert report["settings"]["image_shape"] == SHAPES[family] and not report["skipped"]
    rows = {(r["backend"], r["batch_size"]): r for r in report["records"]}
    assert set(rows) == {(b, n) for b in ("paddle", "onnxruntime") for n in (1, 2)}
    for (_backend, n), row in rows.items():
        assert row["input_shape"] == [n] + SHAPES[family] and row["gflops"] > 0
        assert row["full_path"]["failed"] == 0 and row["full_path"]["mean_padded_width"] == SHAPES[family][2]
        assert row["text_agreement"]["fraction"] == 1.0


@pytest.mark.parametrize("family", ["abinet", "visionlan"])
def test_macs_come_from_the_architecture_when_the_file_lacks_them(family, family_dirs):
    cfg, spec = load_model_spec(family_dirs[family])
    recorded, note = macs_per_image(cfg, spec)
    assert recorded > 0 and note is None
    del cfg["Global"]["macs_per_image"]
    spec.macs_per_image = None
    counted, note = macs_per_image(cfg, spec)
    assert counted == recorded and "counted from its Architecture" in note


def test_model_only_batches_use_the_family_preprocessing(family_dirs, tmp_path):
    _cfg, spec = load_model_spec(family_dirs["abinet"])
    paths = list_image_sources(render_dataset(str(tmp_path / "lines"), 2, seed=0, show_progress=False)).paths
    rows = nominal_batches(paths, spec, 2)
    assert [r.shape for r in rows] == [(3, 32, 128)] * 2
    assert min(r.min() for r in rows) < -1.5  # ImageNet normalisation (dark pixels), not (x/255 - 0.5) / 0.5
