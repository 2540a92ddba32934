"""Argument types and option groups shared by the sub-commands."""

import argparse

from ..utils.subproc import LAUNCH_SCRIPT

__all__ = ["LAUNCH_SCRIPT"]  # re-exported for the commands that launch processes


def add_config_arguments(parser, required=True, config_help="YAML config file (PaddleOCR layout)"):
    """Add PaddleOCR's ``-c CONFIG`` and ``-o Section.key=value ...`` options."""
    parser.add_argument("-c", "--config", required=required, help=config_help)
    add_override_argument(parser)


def add_override_argument(
    parser, help_text="override config keys, e.g. -o Global.epoch_num=10 Global.use_gpu=false (values are YAML)"
):
    """Add PaddleOCR's ``-o Section.key=value ...`` option (``args.opt``, a list)."""
    parser.add_argument("-o", "--opt", nargs="+", action="extend", default=[], metavar="KEY=VALUE", help=help_text)


def passthrough(args_list):
    """The arguments after ``--`` that a command hands on to ``ppresnet45 infer`` (the ``--`` dropped)."""
    rest = list(args_list or [])
    return rest[1:] if rest[:1] == ["--"] else rest


def _int_at_least(minimum, what):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what.replace(" ", "_")  # argparse names the type in its messages
    return parse


positive_int = _int_at_least(1, "a positive integer")
non_negative_int = _int_at_least(0, "an integer >= 0")


def _float_where(ok, what):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not ok(value):  # also rejects nan
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what.replace(" ", "_")
    return parse


positive_float = _float_where(lambda v: 0 < v < float("inf"), "a positive number")
positive_float.__doc__ = "An argparse type: a finite float > 0."
non_negative_float = _float_where(lambda v: 0 <= v < float("inf"), "a number >= 0")


def positive_int_list(text):
    """An argparse type: ``"1,8,32"`` -> ``[1, 8, 32]`` (each >= 1)."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return values


def name_list(choices):
    """An argparse type: a comma-separated, non-empty subset of ``choices``."""

    def parse(text):
        values = [v.strip() for v in text.split(",") if v.strip()]
        bad = [v for v in values if v not in choices]
        if not values or bad:
            raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {','.join(choices)}, got {text!r}")
        return values

    return parse


def _bool(text):
    value = str(text).strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_model_arguments(parser, what="exported model folder (inference.json/.pdiparams/.yml)"):
    """``--model_dir`` and :func:`add_model_options`."""
    parser.add_argument(
        "--model_dir",
        required=True,
        help=f"{what}, a PaddleOCR 2.x inference folder (inference.pdmodel/.pdiparams) or a PP-OCR "
        "recognition ONNX file or folder; the format is detected from the files",
    )
    add_model_options(parser)


def add_model_options(parser):
    """The options of models without an ``inference.yml`` (PaddleOCR 2.x folders, PP-OCR ONNX
    files): ``--dict``, ``--image_shape``, ``--use_space_char``."""
    parser.add_argument(
        "--dict",
        dest="dict_path",
        default=None,
        help="PaddleOCR 2.x folder / ONNX without a 'character' metadata: the dictionary "
        "(PaddleOCR's rec_char_dict_path, e.g. ppocr_keys_v1.txt)",
    )
    parser.add_argument(
        "--image_shape",
        default=None,
        help="such a model's C,H,W (default 3,48,320 as PP-OCRv3/v4/v5; an ONNX model's fixed input height wins)",
    )
    parser.add_argument(
        "--use_space_char",
        type=_bool,
        default=True,
        help="append the space to --dict's characters (default true, as PP-OCR)",
    )


def model_options(args):
    """The keyword arguments :class:`ppresnet45.inference.Recognizer` takes from :func:`add_model_arguments`."""
    return {"dict_path": args.dict_path, "image_shape": args.image_shape, "use_space_char": args.use_space_char}
