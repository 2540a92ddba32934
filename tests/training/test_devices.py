"""CPU settings and the single-process path of the device set-up."""

import paddle
import pytest

from ppresnet45.errors import ConfigError
from ppresnet45.training.devices import (
    all_reduce_mean,
    configure_cpu,
    init_distributed,
    sync_batchnorm_stats,
)
from ppresnet45.utils.cpu import available_cores


def test_default_threads_are_this_process_share_of_the_cores():
    try:
        assert configure_cpu()[2] == available_cores()
        assert configure_cpu(world_size=available_cores() + 1)[2] == 1
        assert configure_cpu(cpu_threads=1) == (False, False, 1)
    finally:
        configure_cpu(cpu_threads=1)


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "2", 10**12])
def test_bad_thread_count_is_a_config_error(bad):
    with pytest.raises(ConfigError, match=r"Global.cpu_threads: expected an int in \[1, 4096\] or null"):
        configure_cpu(cpu_threads=bad)


def test_onednn_falls_back_off_with_to_static():
    try:
        assert configure_cpu(use_onednn=True, to_static=True, cpu_threads=1) == (False, True, 1)
    finally:
        paddle.set_flags({"FLAGS_use_onednn": False})


def test_without_launcher_environment_there_is_one_process(monkeypatch):
    monkeypatch.delenv("PADDLE_TRAINERS_NUM", raising=False)
    assert init_distributed(False) == (1, 0)
    assert all_reduce_mean([1.5, 2.0], 1) == [1.5, 2.0]
    bn = paddle.nn.BatchNorm1D(2)
    sync_batchnorm_stats(bn, 1)  # one process: nothing to average, no collective called
