"""``versus.md`` (:mod:`ppresnet45.benchmark.versus_report`): the docs' row, each side's rounds, the commands."""

import shlex

from ppresnet45.benchmark.versus_report import command_line, format_markdown, table_row

CLIENT = "import paddleocr\nprint('hi')\n"


def _side(median, accuracy=None):
    side = {
        "median_s": median,
        "min_s": median - 0.5,
        "rounds_s": [median, median - 0.5, median + 0.25],
        "loop_median_s": median / 2,
        "startup_median_s": median / 2,
        "lines_per_s": 100 / median,
    }
    return side if accuracy is None else dict(side, accuracy=accuracy)


def _report(isa_cap=None, auto=True):
    ours = _side(2.0, accuracy=0.75)
    ours["runtime"] = {"backend": "onnxruntime", "precision": "fp32", "ignores_isa_cap": bool(isa_cap)}
    if auto:
        ours["runtime"].update(auto=True, reason="fastest of 3 measured")
    return {
        "settings": {
            "isa_cap": isa_cap,
            "lines": 100,
            "cpu_threads": 2,
            "batch_size": 8,
            "command": "ppresnet45 versus --model_dir m",
            "paddleocr_model_name": "PP-OCRv5_server_rec",
            "isa_cap_ignored_by": ["onnxruntime"],
        },
        "cpu": {"description": "Some CPU (avx2)", "kind": "avx2"},
        "ppresnet45": ours,
        "paddleocr": _side(5.0),
        "ratio": 2.5,
        "agreement": {"same": 97, "lines": 100, "share": 0.97},
        "versions": {"ppresnet45_venv": {"ppresnet45": "0.1"}},
        "when": "2026-12-03 18:00:00",
        "commands": {
            "ppresnet45": {"argv": ["python", "-m", "ppresnet45", "infer", "--image_dir", "a b"], "env": {}},
            "paddleocr": {"argv": ["py", "-c", CLIENT, "m"], "env": {"PADDLE_PDX_CACHE_HOME": "/o/p dx"}},
        },
    }


def test_the_docs_row_has_every_column_in_order():
    row = table_row(_report())
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells == [
        "Some CPU (avx2)",
        "avx2",
        "-",
        "100",
        "2",
        "8",
        "2.00",
        "5.00",
        "2.50x",
        "97.0%",
        "onnxruntime/fp32 (auto)",
        "`ppresnet45 versus --model_dir m`",
    ]
    assert "onnxruntime/fp32 |" in table_row(_report(auto=False))  # given, not chosen


def test_commands_are_shell_lines_with_the_client_script_by_name():
    line = command_line(_report()["commands"]["paddleocr"])
    assert line == "PADDLE_PDX_CACHE_HOME='/o/p dx' py -c '<client script>' m"
    assert shlex.split(command_line(_report()["commands"]["ppresnet45"]))[-1] == "a b"


def test_the_markdown_has_the_row_each_side_and_the_isa_caveat():
    md = format_markdown(_report())
    assert md.startswith("# ppresnet45 infer vs PaddleOCR's PP-OCRv5_server_rec recognizer (2026-12-03 18:00:00)\n")
    assert table_row(_report()) in md
    assert "| ppresnet45 | 2.000 | 1.500 | 2.000, 1.500, 2.250 | 1.000 | 1.000 | 50.0 | 0.7500 |" in md
    assert "| paddleocr | 5.000 | 4.500 | 5.000, 4.500, 5.250 | 2.500 | 2.500 | 20.0 | - |" in md  # no labels
    assert "Same text on 97/100 lines. Our runtime: fastest of 3 measured. ISA cap: none" in md
    assert "- paddleocr: `PADDLE_PDX_CACHE_HOME=" in md and CLIENT not in md
    capped = format_markdown(_report(isa_cap="AVX2"))
    assert "ISA cap: AVX2" in capped and "our runtime is one of them" in capped
    assert "our runtime is one of them" not in md
