"""Importing the package, the CLI and the registries stays light; running a runtime loads only its library."""

import json
import subprocess
import sys

import pytest

HEAVY = ("paddle", "cv2", "onnxruntime", "openvino", "nncf", "ray", "fastapi", "starlette", "uvicorn", "locust")


def _loaded_after(code):
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
    script += repr(HEAVY) + ")))"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {m.split(".")[0] for m in json.loads(proc.stdout.strip().splitlines()[-1])}


@pytest.mark.parametrize(
    "code",
    [
        "import ppresnet45",
        "import ppresnet45.cli",
        "import ppresnet45.registry; from ppresnet45 import RUNTIMES, BACKBONES",
        "from ppresnet45.cli import build_parser; build_parser()",
    ],
)
def test_importing_the_package_cli_and_registries_loads_no_framework(code):
    assert _loaded_after(code) == set()


def test_the_infer_command_and_the_openvino_runtime_do_not_load_paddle():
    """What `ppresnet45 infer --backend openvino` imports: OpenCV and OpenVINO, not Paddle or ONNX Runtime."""
    pytest.importorskip("openvino")
    assert _loaded_after("import ppresnet45.commands.infer") == {"cv2"}
    code = (
        "from ppresnet45.inference import backend_names\n"
        "from ppresnet45.registry import RUNTIMES\n"
        "assert 'paddle' in backend_names() and 'openvino' in backend_names()\n"
        "cls = RUNTIMES.get('openvino')\n"
        "assert cls.__name__ == 'OpenVINORuntime'\n"
    )
    assert _loaded_after(code) == {"cv2"}  # OpenVINO itself is imported when a model is opened


def test_registries_still_list_every_builtin_on_first_use():
    from ppresnet45 import BACKBONES, DATA_TRANSFORMS, OPTIMIZERS, POSTPROCESS, RUNTIMES

    assert {"ResNet45", "ResNet18", "ResNet50"} <= set(BACKBONES.names())
    assert {"CTCLabelDecode", "ABINetLabelDecode", "VLLabelDecode"} <= set(POSTPROCESS.names())
    assert {"DecodeImage", "RecResizeImg", "CTCLabelEncode"} <= set(DATA_TRANSFORMS.names())
    assert "Adam" in OPTIMIZERS.names()
    assert {"paddle", "onnxruntime", "openvino", "eager"} <= set(RUNTIMES.names())
    assert "ResNet45" in BACKBONES and "paddle" in RUNTIMES


@pytest.mark.parametrize(
    "module",
    [
        "ppresnet45.commands.serve",
        "ppresnet45.engines.ray_batch",
        "ppresnet45.serving.app",
        "ppresnet45.serving.ray_serve",
    ],
)
def test_the_scale_out_modules_import_no_ray_or_web_framework_until_they_run(module):
    assert _loaded_after(f"import {module}") <= {"cv2"}
