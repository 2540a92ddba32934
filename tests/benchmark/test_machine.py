"""``ppresnet45.benchmark.machine``: what the report says about the machine."""

import numpy as np
import pytest

from ppresnet45.benchmark.machine import (
    LIBRARIES,
    WANTED_FLAGS,
    library_version,
    machine_info,
)
from ppresnet45.utils.cpu import available_cores, cpu_model_and_flags


@pytest.mark.slow
def test_report_records_the_machine(tiny_run):
    machine = tiny_run.report["machine"]
    for key in ("cpu_model", "cpu_flags", "logical_cpus", "usable_cpus", "python", "paddlepaddle", "numpy"):
        assert key in machine


def test_machine_info_uses_the_shared_cpu_helpers():
    info = machine_info()
    model, flags = cpu_model_and_flags()
    assert info["cpu_model"] == model
    assert info["usable_cpus"] == available_cores()
    # only the flags that matter for the kernels, in a fixed order
    assert info["cpu_flags"] == [f for f in WANTED_FLAGS if f in flags]
    assert set(LIBRARIES) <= set(info)
    assert info["numpy"] == np.__version__ and info["paddlepaddle"]


def test_library_version_tries_each_distribution_and_gives_none_when_absent():
    assert library_version(("no-such-distribution-xyz",)) is None
    assert library_version(("no-such-distribution-xyz", "numpy")) == np.__version__
