"""The ``ppresnet45`` command: one entry point with sub-commands, shared by ``tools/*.py``.

Each sub-command lives in a module of :mod:`ppresnet45.commands` with ``add_arguments(parser)`` and ``run(args) -> int``;
modules are imported only when their sub-command runs, so ``--help`` stays fast.
User errors print one ``error: ...`` line and exit 2 (1 for failed work such as an
unreadable image); ``--debug`` shows the traceback instead.
"""

import argparse
import importlib
import logging
import sys

from .errors import PPResNetError
from .version import __version__

# name -> (module, one-line help)
COMMANDS = {
    "configs": ("ppresnet45.commands.configs", "list the packaged configs (any -c takes their names), or print one"),
    "summary": (
        "ppresnet45.commands.summary",
        "build a model from a config and print parameters, output shape, mult-adds",
    ),
    "synth": ("ppresnet45.commands.synth", "render synthetic text-line images and a PaddleOCR label file"),
    "train": ("ppresnet45.commands.train", "train a recognizer from a config"),
    "eval": ("ppresnet45.commands.eval", "evaluate a checkpoint on the Eval dataset"),
    "export": (
        "ppresnet45.commands.export",
        "export an inference model (inference.json/.pdiparams/.yml) with a parity check",
    ),
    "quantize": (
        "ppresnet45.commands.quantize",
        "post-training int8 quantization of an export, with its accuracy checked",
    ),
    "infer": ("ppresnet45.commands.infer", "recognize text-line images with an exported model"),
    "serve": (
        "ppresnet45.commands.serve",
        "the recognition service: POST /v1/recognize (FastAPI on uvicorn, or Ray Serve)",
    ),
    "benchmark": ("ppresnet45.commands.benchmark", "benchmark an exported model: latency, throughput, memory, GFLOP/s"),
    "benchmark-int8": (
        "ppresnet45.commands.benchmark_int8",
        "int8 vs bf16 vs FP32 on this CPU: quantize, check accuracy, benchmark, same-run ratios",
    ),
    "versus": (
        "ppresnet45.commands.versus",
        "whole-process speed and text agreement: ppresnet45 infer vs PaddleOCR's recognizer on the same export and lines",
    ),
    "versus-ppocr": (
        "ppresnet45.commands.versus_ppocr",
        "whole-process speed and text agreement on a PP-OCR model: ppresnet45 infer vs PaddleOCR 2.x predict_rec vs RapidOCR",
    ),
    "convert-lmdb": ("ppresnet45.commands.convert_lmdb", "convert a label file + images into an LMDB dataset"),
    "plot": ("ppresnet45.commands.plot", "plot training curves (loss, learning rate, accuracy) from train_log.jsonl"),
    "benchmark-ray": (
        "ppresnet45.commands.benchmark_ray",
        "lines/s of infer --engine ray with 1 and 2 workers against one local process, and the driver's own bounds",
    ),
    "benchmark-serve": (
        "ppresnet45.commands.benchmark_serve",
        "load the recognition service with locust: throughput, p50/p95/p99 latency, dynamic batching vs batch 1",
    ),
    "benchmark-train": (
        "ppresnet45.commands.benchmark_train",
        "training speed on this CPU: images/s of ResNet45 + CTC training steps in each execution mode",
    ),
    "benchmark-recipe": (
        "ppresnet45.commands.benchmark_recipe",
        "does the demo recipe learn every time? trains it over seeds x threads x ISA caps, prints each run's accuracy",
    ),
    "train-demo": (
        "ppresnet45.commands.train_demo",
        "the demo training run: render data, train ResNet45 + CTC (or ABINet, VisionLAN), evaluate on held-out strings and fonts",
    ),
    "demo": ("ppresnet45.commands.demo", "the end-to-end demo run by `make demo`"),
}


class _Parser(argparse.ArgumentParser):
    """argparse, but an argument error is one ``error:`` line that points at ``--help``
    instead of the usage block first (exit code 2, as argparse)."""

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")


def _import_command(name):
    module_name = COMMANDS[name][0]
    return importlib.import_module(module_name)


def build_parser(only=None):
    """The argument parser; ``only`` builds just one sub-command's parser (for tools/*.py)."""
    if only is not None:
        mod = _import_command(only)
        parser = _Parser(prog=f"ppresnet45 {only}", description=COMMANDS[only][1])
        mod.add_arguments(parser)
        parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
        parser.set_defaults(_command=only)
        return parser
    parser = _Parser(prog="ppresnet45", description="ResNet45 text recognition for PaddlePaddle")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="_command", metavar="COMMAND")
    for name, (_, helptext) in COMMANDS.items():
        p = sub.add_parser(name, help=helptext, description=helptext)
        p.set_defaults(_lazy=name)
    return parser


def main(argv=None, command=None):
    """Run the CLI; returns the exit code.

    Args:
        argv (list[str] | None): arguments (default ``sys.argv[1:]``).
        command (str | None): run this sub-command directly (``tools/*.py`` use it).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if command is None:
        top = build_parser()
        # Parse only the sub-command name here; its own parser reads the rest.
        if not argv or argv[0] in ("-h", "--help"):
            top.print_help()
            return 0
        if argv[0] == "--version":
            print(__version__)
            return 0
        if argv[0] not in COMMANDS:
            top.error(f"unknown command '{argv[0]}' (choose from {', '.join(COMMANDS)})")
        command, argv = argv[0], argv[1:]
    debug = "--debug" in argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        parser = build_parser(only=command)
        args = parser.parse_args(argv)
        mod = _import_command(command)
        rc = mod.run(args)
        return int(rc or 0)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line unless --debug
        if debug:
            raise
        if isinstance(exc, PPResNetError):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)):
            print(f"error: {exc.strerror or exc}: {exc.filename}", file=sys.stderr)
            return 2
        first = str(exc).strip().splitlines()
        kind = type(exc)
        # Name the type with its module when it is not a builtin: cv2's exception class is
        # called `error`, which alone would print "error: error: ...".
        name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        print(f"error: {name}: {first[0] if first else ''} (run with --debug for the traceback)", file=sys.stderr)
        return 1


def entry_point():
    """console_scripts entry: ``ppresnet45 COMMAND ...``."""
    sys.exit(main())
