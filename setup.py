"""ppresnet45: a ResNet45 backbone plugin and tools for PaddleOCR-style text recognition."""

import os
import re

from setuptools import find_namespace_packages, setup

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "README.md"), encoding="utf-8") as f:
    long_description = f.read()
with open(os.path.join(here, "ppresnet45", "version.py"), encoding="utf-8") as f:
    version = re.search(r'__version__ = "([^"]+)"', f.read()).group(1)

extras = {
    # paddle2onnx installs onnx_graphsurgeon at run time when it is missing: declare it here
    # so that nothing is ever pip-installed while a user's export runs.
    "onnx": ["paddle2onnx>=2.0", "onnxruntime>=1.17", "onnx", "onnx_graphsurgeon"],
    "openvino": ["openvino>=2024.0", "nncf>=2.14"],  # nncf: OpenVINO's own int8 quantizer
    "lmdb": ["lmdb>=1.4"],
    "plot": ["matplotlib>=3.5"],
    # Font files for the synthetic renderer (ppresnet45.data.synth.PACKAGE_FONTS; licences there).
    "fonts": [
        "matplotlib>=3.5",
        "font-roboto",
        "font-lato",
        "font-source-sans-pro",
        "font-source-serif-pro",
        "font-caladea",
        "font-hanken-grotesk",
        "font-manrope",
        "font-rhd",
        "font-fredoka-one",
        "font-amatic-sc",
        "font-intuitive",
    ],
    "visualdl": ["visualdl"],
    # Past one process (docs/scale_out.md): `infer --engine ray` and `serve` (uvicorn, or Ray Serve).
    "ray": ["ray[data,serve]>=2.40"],
    "serve": ["fastapi>=0.110", "uvicorn>=0.29", "python-multipart>=0.0.9"],
    "loadtest": ["locust>=2.20"],  # tools/benchmark_serve.py
}
extras["all"] = sorted(set(extras["onnx"] + extras["openvino"] + extras["lmdb"] + extras["plot"] + extras["fonts"]))
extras["lint"] = ["ruff>=0.6", "mypy>=1.10", "types-PyYAML"]  # `make lint`
extras["test"] = sorted(
    set(
        extras["all"]
        + extras["lint"]
        + extras["ray"]
        + extras["serve"]
        + extras["loadtest"]
        + ["pytest>=7", "pytest-xdist>=3", "httpx"]
    )
)  # httpx: FastAPI's TestClient

setup(
    name="ppresnet45",
    version=version,
    description="ResNet45 backbone family, export, inference and benchmarking for PaddleOCR-style text recognition",
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=find_namespace_packages(include=["ppresnet45", "ppresnet45.*"]),
    package_data={"ppresnet45": ["configs/rec/*.yml", "configs/dicts/*.txt"]},
    include_package_data=True,
    install_requires=[
        "paddlepaddle>=3.0",
        "numpy",
        "opencv-python-headless",
        "pyyaml",
        "tqdm",
        "pillow>=9.2",
        "rapidfuzz>=3.0",
    ],
    extras_require=extras,
    entry_points={"console_scripts": ["ppresnet45=ppresnet45.cli:entry_point"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Image Recognition",
    ],
)
