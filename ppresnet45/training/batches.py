"""What a batch holds: field positions (the config's ``KeepKeys`` order) and label texts."""

import copy

import numpy as np

from ..errors import ConfigError

DEFAULT_POSITIONS = {"image": 0, "label": 1, "length": 2}


def _mapping(node, key, example=""):
    """``node`` (None: ``{}``) if it is a mapping, else a one-line ConfigError naming ``key``."""
    if node is None:
        return {}
    if not isinstance(node, dict):
        raise ConfigError(f"{key}: expected a mapping{example}, got {type(node).__name__} {node!r}")
    return node


def _keep_keys_op(config, mode):
    """The ``KeepKeys`` arguments of ``mode``'s transforms (None without KeepKeys); its
    ``keep_keys`` is checked to be a list of strings."""
    section = _mapping(config.get(mode), mode)
    dataset = _mapping(section.get("dataset"), f"{mode}.dataset", " like {name: SimpleDataSet, ...}")
    transforms = dataset.get("transforms")
    if transforms is None:
        return None
    if not isinstance(transforms, list):
        raise ConfigError(
            f"{mode}.dataset.transforms: expected a list of {{Name: args}} items, "
            f"got {type(transforms).__name__} {transforms!r}"
        )
    for index, op in enumerate(transforms):
        if isinstance(op, dict) and "KeepKeys" in op and isinstance(op["KeepKeys"], dict):
            _keep_keys(op["KeepKeys"], f"{mode}.dataset.transforms.{index}.KeepKeys.keep_keys")
            return op["KeepKeys"]
    return None


def _keep_keys(op, key):
    """The ``keep_keys`` list of a KeepKeys op (None / missing: ``[]``), checked to be strings."""
    keys = op.get("keep_keys")
    if keys is None:
        return []
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ConfigError(f"{key}: expected a list of field names (strings) like [image, label, length], got {keys!r}")
    return keys


def batch_positions(config, mode):
    """Positions of ``image``, ``label``, ``length`` in a ``mode`` batch (KeepKeys order)."""
    op = _keep_keys_op(config, mode)
    if op is None:
        return dict(DEFAULT_POSITIONS)
    return {k: i for i, k in enumerate(op.get("keep_keys") or [])}


def train_batch_positions(config):
    """:func:`batch_positions` of ``Train``, which must keep image, label and length."""
    positions = batch_positions(config, "Train")
    for key in ("image", "label", "length"):
        if key not in positions:
            raise ConfigError(f"Train.dataset.transforms: KeepKeys must keep '{key}' (keep_keys: {list(positions)})")
    return positions


def with_eval_fields(config, mode="Eval", fields=("text", "img_path")):
    """Return a copy of ``config`` whose ``mode`` KeepKeys also keeps ``fields`` (label text,
    image path) for reports, and the positions of image, label, length and those fields."""
    config = copy.deepcopy(config)
    op = _keep_keys_op(config, mode)
    if op is None:
        return config, dict(DEFAULT_POSITIONS)
    keys = list(op.get("keep_keys") or [])
    for f in fields:
        if f not in keys:
            keys.append(f)
    op["keep_keys"] = keys
    return config, {k: i for i, k in enumerate(keys)}


def as_list(field):
    """A batch field (list, tensor or array) as a flat Python list."""
    if isinstance(field, (list, tuple)):
        return list(field)
    if hasattr(field, "numpy"):
        field = field.numpy()
    return list(np.asarray(field).reshape(-1))


def decode_label_batch(labels, lengths, characters):
    """Label index rows → texts: the first ``length`` entries of each row, index ``i`` being
    character ``i - 1``. What follows them is never read: CTC's and VisionLAN's 0 padding,
    ABINet's ``</s>`` (0) and its ``ignore_index`` (100) padding."""
    labels = labels.numpy() if hasattr(labels, "numpy") else np.asarray(labels)
    lengths = lengths.numpy() if hasattr(lengths, "numpy") else np.asarray(lengths)
    out = []
    for row, n in zip(labels, lengths.reshape(-1)):
        out.append("".join(characters[i - 1] for i in row[: int(n)] if 0 < i <= len(characters)))
    return out


def label_texts(batch, positions, characters=None):
    """The ground-truth texts of ``batch``: its ``text`` field when kept, else the decoded
    ``label`` / ``length`` fields (which need the dictionary's ``characters``)."""
    if "text" in positions:
        return [str(t) for t in as_list(batch[positions["text"]])]
    if characters is None:
        raise ConfigError("evaluate: labels need the dictionary (characters) or a 'text' field")
    return decode_label_batch(batch[positions["label"]], batch[positions["length"]], characters)
