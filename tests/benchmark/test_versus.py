"""``ppresnet45 versus`` (:mod:`ppresnet45.benchmark.versus`): ours vs PaddleOCR's recognizer, real processes.

The runs use the tiny untrained export and PaddleOCR's client from ``.venv-paddleocr`` (or
``PPRESNET45_PADDLEOCR_PYTHON``); without that venv they are skipped, as in
tests/export/test_paddleocr_client.py.
"""

import json
import os

import pytest

from ppresnet45.benchmark.versus import default_paddleocr_python, side_environments
from ppresnet45.cli import main
from ppresnet45.utils.cpu import ISA_CAP_ENV

pytestmark = pytest.mark.slow  # training, exports or third-party clients: over ~10 s on 2 cores

PYTHON = default_paddleocr_python()
needs_paddleocr = pytest.mark.skipif(
    not os.access(PYTHON, os.X_OK),
    reason=f"PaddleOCR 3 client not found ({PYTHON}): run `make .venv-paddleocr`, or set "
    "PPRESNET45_PADDLEOCR_PYTHON to a Python with paddleocr==3.7.0",
)


def _versus(model_dir, out, *extra):
    return main(
        [
            "--model_dir",
            model_dir,
            "--num_lines",
            "6",
            "--rounds",
            "1",
            "--cpu_threads",
            "1",
            "--no_progress",
            "--output_dir",
            str(out),
            *extra,
        ],
        command="versus",
    )


@needs_paddleocr
def test_a_run_times_both_sides_and_reports_ratio_agreement_and_cpu(tiny_model_dir, tmp_path, capsys):
    assert _versus(tiny_model_dir, tmp_path / "out") == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "out" / "versus.json").read_text(encoding="utf-8"))
    ours, theirs = report["ppresnet45"], report["paddleocr"]
    assert len(ours["rounds_s"]) == len(theirs["rounds_s"]) == 1
    assert ours["median_s"] > 0 and theirs["median_s"] > 0
    assert 0 < ours["loop_median_s"] < ours["median_s"] and 0 < theirs["loop_median_s"] < theirs["median_s"]
    assert report["ratio"] == pytest.approx(theirs["median_s"] / ours["median_s"])
    assert 0 <= report["agreement"]["share"] <= 1 and report["agreement"]["lines"] == 6
    assert 0 <= ours["accuracy"] <= 1 and 0 <= theirs["accuracy"] <= 1  # rendered lines carry labels
    assert report["cpu"]["model"] and report["cpu"]["model"] in printed and report["cpu"]["kind"]
    assert ours["runtime"]["backend"] and ours["runtime"].get("auto")  # --backend auto chose, and was cached
    assert report["versions"]["paddleocr_venv"]["paddleocr"] and report["settings"]["isa_cap"] is None
    assert f"ppresnet45 is {report['ratio']:.2f}x PaddleOCR" in printed
    assert (tmp_path / "out" / "versus.md").read_text(encoding="utf-8").count("| 6 | 1 | 8 |") == 1


@needs_paddleocr
def test_isa_cap_reaches_both_processes_and_is_recorded(tiny_model_dir, tmp_path):
    assert _versus(tiny_model_dir, tmp_path / "out", "--isa", "avx2", "--", "--backend", "paddle") == 0
    report = json.loads((tmp_path / "out" / "versus.json").read_text(encoding="utf-8"))
    assert report["settings"]["isa_cap"] == "AVX2" and report["settings"]["infer_args"] == ["--backend", "paddle"]
    for side in ("ppresnet45", "paddleocr"):
        assert report["commands"][side]["env"][ISA_CAP_ENV] == "AVX2"
    assert report["cpu"]["isa_cap"] == "AVX2" and report["cpu"]["kind"] in ("avx2", "avx2_vnni", "older")
    assert report["ppresnet45"]["runtime"] == {"backend": "paddle", "precision": "fp32", "ignores_isa_cap": False}


@needs_paddleocr
def test_a_failing_side_is_one_error_line_with_its_stderr(tiny_model_dir, tmp_path, capsys):
    # the tiny export has no model.onnx: `infer --backend onnxruntime` exits 2 in the warm-up run
    assert _versus(tiny_model_dir, tmp_path / "out", "--", "--backend", "onnxruntime") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ppresnet45 infer exited with code 2" in err[0] and "model.onnx" in err[0]


def test_without_isa_the_processes_inherit_the_environment(tmp_path):
    envs = side_environments(str(tmp_path))
    assert all(ISA_CAP_ENV not in env for env in envs.values())
    assert envs["ppresnet45"]["PPRESNET45_CACHE_DIR"].startswith(str(tmp_path))  # not the user's cache


def test_a_missing_paddleocr_python_is_one_error_line_naming_it(tiny_model_dir, tmp_path, capsys):
    missing = tmp_path / "no-venv" / "bin" / "python"
    assert _versus(tiny_model_dir, tmp_path / "out", "--paddleocr_python", str(missing)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(missing) in err[0] and "make .venv-paddleocr" in err[0]


@pytest.mark.parametrize(
    "extra, words",
    [(["--isa", "AVX3"], "unknown ONEDNN_MAX_CPU_ISA"), (["--", "--batch_size", "4"], "sets --batch_size")],
)
def test_bad_flags_are_one_error_line(tiny_model_dir, tmp_path, capsys, extra, words):
    assert _versus(tiny_model_dir, tmp_path / "out", *extra) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]


def test_a_missing_model_dir_is_one_error_line(tmp_path, capsys):
    assert _versus(str(tmp_path / "missing"), tmp_path / "out") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: model dir")


def test_the_timed_infer_command_is_one_our_parser_takes():
    from ppresnet45.benchmark.versus import infer_argv
    from ppresnet45.cli import build_parser

    argv = infer_argv("m", "lines.txt", "rows.jsonl", 2, 6, ["--backend", "openvino"])
    assert argv[1:4] == ["-m", "ppresnet45", "infer"]  # the versus and versus-ppocr sides both run this
    args = build_parser(only="infer").parse_args(argv[4:])
    assert (args.model_dir, args.image_dir, args.output) == ("m", "lines.txt", "rows.jsonl")
    assert (args.cpu_threads, args.batch_size, args.backend, args.no_progress) == (2, 6, "openvino", True)
