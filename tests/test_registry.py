"""Registries: registration, clashes, lookups with suggestions, keyword checks, the public API."""

import pytest
from paddle import nn

import ppresnet45
from ppresnet45 import BACKBONES, HEADS, LOSSES, NECKS, POSTPROCESS, Registry, RegistryError


def test_import_registers_all_builtins():
    assert {"ResNet", "ResNet18", "ResNet45", "ResNet50"} <= set(ppresnet45.list_backbones())
    assert "SequenceEncoder" in NECKS
    assert "CTCHead" in HEADS
    assert "CTCLoss" in LOSSES
    assert "CTCLabelDecode" in POSTPROCESS


def test_list_backbones_is_sorted():
    names = ppresnet45.list_backbones()
    assert names == sorted(names)


def test_build_backbone_from_dict_returns_the_class_with_kwargs():
    model = ppresnet45.build_backbone({"name": "ResNet45", "in_channels": 1, "strides": [2, 2, 2, 1, 1]})
    assert isinstance(model, ppresnet45.ResNet45)
    assert model.in_channels == 1
    assert model.strides == [2, 2, 2, 1, 1]


def test_build_does_not_modify_the_config():
    cfg = {"name": "ResNet45", "in_channels": 3}
    ppresnet45.build_backbone(cfg)
    assert cfg == {"name": "ResNet45", "in_channels": 3}


def test_unknown_backbone_error_lists_registered_names_and_suggests_closest():
    with pytest.raises(RegistryError) as err:
        ppresnet45.build_backbone({"name": "ResNet4"})
    msg = str(err.value)
    assert "unknown Backbone 'ResNet4'" in msg
    assert "did you mean 'ResNet45'?" in msg
    assert "ResNet18, ResNet45, ResNet50" in msg.replace("ResNet, ", "")
    assert "\n" not in msg


def test_bad_keyword_names_class_and_accepted_arguments():
    with pytest.raises(RegistryError) as err:
        ppresnet45.build_backbone({"name": "ResNet45", "stride": [2, 1, 2, 1, 1]})
    msg = str(err.value)
    assert "Backbone 'ResNet45'" in msg and "'stride'" in msg
    assert "did you mean 'strides'?" in msg
    assert "in_channels" in msg and "layers" in msg


def test_missing_name_key_is_reported():
    with pytest.raises(RegistryError, match="with a 'name' key"):
        BACKBONES.build({"in_channels": 3})


def test_register_clash_raises_and_same_object_is_idempotent():
    reg = Registry("Thing")

    @reg.register()
    class A:
        pass

    reg.register("A", A)  # same object again: fine
    with pytest.raises(RegistryError, match="Thing 'A' is already registered"):

        @reg.register("A")
        class B:
            pass

    assert reg.names() == ["A"] and len(reg) == 1


def test_decorator_with_alias_and_factory_function():
    reg = Registry("Widget")

    @reg.register("Tiny")
    def make_tiny(width=4):
        return nn.Linear(width, 2)

    layer = reg.build({"name": "Tiny", "width": 3})
    assert layer.weight.shape == [3, 2]
    with pytest.raises(RegistryError, match="accepted: width"):
        reg.build({"name": "Tiny", "depth": 3})


def test_builtin_registry_rejects_a_clashing_plugin_class():
    with pytest.raises(RegistryError, match="Backbone 'ResNet45' is already registered"):

        @BACKBONES.register("ResNet45")
        class Impostor(nn.Layer):
            pass

    assert BACKBONES.get("ResNet45") is ppresnet45.ResNet45


def test_a_fresh_import_registers_every_built_in_component():
    import json
    import subprocess
    import sys

    code = "import json, ppresnet45; print(json.dumps({k: r.names() for k, r in ppresnet45.ALL_REGISTRIES.items()}))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    names = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = {
        "backbones": {"ResNet", "ResNet18", "ResNet45", "ResNet50"},
        "heads": {"CTCHead", "ABINetHead", "VLHead"},
        "losses": {"CTCLoss", "CELoss", "VLLoss"},
        "postprocess": {"CTCLabelDecode", "ABINetLabelDecode", "VLLabelDecode"},
        "metrics": {"RecMetric"},
        "datasets": {"SimpleDataSet", "LMDBDataSet"},
        "data_transforms": {"DecodeImage", "RecAug", "CTCLabelEncode", "RecResizeImg", "KeepKeys"},
        "optimizers": {"Adam", "AdamW", "Momentum", "SGD"},
        "lr_schedulers": {"Const", "Cosine", "Piecewise"},
        "runtimes": {"paddle", "paddle-nomkl", "onnxruntime", "openvino", "eager"},
    }
    for kind, want in expected.items():
        assert want <= set(names[kind]), (kind, sorted(want - set(names[kind])))


def test_a_missing_required_key_names_the_section_and_the_key(tmp_path):
    # Regression (fuzz): Eval.dataset.data_dir deleted -> "SimpleDataSet.__init__() missing 1 required
    # positional argument: 'data_dir'" (TypeError) from Registry.build.
    from ppresnet45 import ConfigError
    from ppresnet45.data.datasets import build_dataset

    cfg = {"Eval": {"dataset": {"name": "SimpleDataSet", "label_file_list": [str(tmp_path / "l.txt")]}}}
    with pytest.raises(ConfigError) as err:
        build_dataset(cfg, "Eval")
    assert str(err.value) == "Eval.dataset: Dataset 'SimpleDataSet' is missing the required key 'data_dir'"
    with pytest.raises(
        ConfigError,
        match=r"^Architecture.Head: Head 'CTCHead' is missing the required key "
        r"'Architecture.Head.in_channels'",
    ):
        HEADS.build({"name": "CTCHead", "out_channels": 10})


def test_a_type_error_inside_the_constructor_is_not_reported_as_a_missing_key():
    reg = Registry("Widget")

    @reg.register()
    def broken(width):
        raise TypeError("a bug inside the constructor")

    with pytest.raises(TypeError, match="a bug inside"):
        reg.build({"name": "broken", "width": 1})
    with pytest.raises(ppresnet45.ConfigError, match=r"^Widget 'broken' is missing the required key 'width'$"):
        reg.build({"name": "broken"})
