"""``ppresnet45.benchmark.peak``: the matmul probe, its subprocess and the best of two probes."""

import sys

from ppresnet45.benchmark import peak


def test_report_peak_is_the_better_of_two_isolated_probes(tiny_run):
    p = tiny_run.report["peak"]
    assert p["gflops"] > 0 and "matmul" in p["method"]
    assert "before and after" in p["method"]
    assert len(p["runs"]) == 2 and p["gflops"] == max(p["runs"])
    assert p["threads"] == 1


def test_probe_peak_times_numpy_and_paddle():
    res = peak.probe_peak(n=64, repeats=2)
    assert res["matrix"] == "64x64 float32"
    assert res["probes"]["numpy.matmul"] > 0 and res["probes"]["paddle.matmul"] > 0
    assert res["gflops"] == max(res["probes"].values())
    assert res["method"].endswith("(64x64 float32, best of 2)")


def test_measure_peak_in_process_says_so(monkeypatch):
    monkeypatch.setattr(peak, "probe_peak", lambda threads=None: {"gflops": 1.0, "method": "m"})
    assert peak.measure_peak(3, isolate=False) == {"gflops": 1.0, "method": "m", "threads": "process default"}


def test_measure_peak_reports_a_failed_subprocess(monkeypatch):
    failing = [sys.executable, "-c", "import sys; sys.stderr.write('probe exploded\\n'); sys.exit(3)"]
    monkeypatch.setattr(peak, "child_command", lambda *args: failing)
    res = peak.measure_peak(2)
    assert res == {"gflops": None, "method": None, "threads": 2, "error": "peak probe failed: probe exploded"}


def test_best_peak_keeps_the_faster_probe_and_both_numbers():
    slow, fast = {"gflops": 10.0, "method": "numpy.matmul (x)"}, {"gflops": 12.5, "method": "paddle.matmul (x)"}
    best = peak.best_peak(slow, fast)
    assert best["gflops"] == 12.5 and best["runs"] == [10.0, 12.5]
    assert best["method"] == "paddle.matmul (x), best of a probe before and after the runs"
    assert "runs" not in fast  # the inputs are not changed


def test_best_peak_survives_a_failed_probe():
    failed = {"gflops": None, "method": None, "error": "peak probe failed: x"}
    assert peak.best_peak(failed, {"gflops": 5.0, "method": "m"})["gflops"] == 5.0
    both_failed = peak.best_peak(failed, dict(failed))
    assert both_failed["gflops"] is None and both_failed["method"] is None and both_failed["runs"] == [None, None]
