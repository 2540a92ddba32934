"""Export: dynamic graph -> Paddle 3 inference model (``inference.json`` + ``.pdiparams`` +
``inference.yml``), a parity check against the eager model, and an optional ONNX copy."""
