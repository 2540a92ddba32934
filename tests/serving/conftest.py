"""A service over the tiny export (tests/conftest.py), shared by the service tests: its
TestClient, with lifespan (model loaded and warmed up, batcher running)."""

import pytest

pytest.importorskip("fastapi", reason="the service needs the [serve] extra (fastapi, uvicorn, python-multipart)")


def make_client(model_dir, **options):
    from fastapi.testclient import TestClient

    from ppresnet45.serving.app import ServiceConfig, create_app

    config = ServiceConfig(model_dir=str(model_dir), backend="paddle", precision="fp32", cpu_threads=1, **options)
    return TestClient(create_app(config), raise_server_exceptions=False)


@pytest.fixture(scope="session")
def client_factory():
    """``make_client(model_dir, **ServiceConfig options)``: a TestClient to use in a ``with`` block."""
    return make_client


@pytest.fixture(scope="module")
def client(tiny_model_dir):
    with make_client(tiny_model_dir, max_images=8, max_body_bytes=200_000, max_wait_ms=5) as c:
        yield c
