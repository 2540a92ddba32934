"""The one recognition entry point: ``Recognizer`` owns the runtime choice, resume, writing and
scoring, with the CLI's defaults; ``ppresnet45 infer`` only parses and prints."""

import inspect
import json

import cv2
import numpy as np
import pytest

from ppresnet45.cli import build_parser
from ppresnet45.data.synth import render_dataset
from ppresnet45.inference import Recognizer, recognize


def test_the_api_and_the_cli_have_the_same_defaults():
    params = inspect.signature(Recognizer).parameters
    cli = build_parser(only="infer").parse_args(["--model_dir", "m", "--image_dir", "i"])
    assert params["backend"].default == cli.backend == "auto"
    assert params["precision"].default is cli.precision is None
    assert params["batch_size"].default == cli.batch_size
    assert params["max_chunks"].default == cli.max_chunks
    assert params["max_pixels"].default == cli.max_pixels
    assert params["int8_other_cpu"].default == cli.int8_other_cpu
    assert params["use_cache"].default is (not cli.no_auto_cache)
    assert inspect.signature(recognize).parameters["backend"].default == "auto"


@pytest.mark.slow
def test_run_resumes_writes_and_scores_through_the_python_api(model_dir, tmp_path):
    labels = render_dataset(str(tmp_path / "lines"), 6, seed=3, show_progress=False)
    out = tmp_path / "rows.jsonl"
    notes = []
    rec = Recognizer(model_dir, cpu_threads=1, batch_size=2, log=notes.append)
    first = rec.run(labels, output=str(out), progress=False)
    assert first.images == 6 and first.skipped == 0 and first.n_failed == 0
    assert notes and notes[0].startswith("auto: ")  # the runtime choice was made, and said
    assert (first.backend, first.precision) == (rec.backend, rec.precision)
    assert first.score["total"] == 6 and 0.0 <= first.score["accuracy"] <= 1.0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 6 and all("label" in r and "line" in r for r in rows)
    # keep the first three rows (as if interrupted), add a bad line, resume: only the rest is read
    out.write_text("".join(json.dumps(r) + "\n" for r in rows[:3]), encoding="utf-8")
    seen = []
    again = Recognizer(model_dir, backend=rec.backend, precision=rec.precision, cpu_threads=1, batch_size=2)
    second = again.run(labels, output=str(out), resume=True, on_rows=seen.extend)
    assert second.skipped == 3 and second.images == 3 and len(seen) == 3
    assert second.score["total"] == 6  # the resumed rows count in the score
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["line"] for r in rows) == list(range(1, 7))


def test_one_recognizer_chooses_its_runtime_once_and_takes_arrays(model_dir):
    rec = Recognizer(model_dir, backend="paddle", cpu_threads=1)
    img = np.full((32, 100, 3), 255, np.uint8)
    cv2.putText(img, "ab", (5, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    rows = rec([img, img])
    engine = rec.engine
    assert len(rows) == 2 and rows[0]["text"] == rows[1]["text"] and rows[0]["path"] is None
    assert (rec.backend, rec.precision) == ("paddle", "fp32")
    rec(img)
    assert rec.engine is engine  # made once, reused
