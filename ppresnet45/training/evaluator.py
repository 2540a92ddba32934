"""``ppresnet45 eval`` / ``tools/eval.py``: evaluate a checkpoint on the config's Eval set.

``tools/eval.py -c CONFIG -o Global.checkpoints=output/rec/best_accuracy`` reports word
accuracy (exact and case-insensitive), normalized edit distance and accuracy by text
length, and writes to ``--output_dir`` (default: the checkpoint's folder):

* ``eval_result.json`` — the metrics, the checkpoint, the number of samples;
* ``eval_worst.tsv`` — the worst-recognized samples (highest edit distance first):
  ``image<TAB>label<TAB>prediction<TAB>edit_distance<TAB>score``.
"""

import json
import os
import time

import paddle
from tqdm import tqdm

from ..errors import ConfigError
from ..modeling.metrics import worst_samples
from ..utils.io import atomic_write_text
from . import components
from .batches import DEFAULT_POSITIONS, as_list, label_texts
from .checkpoint import checkpoint_prefix
from .devices import configure_cpu, use_cuda
from .settings import omp_blocktime_of


def evaluate_model(
    model, loader, postprocess, metric, positions=None, characters=None, show_progress=True, keep_records=False
):
    """Run ``model`` over ``loader`` and compute ``metric``.

    Args:
        model (paddle.nn.Layer): the recognizer; put in eval mode for the run and back
            into its previous mode afterwards.
        loader (Iterable): batches (lists in KeepKeys order).
        postprocess (Callable): decoder, ``postprocess(probs) -> [(text, score), ...]``.
        metric (RecMetric): reset, accumulated, read.
        positions (dict | None): KeepKeys positions of ``image``, ``label``, ``length`` and
            optionally ``text`` and ``img_path`` (default ``image, label, length`` = 0, 1, 2).
        characters (list[str] | None): dictionary, to decode labels when ``text`` is not kept.
        show_progress (bool): tqdm bar.
        keep_records (bool): also return per-sample records (for the worst-samples file).

    Returns:
        tuple[dict, list[dict]]: the metrics and the records (empty unless asked).
    """
    positions = positions or DEFAULT_POSITIONS
    was_training = model.training
    model.eval()
    metric.reset()
    old_keep = getattr(metric, "keep_records", False)
    metric.keep_records = keep_records
    start = time.perf_counter()
    n = 0
    try:
        with paddle.no_grad():
            for batch in tqdm(loader, desc="eval", unit="batch", leave=False, disable=not show_progress):
                decoded = postprocess(model(batch[positions["image"]]))
                texts = label_texts(batch, positions, characters)
                extras = None
                if keep_records and "img_path" in positions:
                    extras = [{"img_path": str(p)} for p in as_list(batch[positions["img_path"]])]
                metric.update(decoded, texts, extras)
                n += len(texts)
        records = metric.records() if keep_records else []
        metrics = metric.get_metric()
    finally:
        metric.keep_records = old_keep
        if was_training:
            model.train()
    elapsed = time.perf_counter() - start
    metrics["images_per_second"] = n / elapsed if elapsed > 0 else None
    return metrics, records


def _fmt_tsv(value):
    return str(value).replace("\t", " ").replace("\n", " ")


def write_eval_report(output_dir, metrics, records, checkpoint=None, num_worst=50, extra=None):
    """Write ``eval_result.json`` and ``eval_worst.tsv`` atomically; returns the JSON path."""
    os.makedirs(output_dir, exist_ok=True)
    worst = worst_samples(records, num_worst)
    result = {
        "checkpoint": checkpoint,
        "metrics": metrics,
        "num_worst": len(worst),
        "worst_file": "eval_worst.tsv",
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if extra:
        result.update(extra)
    lines = ["image\tlabel\tprediction\tedit_distance\tscore\n"]
    for r in worst:
        score = "" if r.get("score") is None else f"{r['score']:.4f}"
        lines.append(
            "\t".join(_fmt_tsv(v) for v in (r.get("img_path", ""), r["label"], r["pred"], r["edit_distance"], score))
            + "\n"
        )
    atomic_write_text(os.path.join(output_dir, "eval_worst.tsv"), "".join(lines))
    path = os.path.join(output_dir, "eval_result.json")
    atomic_write_text(path, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return path


def evaluate_checkpoint(config, checkpoint=None, output_dir=None, num_worst=50, show_progress=True):
    """Load a checkpoint, evaluate it on ``config['Eval']`` and write the reports.

    Args:
        config (dict): a loaded config.
        checkpoint (str | None): checkpoint prefix; default ``Global.checkpoints``, else
            ``Global.pretrained_model``.
        output_dir (str | None): where reports go (default: the checkpoint's folder).
        num_worst (int): samples in ``eval_worst.tsv``.
        show_progress (bool): tqdm bar.

    Returns:
        dict: the metrics (also in ``eval_result.json``).
    """
    glob = config.get("Global") or {}
    checkpoint = checkpoint or glob.get("checkpoints") or glob.get("pretrained_model")
    if not checkpoint:
        raise ConfigError(
            "Global.checkpoints: set it to the checkpoint to evaluate, e.g. "
            "-o Global.checkpoints=output/rec/best_accuracy"
        )
    if not config.get("Eval"):
        raise ConfigError("Eval: missing section (expected Eval.dataset and Eval.loader)")
    prefix = checkpoint_prefix(checkpoint)
    if not os.path.isfile(prefix + ".pdparams"):
        raise ConfigError(f"Global.checkpoints: '{prefix}.pdparams' not found")
    paddle.set_device("gpu" if use_cuda(glob.get("use_gpu")) else "cpu")
    configure_cpu(
        bool(glob.get("use_onednn", False)), False, glob.get("cpu_threads"), omp_blocktime=omp_blocktime_of(glob)
    )
    model = components.build_model(config)
    report = components.load_weights(model, prefix, key="Global.checkpoints")
    if report["missing"] or report["mismatched"]:
        raise ConfigError(
            f"Global.checkpoints: '{prefix}.pdparams' does not fit the model of this config "
            f"({len(report['missing'])} missing, {len(report['mismatched'])} shape mismatches)"
        )
    postprocess = components.build_postprocess(config)
    metric = components.build_metric(config)
    loader, positions = components.build_eval_loader(config, seed=int(glob.get("seed", 0) or 0))
    with components.closing_datasets(loader):
        metrics, records = evaluate_model(
            model,
            loader,
            postprocess,
            metric,
            positions,
            components.dictionary_characters(config),
            show_progress=show_progress,
            keep_records=True,
        )
    output_dir = output_dir or os.path.dirname(os.path.abspath(prefix))
    path = write_eval_report(
        output_dir, metrics, records, checkpoint=prefix, num_worst=num_worst, extra={"skipped": loader.skip_counts()}
    )
    metrics["result_file"] = path
    return metrics


def format_metrics(metrics):
    """A short human-readable summary of :func:`evaluate_model`'s metrics."""
    lines = [
        f"samples: {metrics.get('num_samples')}",
        f"word accuracy: {metrics.get('acc', 0.0):.4f} (case-insensitive {metrics.get('acc_case_insensitive', 0.0):.4f})",
        f"norm_edit_dis: {metrics.get('norm_edit_dis', 0.0):.4f} (1 - normalized edit distance; 1.0 = all exact)",
    ]
    by_len = metrics.get("acc_by_length") or {}
    if by_len:
        lines.append(
            "accuracy by length: " + ", ".join(f"{k}: {v['acc']:.3f} (n={v['count']})" for k, v in by_len.items())
        )
    by_group = metrics.get("acc_by_group") or {}
    if by_group:
        lines.append(
            "accuracy by folder: " + ", ".join(f"{k}: {v['acc']:.3f} (n={v['count']})" for k, v in by_group.items())
        )
    return "\n".join(lines)
