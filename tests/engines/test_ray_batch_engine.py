"""`infer --engine ray`: Ray Data actors over the one entry point, on a simulated two-node
cluster (a head and a second node on 127.0.0.1): one row per input after a worker is killed
mid-run, the text of a local run, and resuming from a cut-off results file."""

import json
import os
import signal

import cv2
import numpy as np
import pytest

from ppresnet45.data.synth.render import render_line
from ppresnet45.engines.ray_batch import RayBatchEngine, plan_threads
from ppresnet45.errors import DataError
from ppresnet45.inference import Recognizer
from ppresnet45.inference.results_file import row_key

N_LINES = 48


@pytest.fixture(scope="module")
def labels(tmp_path_factory):
    """A label file: rendered lines, a garbage file, a missing file and a malformed line."""
    folder = tmp_path_factory.mktemp("ray_lines")
    rng = np.random.default_rng(7)
    lines = []
    for i in range(N_LINES):
        text = "".join(rng.choice(list("abcdefgh0123")) for _ in range(int(rng.integers(1, 8))))
        cv2.imwrite(str(folder / f"{i:03d}.png"), render_line(text, rng, augment=False))
        lines.append(f"{i:03d}.png\t{text}")
    (folder / "junk.png").write_bytes(b"not an image at all")
    lines += ["junk.png\tx", "missing.png\ty", "no tab here"]
    path = folder / "labels.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _recognizer(model_dir):
    # batch 1: a line's text does not depend on which lines share its batch, so a local run
    # and actors cutting the work differently must agree exactly
    return Recognizer(model_dir, backend="paddle", precision="fp32", cpu_threads=1, batch_size=1)


def _rows(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


@pytest.fixture(scope="module")
def local_rows(tiny_model_dir, labels, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "rows.jsonl"
    _recognizer(tiny_model_dir).run(labels, output=str(out))
    return {row_key(r): r for r in _rows(out)}


def _same_text(rows, local_rows):
    keys = [row_key(r) for r in rows]
    assert len(keys) == len(set(keys)) == len(local_rows), "not exactly one row per input"
    for r in rows:
        want = local_rows[row_key(r)]
        assert (r["text"], r.get("error")) == (want["text"], want.get("error")), (r, want)


@pytest.mark.slow
def test_two_nodes_a_killed_worker_still_one_row_per_input_with_the_local_text(
    two_nodes, tiny_model_dir, labels, local_rows, tmp_path
):
    import ray

    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    killed = []

    def kill_one_worker(rows):
        if not killed:  # after the first batch: the actor that returned it
            worker = next(iter(engine.rows_by_worker))
            os.kill(int(worker.rsplit(":", 1)[1]), signal.SIGKILL)
            killed.append(worker)

    out = tmp_path / "rows.jsonl"
    engine = RayBatchEngine(workers=2, cpu_threads=1, batch_rows=4)
    done = _recognizer(tiny_model_dir).run(labels, output=str(out), engine=engine, on_rows=kill_one_worker)
    rows = _rows(out)
    assert killed and done.images == N_LINES + 3 and done.n_failed == 3
    nodes = {w.rsplit(":", 1)[0] for w in engine.rows_by_worker}
    assert len(nodes) == 2 and len(engine.rows_by_worker) >= 3  # both nodes worked; the killed actor restarted
    _same_text(rows, local_rows)
    assert engine.stats["threads"] == 1 and (done.backend, done.precision) == ("paddle", "fp32")


@pytest.mark.slow
def test_the_cli_joins_the_cluster_by_address_and_resumes_a_cut_off_results_file(
    two_nodes, tiny_model_dir, labels, local_rows, tmp_path, capsys
):
    import ray

    from ppresnet45.cli import main

    out = tmp_path / "rows.jsonl"
    kept = [json.dumps(r) for r in list(local_rows.values())[:20]]
    out.write_text("\n".join(kept) + "\n" + '{"path": "cut off mid-wri', encoding="utf-8")
    ray.shutdown()  # the command connects by itself, with --address
    try:
        rc = main(
            [
                "infer",
                "--model_dir",
                tiny_model_dir,
                "--image_dir",
                labels,
                "--output",
                str(out),
                "--resume",
                "--engine",
                "ray",
                "--workers",
                "2",
                "--address",
                two_nodes.address,
                "--backend",
                "paddle",
                "--precision",
                "fp32",
                "--cpu_threads",
                "1",
                "--batch_size",
                "1",
                "--no_progress",
            ]
        )
        assert not ray.is_initialized()  # it disconnected when done; the cluster stays up
    finally:
        ray.init(address=two_nodes.address, log_to_driver=False)
    err = capsys.readouterr().err
    assert rc == 1, err  # the three bad inputs
    assert f"infer: {N_LINES + 3 - 20} images, 3 failed" in err and "20 already in" in err
    assert "ray: 2 workers x 1 threads" in err
    _same_text(_rows(out), local_rows)


def test_threads_per_worker_share_the_cluster_without_oversubscribing_it():
    assert plan_threads([2.0], 1) == 2 and plan_threads([2.0], 2) == 1
    assert plan_threads([16.0, 16.0], 4) == 8 and plan_threads([16.0, 16.0], 1) == 16
    assert plan_threads([4.0, 4.0], 2, cpu_threads=3) == 3
    with pytest.raises(DataError, match="--workers 3 with 1 thread"):
        plan_threads([1.0, 1.0], 3)
    with pytest.raises(DataError, match="room for 2"):
        plan_threads([4.0, 4.0], 3, cpu_threads=4)


def test_workers_without_the_ray_engine_is_a_one_line_error(tiny_model_dir, labels, capsys):
    from ppresnet45.cli import main

    rc = main(["infer", "--model_dir", tiny_model_dir, "--image_dir", labels, "--workers", "2"])
    assert rc == 2 and "error: --workers and --address need --engine ray" in capsys.readouterr().err
