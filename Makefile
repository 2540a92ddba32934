# Quick start: `make demo` and `make test` set up .venv (Python 3 + make is all they need).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ppresnet45-installed
PYTEST_ARGS ?=
# PaddleOCR 3's own client, in a venv of its own (it pins opencv-contrib-python): the tests run
# our exports through it (tests/export/test_paddleocr_client.py). `make .venv-paddleocr` makes it.
PADDLEOCR_VENV ?= .venv-paddleocr
PADDLEOCR_STAMP := $(PADDLEOCR_VENV)/.paddleocr-installed
PADDLEOCR_PINS := paddleocr==3.7.0 paddlepaddle==3.3.1
# The programs PP-OCR models come from, each in its own venv, for tests/inference/test_ppocr_models.py and
# `ppresnet45 versus-ppocr`: PaddleOCR 2.x (its tools/infer/predict_rec.py) and RapidOCR. OpenCV, NumPy and
# ONNX Runtime pinned as in constraints.txt, so both resize and run as ours do.
PPOCR2_VENV ?= .venv-ppocr2
PPOCR2_STAMP := $(PPOCR2_VENV)/.ppocr2-installed
PPOCR2_PINS := paddleocr==2.10.0 paddlepaddle==3.3.1 numpy==2.4.6 opencv-python==5.0.0.93 opencv-contrib-python==5.0.0.93 \
	opencv-python-headless==5.0.0.93
RAPIDOCR_VENV ?= .venv-rapidocr
RAPIDOCR_STAMP := $(RAPIDOCR_VENV)/.rapidocr-installed
RAPIDOCR_PINS := rapidocr_onnxruntime==1.4.4 onnxruntime==1.32.0 opencv-python==5.0.0.93 numpy==2.4.6 pillow==13.0.0

.PHONY: demo test test-fast test-avx2 lint install clean .venv-paddleocr .venv-ppocr2 .venv-rapidocr

$(STAMP): setup.py constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

$(PADDLEOCR_STAMP):
	test -x $(PADDLEOCR_VENV)/bin/python || $(PYTHON) -m venv $(PADDLEOCR_VENV)
	$(PADDLEOCR_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PADDLEOCR_VENV)/bin/python -m pip install --quiet $(PADDLEOCR_PINS)
	touch $(PADDLEOCR_STAMP)

.venv-paddleocr: $(PADDLEOCR_STAMP)

# A venv's pip failing (no registry) leaves no stamp: the tests that need it skip with the reason.
$(PPOCR2_STAMP):
	test -x $(PPOCR2_VENV)/bin/python || $(PYTHON) -m venv $(PPOCR2_VENV)
	$(PPOCR2_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PPOCR2_VENV)/bin/python -m pip install --quiet $(PPOCR2_PINS)
	touch $(PPOCR2_STAMP)

.venv-ppocr2: $(PPOCR2_STAMP)

$(RAPIDOCR_STAMP):
	test -x $(RAPIDOCR_VENV)/bin/python || $(PYTHON) -m venv $(RAPIDOCR_VENV)
	$(RAPIDOCR_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(RAPIDOCR_VENV)/bin/python -m pip install --quiet $(RAPIDOCR_PINS)
	touch $(RAPIDOCR_STAMP)

.venv-rapidocr: $(RAPIDOCR_STAMP)

demo: $(STAMP)
	$(VENV)/bin/ppresnet45 demo

# The tests whose path depends on the CPU's features, run a second time as on an AVX2-only CPU:
# ONEDNN_MAX_CPU_ISA caps oneDNN's kernels (Paddle, OpenVINO) and ppresnet45's view of the CPU
# (ppresnet45/utils/cpu.py), so no bf16, no VNNI, kind "avx2" -- on any machine.
AVX2_TESTS := tests/utils/test_cpu.py tests/inference/test_runtime.py tests/inference/test_auto_backend.py \
	tests/quantization tests/benchmark/test_runner.py tests/benchmark/test_plan.py tests/test_demo.py

# Two pytest workers (pytest-xdist), one test file each at a time (module fixtures are built
# once): most tests run one math thread, so two keep both cores busy. PYTEST_WORKERS=0 runs
# them in this process.
PYTEST_WORKERS ?= 2
XDIST := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

test: $(STAMP) $(PADDLEOCR_STAMP)
	-$(MAKE) --no-print-directory $(PPOCR2_STAMP) $(RAPIDOCR_STAMP)
	$(PY) -m pytest -q $(XDIST) $(PYTEST_ARGS) tests
	ONEDNN_MAX_CPU_ISA=AVX2 $(PY) -m pytest -q $(XDIST) $(PYTEST_ARGS) $(AVX2_TESTS)

# Everything but the tests marked slow (training, exports, third-party clients): a quick check while editing.
test-fast: $(STAMP)
	$(PY) -m pytest -q $(XDIST) -m "not slow" $(PYTEST_ARGS) tests

# ruff (lint + format) and mypy (settings in ruff.toml and setup.cfg); .ci/run runs it before the tests.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test-avx2: $(STAMP)
	ONEDNN_MAX_CPU_ISA=AVX2 $(PY) -m pytest -q $(XDIST) $(PYTEST_ARGS) $(AVX2_TESTS)

clean:
	rm -rf $(VENV) $(PADDLEOCR_VENV) $(PPOCR2_VENV) $(RAPIDOCR_VENV) build *.egg-info demo_output .pytest_cache
