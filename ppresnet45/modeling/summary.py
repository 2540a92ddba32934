"""Parameter and multiply-add counting that does not rely on ``paddle.flops``.

``paddle.flops`` crashes with numpy >= 2.4, so multiply-adds are counted here from the
shapes seen by forward hooks on a real forward pass: a convolution costs
``out_elements * (C_in / groups) * k_h * k_w`` multiply-adds, a linear layer
``out_elements * in_features``, an LSTM ``4 * hidden * (input + hidden)`` per step, layer
and direction. Element-wise work (BN, ReLU, add, softmax) is reported separately as it is
memory- rather than FMA-bound.
"""

import numpy as np
import paddle
from paddle import nn


def count_parameters(model, trainable_only=True):
    """Number of parameters (trainable only by default; BN running stats are buffers)."""
    return int(sum(int(np.prod(p.shape)) for p in model.parameters() if not (trainable_only and p.stop_gradient)))


def count_macs(model, input_shape, batch_size=1):
    """Count multiply-adds of one forward pass.

    Args:
        model (nn.Layer): the network (put into eval mode for the count, restored after).
        input_shape (tuple[int, int, int]): ``(C, H, W)`` of one image.
        batch_size (int): images per pass; the result is per batch.

    Returns:
        dict: ``conv``, ``linear``, ``rnn``, ``total`` multiply-adds (ints), and
        ``output_shape`` (list of the model output's shape).
    """
    counts = {"conv": 0, "linear": 0, "rnn": 0}
    hooks = []

    def conv_hook(layer, inputs, output):
        k = int(np.prod(layer.weight.shape[1:]))  # C_in/groups * kh * kw
        counts["conv"] += int(np.prod(output.shape)) * k

    def linear_hook(layer, inputs, output):
        counts["linear"] += int(np.prod(output.shape)) * int(layer.weight.shape[0])

    def lstm_hook(layer, inputs, output):
        x = inputs[0]
        batch, steps = (x.shape[1], x.shape[0]) if layer.time_major else (x.shape[0], x.shape[1])
        dirs = 2 if layer.num_directions == 2 else 1
        in_size, hid = layer.input_size, layer.hidden_size
        total = 0
        for i in range(layer.num_layers):
            isz = in_size if i == 0 else hid * dirs
            total += 4 * hid * (isz + hid) * steps * batch * dirs
        counts["rnn"] += total

    for sub in model.sublayers(include_self=True):
        if isinstance(sub, (nn.Conv2D, nn.Conv1D)):
            hooks.append(sub.register_forward_post_hook(conv_hook))
        elif isinstance(sub, nn.Linear):
            hooks.append(sub.register_forward_post_hook(linear_hook))
        elif isinstance(sub, nn.LSTM):
            hooks.append(sub.register_forward_post_hook(lstm_hook))
    was_training = model.training
    model.eval()
    try:
        with paddle.no_grad():
            out = model(paddle.zeros([batch_size] + list(input_shape), dtype="float32"))
    finally:
        for h in hooks:
            h.remove()
        if was_training:
            model.train()
    if isinstance(out, (list, tuple)):
        out = out[-1]
    counts["total"] = counts["conv"] + counts["linear"] + counts["rnn"]
    counts["output_shape"] = list(out.shape)
    return counts


def model_summary(model, input_shape):
    """A dict summary: parameters, output shape, multiply-adds and GFLOP per image."""
    macs = count_macs(model, input_shape)
    return {
        "input_shape": list(input_shape),
        "output_shape": macs["output_shape"][1:],
        "trainable_params": count_parameters(model),
        "total_params": count_parameters(model, trainable_only=False),
        "conv_macs": macs["conv"],
        "macs": macs["total"],
        "gflops": 2 * macs["total"] / 1e9,
    }


def format_summary(summary, title="model"):
    """Human-readable lines for :func:`model_summary`'s dict."""
    return "\n".join(
        [
            f"{title}",
            f"  input            : {'x'.join(map(str, summary['input_shape']))}",
            f"  output           : {summary['output_shape']}",
            f"  trainable params : {summary['trainable_params']:,}",
            f"  conv mult-adds   : {summary['conv_macs'] / 1e9:.4f} G",
            f"  total mult-adds  : {summary['macs'] / 1e9:.4f} G ({summary['gflops']:.2f} GFLOP)",
        ]
    )
