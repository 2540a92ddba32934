"""``ppresnet45 summary``: build a model from a config and print its summary."""

import json

from ..config import image_shape_of, load_config
from ..modeling import build_model, format_summary, model_summary
from ._args import add_config_arguments


def add_arguments(parser):
    add_config_arguments(parser)
    parser.add_argument("--width", type=int, default=None, help="input width (default: the config's image_shape)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args):
    config = load_config(args.config, args.opt)
    c, h, w = image_shape_of(config)
    if args.width:
        w = args.width
    model = build_model(config)
    model.eval()
    summary = model_summary(model, (c, h, w))
    summary["backbone"] = config["Architecture"]["Backbone"]["name"]
    bb = model_summary(model.backbone, (c, h, w))
    summary["backbone_params"] = bb["trainable_params"]
    summary["backbone_output_shape"] = bb["output_shape"]
    summary["backbone_conv_macs"] = bb["conv_macs"]
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(bb, f"backbone {summary['backbone']}"))
        print(format_summary(summary, "full model"))
    return 0
