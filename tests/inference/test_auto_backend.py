"""``--backend auto``: measured choice among the runtimes, text agreement with FP32, the cache."""

import json
import os
import shlex
from pathlib import Path

import pytest

from ppresnet45.cli import build_parser, main
from ppresnet45.data.synth import render_dataset
from ppresnet45.inference import auto, choose_backend
from ppresnet45.inference.auto import CANDIDATE_PRECISIONS, cache_path
from ppresnet45.utils.cpu import cpu_has_bf16, isa_cap

pytestmark = pytest.mark.slow  # training, exports or third-party clients: over ~10 s on 2 cores


@pytest.fixture(scope="module")
def probe_lines(tmp_path_factory):
    out = tmp_path_factory.mktemp("auto_lines")
    render_dataset(str(out), 8, seed=5, show_progress=False)
    return sorted(str(p) for p in (out / "images").iterdir())


def test_auto_measures_several_runtimes_and_caches_its_choice(onnx_model_dir, probe_lines, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("PPRESNET45_CACHE_DIR", str(tmp_path / "cache"))
    lines = []
    choice = choose_backend(
        str(onnx_model_dir), probe_lines, batch_size=4, cpu_threads=1, log=lines.append, precisions=CANDIDATE_PRECISIONS
    )  # --precision any
    measured = {k: v for k, v in choice["candidates"].items() if "images_per_s" in v}
    if isa_cap():  # ONNX Runtime ignores ONEDNN_MAX_CPU_ISA: timing it would measure the real CPU
        assert {"paddle/fp32", "openvino/fp32"} <= set(measured) and not any(
            k.startswith("onnxruntime") for k in choice["candidates"]
        )
    else:
        assert {"paddle/fp32", "onnxruntime/fp32"} <= set(measured)  # at least two runtimes were timed
    assert ("paddle/bf16" in measured) == cpu_has_bf16()  # bf16 is a candidate only where the CPU has it
    name = f"{choice['backend']}/{choice['precision']}"
    assert name in measured and measured[name]["agreement"] >= 0.95
    # the fastest of those that read like fp32 (the reference reads like itself)
    eligible = {k: v["images_per_s"] for k, v in measured.items() if v["agreement"] >= 0.95}
    assert measured[name]["images_per_s"] == max(eligible.values())
    assert choice["runtime"].backend == choice["backend"]
    assert lines and lines[0].startswith(f"auto: picked {name}")
    cached = json.loads(Path(cache_path()).read_text())
    assert [v["backend"] for v in cached.values()] == [choice["backend"]]
    # the second call reads the cache instead of probing
    again = choose_backend(
        str(onnx_model_dir), probe_lines, batch_size=4, cpu_threads=1, log=lines.append, precisions=CANDIDATE_PRECISIONS
    )
    assert again["cached"] and (again["backend"], again["precision"]) == (choice["backend"], choice["precision"])
    assert "cached" in lines[-1]
    # another batch size is another entry
    choose_backend(str(onnx_model_dir), probe_lines, batch_size=2, cpu_threads=1, precisions=CANDIDATE_PRECISIONS)
    assert len(json.loads(Path(cache_path()).read_text())) == 2


def test_auto_restricted_to_one_precision(onnx_model_dir, probe_lines, tmp_path, monkeypatch):
    monkeypatch.setenv("PPRESNET45_CACHE_DIR", str(tmp_path / "cache"))
    choice = choose_backend(
        str(onnx_model_dir), probe_lines, batch_size=4, cpu_threads=1, precisions=("fp32",), use_cache=False
    )
    assert choice["precision"] == "fp32"
    assert not os.path.exists(cache_path())  # use_cache=False neither reads nor writes


def test_infer_auto_skips_the_probe_for_a_small_job_and_says_so(
    onnx_model_dir, probe_lines, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("PPRESNET45_CACHE_DIR", str(tmp_path / "cache"))
    folder = os.path.dirname(probe_lines[0])
    assert not auto.worth_probing(len(probe_lines), 3)
    assert (
        main(
            ["infer", "--model_dir", str(onnx_model_dir), "--image_dir", folder, "--cpu_threads", "1", "--no_progress"]
        )
        == 0
    )
    err = capsys.readouterr().err
    [line] = [x for x in err.splitlines() if x.startswith("auto: ")]
    assert line.startswith("auto: paddle/fp32 (not probed: measuring ") and f"{len(probe_lines)}-line job" in line
    assert "(paddle/fp32, batch 8)" in err  # the run used it
    assert not os.path.exists(cache_path())  # nothing measured, nothing cached


def test_infer_auto_probes_a_large_enough_job_and_keeps_fp32(
    onnx_model_dir, probe_lines, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("PPRESNET45_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(auto, "MAX_PROBE_SHARE", 1000.0)  # this small folder now counts as large enough
    folder = os.path.dirname(probe_lines[0])
    assert (
        main(
            ["infer", "--model_dir", str(onnx_model_dir), "--image_dir", folder, "--cpu_threads", "1", "--no_progress"]
        )
        == 0
    )
    err = capsys.readouterr().err
    [line] = [x for x in err.splitlines() if x.startswith("auto: ")]
    assert line.startswith("auto: picked ") and line.split(" — ")[0].endswith("/fp32")  # the precision asked
    picked = line.split("auto: picked ")[1].split()[0]
    assert f"({picked}, batch 8)" in err and os.path.isfile(cache_path())
    cached = json.loads(Path(cache_path()).read_text())
    assert all(k.endswith("/fp32") for v in cached.values() for k in v["candidates"])  # nothing lower was tried


def test_asking_for_int8_without_an_int8_model_is_one_line_with_a_hint_that_parses(onnx_model_dir, probe_lines, capsys):
    rc = main(
        [
            "infer",
            "--model_dir",
            str(onnx_model_dir),
            "--image_dir",
            os.path.dirname(probe_lines[0]),
            "--precision",
            "int8",
            "--no_progress",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: --backend auto: no int8 runtime")
    hint = shlex.split(err[0].split("`")[1])  # the command between backticks, as a user copies it
    assert hint[:2] == ["ppresnet45", "quantize"]
    assert build_parser(only="quantize").parse_args(hint[2:]).model_dir == str(onnx_model_dir)


def test_a_200_line_job_is_not_worth_a_probe_but_a_large_one_is():
    # the figure: auto may cost at most 5 % of a 200-line job
    assert auto.MAX_PROBE_SHARE == 0.05
    assert not auto.worth_probing(200, 3)
    cost = auto.probe_cost_lines(3)
    assert auto.worth_probing(int(cost / auto.MAX_PROBE_SHARE) + 1, 3)
    assert not auto.worth_probing(10**9, 1)  # one candidate: nothing to choose between
