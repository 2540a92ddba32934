"""``ppresnet45 quantize``: each runtime's own quantizer, the gate, the record, and int8 runs.

The trained model is the session's overfit ResNet45 + CTC (tests/conftest.py ``overfit_ctc``),
exported with ONNX; calibration and the accuracy check use its 16 rendered lines. These tests
check the mechanism — the gate keeps the fastest model that holds, refuses when none holds
with the measured figures in its one line, records the CPU — never one CPU's outcome (int8
speed and agreement differ between AVX2, VNNI and AMX machines).
"""

import json
import os
import shlex
import shutil
from pathlib import Path

import pytest

from ppresnet45.cli import build_parser, main
from ppresnet45.commands.quantize import run_hint
from ppresnet45.export.exporter import export_inference_model
from ppresnet45.inference import BackendError, InferenceSpec, create_runtime
from ppresnet45.inference.int8 import INT8_FILES, int8_file
from ppresnet45.inference.model_dir import CONFIG_FILE
from ppresnet45.quantization import QUANTIZERS, QuantizationRefused, quantize_export
from ppresnet45.utils.cpu import ISA_CAP_ENV, cpu_description, cpu_kind, cpu_record, isa_cap

pytestmark = pytest.mark.slow  # training, exports or third-party clients: over ~10 s on 2 cores

pytest.importorskip("onnxruntime", reason="quantize needs the onnx extra (installed by make test)")
pytest.importorskip("nncf", reason="OpenVINO's quantizer needs the openvino extra (installed by make test)")
INT8_NAMES = {n for names in INT8_FILES.values() for n in names} | {"model_int8.bin"}
EVERYTHING_HOLDS = {"max_drop": 100.0, "min_speedup": 0.0}
# One runtime for the tests that need one: OpenVINO's kernels honour ONEDNN_MAX_CPU_ISA (make test runs this
# file again as on an AVX2-only CPU), ONNX Runtime's do not.
ONE_RUNTIME = "openvino"


@pytest.fixture(scope="module")
def trained_export(overfit_ctc, tmp_path_factory):
    out = tmp_path_factory.mktemp("q") / "export"
    export_inference_model(
        overfit_ctc["config"], str(out), pretrained=str(overfit_ctc["out"] / "best_accuracy"), onnx=True, check=False
    )
    return out


@pytest.fixture(scope="module")
def quantized(trained_export, overfit_ctc, tmp_path_factory):
    """Quantized with a gate every candidate passes: what is kept is decided by speed alone."""
    out = tmp_path_factory.mktemp("q8") / "export"
    shutil.copytree(trained_export, out)
    report = quantize_export(
        str(out),
        calib_data=overfit_ctc["labels"],
        eval_data=overfit_ctc["labels"],
        calib_num=16,
        eval_num=16,
        cpu_threads=1,
        log=lambda line: None,
        **EVERYTHING_HOLDS,
    )
    return out, report


def _int8_files(folder):
    return sorted(p for p in os.listdir(folder) if p in INT8_NAMES)


def test_quantize_keeps_the_fastest_int8_model_that_holds_and_records_it(quantized):
    out, report = quantized
    rows = report["candidates"]
    measured = {r: row for r, row in rows.items() if "int8" in row}
    assert set(rows) == set(QUANTIZERS) and measured  # every runtime is measured or says why not
    assert "no int8 path" in rows["paddle"]["skipped"]
    if isa_cap():  # ONNX Runtime's kernels ignore the cap: its figures would be this CPU's, so it is not measured
        assert ISA_CAP_ENV in rows["onnxruntime"]["skipped"] and "openvino" in measured
    else:
        assert {"onnxruntime", "openvino"} <= set(measured)  # both extras are installed by make test
    for row in measured.values():
        assert row["holds"] and row["fp32"]["word_accuracy"] == 1.0  # the overfit model reads its 16 lines
        assert row["speedup"] == pytest.approx(row["int8"]["images_per_s"] / row["fp32"]["images_per_s"], rel=0.01)
    fastest = max(measured, key=lambda r: measured[r]["int8"]["images_per_s"])
    assert report["runtime"] == fastest and report["file"] == measured[fastest]["file"]
    # only the kept model is in the export (its weights file too for OpenVINO IR)
    assert os.path.basename(int8_file(str(out), fastest)) == report["file"]
    assert _int8_files(out) == sorted({report["file"]} | ({"model_int8.bin"} if fastest == "openvino" else set()))
    # the record: runtime, figures and this CPU, in inference.yml through the spec, and in the report file
    spec = InferenceSpec.from_yaml(str(out))
    record = spec.quantization["int8"]
    assert record["runtime"] == fastest and record["cpu"] == cpu_record() and record["cpu"]["kind"] == cpu_kind()
    assert record["candidates"][fastest]["int8"] == measured[fastest]["int8"]
    assert json.loads(Path(out / "quantize_report.json").read_text())["candidates"] == json.loads(json.dumps(rows))
    assert "&id" not in (out / CONFIG_FILE).read_text()  # repeated records are written out, not aliased
    assert not [p for p in os.listdir(out) if p.startswith(".quantize")]  # its work folder is gone


def test_infer_runs_the_kept_int8_model_as_quantize_says(quantized, overfit_ctc, tmp_path):
    out, report = quantized
    rows_file = tmp_path / "rows.jsonl"
    hint = run_hint(out, report["runtime"], overfit_ctc["labels"])  # what `ppresnet45 quantize` prints, copied
    argv = shlex.split(hint)
    assert argv[0] == "ppresnet45"
    rc = main([*argv[1:], "--cpu_threads", "1", "--no_progress", "--output", str(rows_file)])
    assert rc == 0
    bench = shlex.split(run_hint(out, report["runtime"]))  # the hint when the check used rendered lines
    args = build_parser(only=bench[1]).parse_args(bench[2:])
    assert args.model_dir == [str(out)] and args.backends == [report["runtime"]] and args.precision == ["int8"]
    rows = [json.loads(line) for line in Path(rows_file).read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) == 16 and all(isinstance(r["text"], str) for r in rows)
    rt = create_runtime(str(out), backend=report["runtime"], precision="int8", cpu_threads=1)
    assert rt.info()["model_file"] == report["file"]


def _with_record_from(out, tmp_path, kind):
    """A copy of the export whose int8 record says it was measured on a CPU of ``kind``."""
    other = tmp_path / "other_cpu"
    shutil.copytree(out, other)
    spec = InferenceSpec.from_yaml(str(other))
    spec.quantization["int8"]["cpu"] = dict(spec.quantization["int8"]["cpu"], kind=kind, model="Another CPU")
    spec.save_records()
    return other


@pytest.mark.parametrize("mode", ["fp32", "run", "recheck"])
def test_int8_measured_on_another_cpu_kind_says_so_and_follows_the_users_choice(
    quantized, overfit_ctc, tmp_path, capsys, mode
):
    out, report = quantized
    other = _with_record_from(out, tmp_path, "not-" + cpu_kind())
    rc = main(
        [
            "infer",
            "--model_dir",
            str(other),
            "--image_dir",
            overfit_ctc["labels"],
            "--backend",
            report["runtime"],
            "--precision",
            "int8",
            "--int8_other_cpu",
            mode,
            "--cpu_threads",
            "1",
            "--no_progress",
            "--output",
            str(tmp_path / "rows.jsonl"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 0
    note = [line for line in err.splitlines() if "was measured on a not-" in line]
    assert len(note) == 1 and "Another CPU" in note[0], err
    used = err.split(f"({report['runtime']}/")[1].split(",")[0]  # the summary line names what ran
    if mode == "fp32":
        assert "running fp32 instead" in note[0] and used == "fp32"
    elif mode == "run":
        assert "running it as asked" in note[0] and used == "int8"
    else:
        assert "re-measured here" in note[0] and used in ("fp32", "int8")
    # the record of the same CPU kind runs without a note
    main(
        [
            "infer",
            "--model_dir",
            str(out),
            "--image_dir",
            overfit_ctc["labels"],
            "--backend",
            report["runtime"],
            "--precision",
            "int8",
            "--cpu_threads",
            "1",
            "--no_progress",
            "--output",
            str(tmp_path / "same.jsonl"),
        ]
    )
    assert "was measured on" not in capsys.readouterr().err


def test_quantize_refuses_when_no_int8_model_holds_and_writes_nothing(trained_export, overfit_ctc, tmp_path, capsys):
    out = tmp_path / "export"
    shutil.copytree(trained_export, out)
    yml_before = (out / CONFIG_FILE).read_text()
    # no int8 model is 1000x faster than FP32 on any CPU: the gate must refuse, naming the figures
    with pytest.raises(QuantizationRefused) as err:
        quantize_export(
            str(out),
            calib_data=overfit_ctc["labels"],
            eval_data=overfit_ctc["labels"],
            calib_num=8,
            eval_num=16,
            min_speedup=1000,
            cpu_threads=1,
            runtimes=[ONE_RUNTIME],
            log=lambda line: None,
        )
    msg = str(err.value)
    assert "\n" not in msg and "no model written" in msg and cpu_description() in msg
    assert f"{ONE_RUNTIME}/int8:" in msg and "lines/s" in msg and f"not faster than 1000x {ONE_RUNTIME}/fp32" in msg
    assert _int8_files(out) == [] and (out / CONFIG_FILE).read_text() == yml_before
    assert not [p for p in os.listdir(out) if p.startswith(".quantize")]
    rc = main(
        [
            "quantize",
            "--model_dir",
            str(out),
            "--calib_data",
            overfit_ctc["labels"],
            "--eval_data",
            overfit_ctc["labels"],
            "--calib_num",
            "8",
            "--runtimes",
            ONE_RUNTIME,
            "--min_speedup",
            "1000",
            "--cpu_threads",
            "1",
        ]
    )
    assert rc == 1
    assert "refused: no int8 model holds on this CPU" in capsys.readouterr().out
    assert _int8_files(out) == []


def test_int8_needs_quantize_first_and_an_int8_runtime(trained_export):
    with pytest.raises(BackendError, match="ppresnet45 quantize"):
        create_runtime(str(trained_export), backend="onnxruntime", precision="int8")
    with pytest.raises(BackendError, match="use backend 'onnxruntime' or 'openvino'"):
        create_runtime(str(trained_export), backend="paddle", precision="int8")


def test_quantize_bad_input_is_one_line(trained_export, overfit_ctc, tmp_path, capsys):
    rc = main(["quantize", "--model_dir", str(trained_export), "--calib_data", str(tmp_path / "nope")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "nope" in err[0] and "not found" in err[0], err
    rc = main(
        [
            "quantize",
            "--model_dir",
            str(trained_export),
            "--calib_data",
            overfit_ctc["labels"],
            "--eval_data",
            str(tmp_path),
        ]
    )  # a folder: no labels to score against
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--eval_data" in err[0], err
    with pytest.raises(SystemExit) as exited:  # argparse's own check of the runtime names
        main(["quantize", "--model_dir", str(trained_export), "--runtimes", "tensorrt"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 2 and "tensorrt" in err[-1] and "openvino,onnxruntime" in err[-1], err
    assert _int8_files(trained_export) == []


def test_quantize_converts_an_export_without_onnx_first(tiny_model_dir, tmp_path):
    """An export written without --onnx gets model.onnx (paddle2onnx) and then an int8 model;
    the default calibration and held-out lines come from the renderer."""
    out = tmp_path / "export"
    shutil.copytree(tiny_model_dir, out)
    assert not (out / "model.onnx").exists()
    lines = []
    report = quantize_export(
        str(out), calib_num=8, eval_num=8, cpu_threads=1, log=lines.append, runtimes=[ONE_RUNTIME], **EVERYTHING_HOLDS
    )
    assert (out / "model.onnx").is_file() and _int8_files(out) == ["model_int8.bin", "model_int8.xml"]
    assert any("paddle2onnx" in line for line in lines)
    assert report["calibration"].startswith("8 rendered lines") and report["evaluation"].startswith("8 rendered")
