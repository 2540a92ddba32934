"""InferenceSpec: the one reading (and writing) of inference.yml, with one-line errors."""

import os
import shutil

import pytest
import yaml

from ppresnet45.data.imgproc import MEAN, SCALE, STD
from ppresnet45.errors import ModelDirError
from ppresnet45.inference import MAX_WIDTH_RATIO, InferenceSpec, load_inference_config
from ppresnet45.inference.spec import PADDLEOCR_MAX_WIDTH

CHARS = list("0123456789abcdefghijklmnopqrstuvwxyz")


def paddleocr_style_config():
    """What PaddleOCR's export writes: the shape only in PreProcess, no max_width/dynamic_width."""
    return {
        "Global": {"model_name": "some_rec_model"},
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                {"CTCLabelEncode": None},
                {"RecResizeImg": {"image_shape": [3, 48, 320]}},
                {"KeepKeys": {"keep_keys": ["image", "label", "length"]}},
            ]
        },
        "PostProcess": {"name": "CTCLabelDecode", "character_dict": CHARS},
    }


def test_spec_round_trips_through_inference_yml(tmp_path):
    spec = InferenceSpec.for_model(
        [3, 32, 128],
        CHARS + [" "],
        model_name="m",
        macs_per_image=123,
        backbone="ResNet45",
        untrained=True,
        architecture={"Backbone": {"name": "ResNet45"}},
    )
    spec.to_yaml(tmp_path / "inference.yml")
    back = InferenceSpec.from_yaml(tmp_path / "inference.yml")
    assert back == spec
    assert InferenceSpec.from_yaml(tmp_path) == spec  # the folder works too
    text = (tmp_path / "inference.yml").read_text(encoding="utf-8")
    assert "input_shape: [3, 32, -1]" in text and "- ' '" in text  # short lists in flow style, chars one per line
    assert back.source == str(tmp_path / "inference.yml") and back.raw == yaml.safe_load(text)
    assert os.listdir(tmp_path) == ["inference.yml"]  # written atomically, no temporary left


def test_the_quantization_record_survives_a_read_write_round_trip(tmp_path):
    record = {
        "int8": {
            "runtime": "openvino",
            "file": "model_int8.xml",
            "cpu": {"kind": "amx", "flags": ["avx2"]},
            "candidates": {"openvino": {"holds": True}, "onnxruntime": {"holds": True}},
        }
    }
    spec = InferenceSpec.for_model([3, 32, 128], CHARS, quantization=record)
    spec.to_yaml(tmp_path / "inference.yml")
    back = InferenceSpec.from_yaml(tmp_path)
    assert back.quantization == record and back == spec
    back.to_yaml(tmp_path / "inference.yml")  # written again from what was read: nothing lost
    assert InferenceSpec.from_yaml(tmp_path).quantization == record


def test_saving_a_record_into_a_paddleocr_file_keeps_its_own_layout(tmp_path):
    cfg = paddleocr_style_config()
    cfg["Hpi"] = {"backend_configs": {"paddle_infer": {"trt_dynamic_shapes": {"x": [[1, 3, 48, 160]]}}}}
    (tmp_path / "inference.yml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    spec = InferenceSpec.from_yaml(tmp_path / "inference.yml")
    spec.quantization = {"int8": {"runtime": "openvino"}}
    spec.save_records()
    written = yaml.safe_load((tmp_path / "inference.yml").read_text(encoding="utf-8"))
    assert written["Hpi"] == cfg["Hpi"] and written["PreProcess"] == cfg["PreProcess"]
    assert written["Global"] == dict(cfg["Global"], quantization={"int8": {"runtime": "openvino"}})
    assert InferenceSpec.from_yaml(tmp_path).quantization == {"int8": {"runtime": "openvino"}}


def test_normalisation_comes_from_the_shared_preprocessing():
    cfg = InferenceSpec.for_model([1, 32, 100], CHARS).to_config()
    assert cfg["Global"]["normalize"] == {"scale": SCALE, "mean": list(MEAN[:1]), "std": list(STD[:1])}
    three = InferenceSpec.for_model([3, 32, 100], CHARS)
    assert (three.scale, three.mean, three.std) == (SCALE, MEAN, STD)


def test_one_default_max_width_on_write_and_read():
    written = InferenceSpec.for_model([3, 32, 128], CHARS)
    assert written.max_width == MAX_WIDTH_RATIO * 32
    cfg = written.to_config()
    del cfg["Global"]["max_width"]
    assert InferenceSpec.from_config(cfg).max_width == written.max_width
    fixed = InferenceSpec.for_model([3, 32, 128], CHARS, dynamic_width=False)
    assert fixed.max_width == 128 and fixed.input_shape == [3, 32, 128] and not fixed.chunking


def test_paddleocr_style_file_reads_the_shape_from_preprocess():
    spec = InferenceSpec.from_config(paddleocr_style_config())
    assert spec.image_shape == [3, 48, 320] and spec.input_shape == [3, 48, -1] and spec.dynamic_width
    assert spec.character_list == CHARS and spec.model_name == "some_rec_model"
    # batched as PaddleOCR's predict_rec does, up to PaddleX's widest batch
    assert spec.batching == "paddleocr" and spec.paddleocr_batching and not spec.chunking
    assert spec.max_width == PADDLEOCR_MAX_WIDTH == 3200
    assert (spec.scale, spec.mean, spec.std) == (SCALE, MEAN, STD)


def test_numbers_spelled_as_strings_are_read():
    cfg = paddleocr_style_config()
    cfg["PreProcess"]["transform_ops"].append(
        {"NormalizeImage": {"scale": "1./255.", "mean": [0.5] * 3, "std": [0.5] * 3}}
    )
    assert InferenceSpec.from_config(cfg).scale == pytest.approx(1 / 255)


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda c: c["Global"].update(dynamic_width="yes"),
            r"Global.dynamic_width: expected true for input_shape "
            r"\[3, 32, -1\], got 'yes'",
        ),
        (lambda c: c["Global"].update(dynamic_width=False), r"Global.dynamic_width: expected true .*, got False"),
        (
            lambda c: c["Global"].update(input_shape=[1, 32, -1]),
            r"Global.input_shape: \[1, 32, -1\] does not match "
            r"PreProcess RecResizeImg.image_shape \[3, 32, 128\]",
        ),
        (lambda c: c["Global"].update(max_width=0), r"Global.max_width: expected a positive int"),
        (
            lambda c: (
                c["Global"].update(image_shape=[3, 32]),
                c["PreProcess"]["transform_ops"][1]["RecResizeImg"].clear(),
            ),
            r"Global.image_shape: expected \[C, H, W\] of positive ints",
        ),
        (
            lambda c: c["PreProcess"]["transform_ops"][1]["RecResizeImg"].update(image_shape=[3, 0, 8]),
            r"PreProcess RecResizeImg.image_shape: expected \[C, H, W\] of positive ints",
        ),
        (lambda c: c["PostProcess"].update(character_dict="abc"), r"PostProcess.character_dict: expected the list"),
        (
            lambda c: c["Global"].update(batching="fast"),
            r"Global.batching: expected chunks, paddleocr or predict_rec, got 'fast'",
        ),
        (
            lambda c: c["PreProcess"]["transform_ops"][1]["RecResizeImg"].update(padding="no"),
            r"PreProcess RecResizeImg.padding: expected true or false, got 'no'",
        ),
        (lambda c: c.pop("PostProcess"), r"PostProcess: expected a mapping with 'name'"),
        (
            lambda c: c["PreProcess"]["transform_ops"][0]["DecodeImage"].update(img_mode="CMYK"),
            r"DecodeImage.img_mode: expected BGR, RGB or GRAY",
        ),
        (
            lambda c: c["PreProcess"]["transform_ops"].append({"NormalizeImage": {"scale": "a/b"}}),
            r"NormalizeImage.scale: expected a number",
        ),
        (lambda c: c.update(Architecture=[1]), r"Architecture: expected a mapping"),
        (
            lambda c: c["Global"].update(quantization={"int8": "yes"}),
            r"Global.quantization: expected a mapping of "
            r"records",
        ),
    ],
)
def test_bad_values_are_one_line_errors_naming_file_and_key(edit, message):
    cfg = InferenceSpec.for_model([3, 32, 128], CHARS).to_config()
    edit(cfg)
    with pytest.raises(ModelDirError, match=r"^/m/inference.yml: " + message) as info:
        InferenceSpec.from_config(cfg, "/m/inference.yml")
    assert "\n" not in str(info.value)


def test_missing_model_dir_names_the_folder(tmp_path):
    with pytest.raises(ModelDirError, match=r"model dir '.*nowhere' not found"):
        load_inference_config(tmp_path / "nowhere")
    with pytest.raises(ModelDirError, match=r"model dir '.*nowhere' not found"):
        InferenceSpec.from_yaml(tmp_path / "nowhere")
    (tmp_path / "no_yml").mkdir()
    with pytest.raises(ModelDirError, match=r"no_yml': inference.yml missing"):
        InferenceSpec.from_yaml(tmp_path / "no_yml")
    with pytest.raises(ModelDirError, match=r"'.*other.yml' not found"):
        InferenceSpec.from_yaml(tmp_path / "other.yml")


def test_malformed_inference_yml_is_a_one_line_error(model_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(model_dir, bad)
    (bad / "inference.yml").write_text("Global: [unclosed\n")
    with pytest.raises(ModelDirError, match=r"inference.yml:\d+:\d+: YAML syntax error") as info:
        load_inference_config(bad)
    assert "\n" not in str(info.value)
    (bad / "inference.yml").write_text("Global: {image_shape: [3, 32, 128]}\n")
    with pytest.raises(ModelDirError, match=r"inference.yml: Global.input_shape: expected \[C, H, W\]"):
        load_inference_config(bad)


def test_load_inference_config_returns_the_checked_mapping(model_dir):
    cfg = load_inference_config(model_dir)
    with open(os.path.join(model_dir, "inference.yml"), encoding="utf-8") as f:
        assert yaml.safe_load(f) == cfg
    assert InferenceSpec.from_config(cfg) == InferenceSpec.from_yaml(model_dir)
