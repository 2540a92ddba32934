"""The ``ppresnet45`` command: every sub-command's parser comes from ppresnet45.commands, and
``tools/*.py`` run the same parsers."""

import subprocess
import sys

import pytest

from ppresnet45 import __version__
from ppresnet45.cli import COMMANDS, build_parser, main

TOOLS = {
    "train": "train.py",
    "eval": "eval.py",
    "export": "export_model.py",
    "infer": "infer_rec.py",
    "benchmark": "benchmark.py",
    "synth": "synth_textlines.py",
    "convert-lmdb": "lmdb_convert.py",
    "quantize": "quantize.py",
    "versus": "benchmark_vs_paddleocr.py",
    "plot": "plot_log.py",
    "benchmark-int8": "benchmark_int8.py",
    "train-demo": "train_demo.py",
    "benchmark-recipe": "benchmark_recipe.py",
    "benchmark-train": "benchmark_train.py",
    "benchmark-serve": "benchmark_serve.py",
    "benchmark-ray": "benchmark_ray.py",
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_its_own_module_in_commands_and_a_help_text(name, capsys):
    module = COMMANDS[name][0]
    assert module.startswith("ppresnet45.commands."), module
    parser = build_parser(only=name)
    assert parser.prog == f"ppresnet45 {name}"
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: ppresnet45 {name}" in out and "--debug" in out


def test_version_and_unknown_command(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == __version__
    with pytest.raises(SystemExit) as exc:
        main(["trian"])
    assert exc.value.code == 2
    assert "unknown command 'trian'" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_tools_run_the_installed_package_with_the_same_parser(name, repo_root):
    proc = subprocess.run(
        [sys.executable, str(repo_root / "tools" / TOOLS[name]), "--help"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert f"usage: ppresnet45 {name}" in proc.stdout


@pytest.mark.parametrize(
    "script", ["train_demo.py", "benchmark_train.py", "benchmark_recipe.py", "benchmark_int8.py", "plot_log.py"]
)
def test_recipe_tools_have_a_help_text(script, repo_root):
    proc = subprocess.run(
        [sys.executable, str(repo_root / "tools" / script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_an_argument_error_is_one_error_line_pointing_at_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--no_such_option", "1"], command=name)
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: ppresnet45 {name}: ")
    assert "--no_such_option" in err[0] or "the following arguments are required" in err[0]
    assert err[0].endswith(f"(see `ppresnet45 {name} --help`)")
