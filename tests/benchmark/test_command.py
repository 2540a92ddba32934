"""``ppresnet45 benchmark`` (:mod:`ppresnet45.commands.benchmark`): flags, defaults, exit codes."""

import argparse
import json

import pytest

from ppresnet45.cli import main
from ppresnet45.commands import benchmark as command
from ppresnet45.data.synth import render_dataset
from ppresnet45.utils.cpu import available_cores


def _parser():
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser


def test_cpu_threads_defaults_to_the_usable_cores_and_says_so():
    parser = _parser()
    args = parser.parse_args(["--model_dir", "m"])
    assert args.cpu_threads == available_cores()
    assert (
        args.batch_sizes,
        args.precision,
        args.backends,
        args.warmup,
        args.iters,
        args.rounds,
        args.num_images,
        args.in_process,
        args.no_progress,
    ) == ([1, 8, 32], ["fp32"], None, 3, 10, 1, 64, False, False)
    help_text = " ".join(parser.format_help().split())
    assert f"the cores this process may use, {available_cores()} here" in help_text


@pytest.mark.parametrize(
    "bad",
    [
        ["--cpu_threads", "0"],
        ["--batch_sizes", "1,x"],
        ["--backends", "tensorrt"],
        ["--warmup", "-1"],
        ["--precision", "fp16"],
        ["--rounds", "0"],
    ],
)
def test_flags_are_checked_by_their_types(bad, capsys):
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(["--model_dir", "m"] + bad)
    assert exc.value.code == 2 and "expected" in capsys.readouterr().err


@pytest.mark.slow
def test_benchmark_cli_prints_the_table_and_rejects_a_bad_model_dir(tiny_model_dir, tmp_path, capsys):
    label_file = render_dataset(str(tmp_path / "lines"), 3, seed=1, show_progress=False)
    rc = main(
        [
            "--model_dir",
            tiny_model_dir,
            "--image_dir",
            label_file,
            "--batch_sizes",
            "2",
            "--backends",
            "eager",
            "--iters",
            "1",
            "--warmup",
            "0",
            "--cpu_threads",
            "1",
            "--in_process",
            "--no_progress",
            "--rounds",
            "2",
            "--output_dir",
            str(tmp_path / "out"),
        ],
        command="benchmark",
    )
    captured = capsys.readouterr()
    assert rc == 0
    assert captured.out.count("| eager | fp32 | 2 |") == 1 and "isolate=False" in captured.out
    assert "best of 2 interleaved rounds" in captured.out
    (record,) = json.loads((tmp_path / "out" / "benchmark.json").read_text(encoding="utf-8"))["records"]
    assert len(record["throughput_rounds"]) == 2 and record["throughput_ips"] == max(record["throughput_rounds"])

    rc = main(["--model_dir", str(tmp_path / "missing"), "--output_dir", str(tmp_path / "out2")], command="benchmark")
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: model dir")
