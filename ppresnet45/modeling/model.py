"""The recognition model: [Transform] → Backbone → [Neck] → Head, built from a config."""

import copy
import inspect

from paddle import nn

from ..charset import load_character_list
from ..errors import ConfigError
from ..registry import BACKBONES, HEADS, NECKS, POSTPROCESS, TRANSFORMS


class RecModel(nn.Layer):
    """A text recognizer assembled from registered parts.

    Attribute names (``transform``, ``backbone``, ``neck``, ``head``) match PaddleOCR's
    ``BaseModel`` so full-model state-dict keys read ``backbone.layer1.0.conv1.weight``.

    Args:
        arch_cfg (dict): the ``Architecture`` section: ``in_channels`` (default 3),
            ``Transform`` / ``Neck`` (optional), ``Backbone``, ``Head`` (each
            ``{"name": ..., **kwargs}``). ``in_channels`` flows to the first part, then each
            part's ``out_channels`` to the next.
    """

    def __init__(self, arch_cfg):
        super().__init__()
        arch_cfg = copy.deepcopy(arch_cfg)
        in_channels = arch_cfg.get("in_channels", 3)
        self.model_type = arch_cfg.get("model_type", "rec")
        self.algorithm = arch_cfg.get("algorithm", "")
        self.use_transform = bool(arch_cfg.get("Transform"))
        if self.use_transform:
            self.transform = TRANSFORMS.build(arch_cfg["Transform"], in_channels=in_channels)
            in_channels = getattr(self.transform, "out_channels", in_channels)
        if not arch_cfg.get("Backbone"):
            raise ConfigError("Architecture.Backbone: missing (expected e.g. {name: ResNet45})")
        self.backbone = BACKBONES.build(arch_cfg["Backbone"], in_channels=in_channels)
        in_channels = self.backbone.out_channels
        self.use_neck = bool(arch_cfg.get("Neck"))
        if self.use_neck:
            self.neck = NECKS.build(arch_cfg["Neck"], in_channels=in_channels)
            in_channels = self.neck.out_channels
        if not arch_cfg.get("Head"):
            raise ConfigError("Architecture.Head: missing (expected e.g. {name: CTCHead})")
        self.head = HEADS.build(arch_cfg["Head"], in_channels=in_channels)

    @property
    def needs_targets(self):
        """Whether the head reads the batch's targets in train mode (its ``needs_targets``
        class attribute, False by default: VisionLAN's ``VLHead`` sets it)."""
        return bool(getattr(self.head, "needs_targets", False))

    def forward(self, x, targets=None):
        """Run the model.

        Args:
            x (Tensor): images ``[B, C, H, W]``.
            targets (list | dict | None): the batch without its image (PaddleOCR's
                ``batch[1:]``); passed to the head only in train mode and only when it
                :attr:`needs_targets`. Eval mode never uses them.

        Returns:
            the head's output (its train-mode or eval-mode form).
        """
        if self.use_transform:
            x = self.transform(x)
        x = self.backbone(x)
        if self.use_neck:
            x = self.neck(x)
        if self.training and self.needs_targets:
            return self.head(x, targets)
        return self.head(x)


def resolve_architecture(config):
    """Return a copy of ``config['Architecture']`` with the head's class count filled in.

    A head without ``out_channels`` gets the count the config's ``PostProcess`` decoder
    implies for the dictionary of ``Global.character_dict_path`` / ``Global.use_space_char``
    (``head_out_channels``): CTC adds a blank, ABINet adds ``</s>``, VisionLAN's head adds
    its end class itself.

    A head that takes the text length (``max_length``: ABINet, ``max_text_length``:
    VisionLAN) gets ``Global.max_text_length`` when the config leaves it out; a value that
    disagrees with ``Global.max_text_length`` (the label encoders' length, default 25)
    raises a :class:`ConfigError` naming both keys and values.
    """
    if "Architecture" not in config or not isinstance(config["Architecture"], dict):
        raise ConfigError("Architecture: missing section (expected a mapping with Backbone and Head)")
    arch = copy.deepcopy(config["Architecture"])
    head = arch.get("Head")
    if isinstance(head, dict) and head.get("out_channels") is None:
        glob = config.get("Global") or {}
        characters = load_character_list(glob.get("character_dict_path"), bool(glob.get("use_space_char", False)))
        decoder = POSTPROCESS.get((config.get("PostProcess") or {}).get("name", "CTCLabelDecode"))
        count = getattr(decoder, "head_out_channels", None)
        head["out_channels"] = count(len(characters)) if count else len(characters) + 1
    if isinstance(head, dict) and head.get("name"):
        _sync_max_length(head, config.get("Global") or {})
    return arch


# Head arguments that mean "most characters per line" (ABINetHead: max_length, VLHead:
# max_text_length): they must equal Global.max_text_length, the label encoders' length.
_HEAD_LENGTH_KEYS = ("max_length", "max_text_length")
_DEFAULT_MAX_TEXT_LENGTH = 25  # the label encoders' default without Global.max_text_length


def _head_length_key(head_cls):
    """The head argument among :data:`_HEAD_LENGTH_KEYS` that ``head_cls`` accepts, or None."""
    try:
        params = inspect.signature(head_cls).parameters
    except (TypeError, ValueError):
        return None
    return next((k for k in _HEAD_LENGTH_KEYS if k in params), None)


def _sync_max_length(head, glob):
    """Fill the head's text-length argument from ``Global.max_text_length`` when absent;
    raise a one-line :class:`ConfigError` naming both keys when they disagree."""
    key = _head_length_key(HEADS.get(head["name"]))
    if key is None:
        return
    glob_value = glob.get("max_text_length")
    if head.get(key) is None:
        if glob_value is not None:
            head[key] = glob_value
        return
    expected = _DEFAULT_MAX_TEXT_LENGTH if glob_value is None else glob_value
    if head[key] != expected:
        where = "Global.max_text_length" if glob_value is not None else "Global.max_text_length (unset: default"
        where += f" {expected}" + ("" if glob_value is not None else ")")
        raise ConfigError(
            f"Architecture.Head.{key} {head[key]!r} disagrees with {where}: labels are encoded to "
            f"Global.max_text_length, so set one value (or drop Architecture.Head.{key})"
        )


def build_model(config):
    """Build the recognition model from a config dict or a YAML path.

    Args:
        config (dict | str | os.PathLike): a loaded config (see :func:`ppresnet45.load_config`)
            or the path of a YAML file.

    Returns:
        RecModel: the model, in train mode.
    """
    if not isinstance(config, dict):
        from ..config import load_config

        config = load_config(config)
    return RecModel(resolve_architecture(config))
