"""Benchmark exported models: latency, throughput, memory and GFLOP/s per runtime.

* :mod:`.machine`  what the benchmark ran on (CPU, cores, load, library versions);
* :mod:`.peak`     this CPU's measured FP32 matmul peak, the denominator of "% of peak";
* :mod:`.inputs`   the model's settings, the images and the multiply-adds per image;
* :mod:`.measure`  a :class:`BenchmarkJob` and measuring one backend × precision;
* :mod:`.protocol` marked JSON lines and thread settings between the benchmark's processes;
* :mod:`.plan`     checked arguments, each model's settings, the jobs and the skipped combinations;
* :mod:`.runner`   one subprocess per job, interleaved rounds, :func:`run_benchmark`;
* :mod:`.report`   decoded-text agreement, Markdown, JSON and the throughput plot;
* :mod:`.versus`, :mod:`.rivals`  whole processes, ours vs PaddleOCR (and RapidOCR);
  :mod:`.versus_report` ``versus.md`` and the commands as shell lines.
"""

from .machine import machine_info
from .measure import BenchmarkJob, measure_backend
from .peak import best_peak, measure_peak, probe_peak
from .report import add_text_agreement, format_markdown, plot_throughput, write_reports
from .runner import run_benchmark

__all__ = [
    "BenchmarkJob",
    "add_text_agreement",
    "best_peak",
    "format_markdown",
    "machine_info",
    "measure_backend",
    "measure_peak",
    "plot_throughput",
    "probe_peak",
    "run_benchmark",
    "write_reports",
]
