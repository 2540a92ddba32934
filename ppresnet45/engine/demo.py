"""``ppresnet45 demo``: build ResNet45 + CTC from the default config and show its summary."""

import os

import numpy as np

from ..config import image_shape_of, load_config
from ..modeling import build_model, format_summary, model_summary

DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.dirname(__file__)), "configs", "rec", "rec_resnet45_ctc.yml")


def add_arguments(parser):
    parser.add_argument("-c", "--config", default=DEFAULT_CONFIG, help="config (default: the built-in ResNet45 + CTC)")
    parser.add_argument("-o", "--opt", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                        help="config overrides")
    parser.add_argument("--output_dir", default="demo_output", help="where demo outputs go")


def run(args):
    import paddle

    config = load_config(args.config, args.opt)
    c, h, w = image_shape_of(config)
    model = build_model(config)
    model.eval()
    rng = np.random.default_rng(0)
    image = rng.uniform(-1, 1, size=(1, c, h, w)).astype("float32")
    probs = model(paddle.to_tensor(image))
    print(f"config: {args.config}")
    print(format_summary(model_summary(model.backbone, (c, h, w)), f"backbone {config['Architecture']['Backbone']['name']}"))
    print(format_summary(model_summary(model, (c, h, w)), "full model (ResNet45 + CTC)"))
    print(f"forward pass on a generated {c}x{h}x{w} image -> probabilities {list(probs.shape)} (untrained weights)")
    return 0
