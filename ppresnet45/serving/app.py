"""The recognition service's FastAPI app: ``POST /v1/recognize``, ``GET /healthz``, ``GET /metrics``.

``POST /v1/recognize`` takes the images either as multipart files in the field ``images`` (one
or many) or as JSON ``{"images": ["<base64>", ...]}``, and answers ``{"results": [...]}`` in
input order, one ``{"text", "score"}`` per image (``chunks`` too for a line read in pieces).
Every image is decoded with the checks of ``ppresnet45 infer`` (:func:`.images.decode_image_bytes`:
truncated files, decompression bombs by their header, non-images). Bad input is a 4xx with a
one-line JSON body ``{"error": "..."}`` and never reaches the model: a body over
``max_body_bytes`` (413), more than ``max_images`` images (413), broken JSON or multipart (400),
no images, bad base64, an image that does not decode (422; with ``?partial=true`` the other
images are still read and the bad one gets ``{"error"}`` in its place), another content type
(415).

The app is made by :func:`create_app` from a :class:`ServiceConfig`; its lifespan loads one
:class:`~ppresnet45.inference.Recognizer` (warmed up, so ``backend=auto`` measures before the
first request, not during it) and starts the :class:`.batching.DynamicBatcher`; on shutdown
the batcher finishes what is queued. uvicorn runs this app as it is; Ray Serve runs the same
app in each replica (:mod:`.ray_serve`).
"""

import asyncio
import base64
import binascii
import contextlib
import json
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass
from typing import Optional

from ..errors import DataError
from ..inference.images import DEFAULT_MAX_PIXELS, ImageLoadError, decode_image_bytes
from .batching import DynamicBatcher
from .metrics import ServiceMetrics

CONFIG_ENV = "PPRESNET45_SERVE_CONFIG"  # the JSON ServiceConfig of app_from_env (uvicorn --workers)
WARMUP_TEXTS = ("recognition", "ppresnet45", "Hello 2026", "text line", "ResNet45", "batch 16", "0123456789", "OCR")


class ServiceError(Exception):
    """A request the service refuses: an HTTP status and a one-line message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


@dataclass
class ServiceConfig:
    """What a service runs with (the ``ppresnet45 serve`` options).

    Attributes:
        model_dir (str): the export folder.
        backend, precision, cpu_threads, use_cache: as for :class:`ppresnet45.inference.Recognizer`.
        max_batch_size (int): most images per model call (dynamic batching).
        max_wait_ms (float): how long a request waits for others to share its batch.
        max_images (int): most images in one request.
        max_body_bytes (int): largest request body.
        max_pixels (int | None): larger images are refused (None: no limit of ours).
    """

    model_dir: str
    backend: str = "auto"
    precision: Optional[str] = None
    cpu_threads: Optional[int] = None
    use_cache: bool = True
    max_batch_size: int = 16
    max_wait_ms: float = 10.0
    max_images: int = 64
    max_body_bytes: int = 20 * 1024 * 1024
    max_pixels: int = DEFAULT_MAX_PIXELS

    def check(self):
        for name in ("max_batch_size", "max_images", "max_body_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise DataError(f"serve {name}: expected a positive int, got {value!r}")
        if self.max_wait_ms < 0:
            raise DataError(f"serve max_wait_ms: expected a number >= 0, got {self.max_wait_ms!r}")
        return self


class RecognitionService:
    """One process's model, batcher and metrics (what the app's lifespan makes)."""

    def __init__(self, config):
        from ..inference.api import Recognizer

        self.config = config
        self.metrics = ServiceMetrics()
        self.recognizer = Recognizer(
            config.model_dir,
            backend=config.backend,
            precision=config.precision,
            cpu_threads=config.cpu_threads,
            batch_size=config.max_batch_size,
            max_pixels=config.max_pixels,
            use_cache=config.use_cache,
        )
        self.batcher = DynamicBatcher(
            self._recognize, config.max_batch_size, config.max_wait_ms, on_batch=self.metrics.batch_done
        )

    def _recognize(self, images):
        return self.recognizer(images)

    def warm_up(self):
        """Load the model and settle the runtime on a few rendered lines."""
        import numpy as np

        from ..data.synth.render import render_line

        rng = np.random.default_rng(0)
        self.recognizer([render_line(t, rng, augment=False) for t in WARMUP_TEXTS])

    async def start(self):
        with _signal_handlers_kept():
            await asyncio.to_thread(self.warm_up)
        await self.batcher.start()

    async def stop(self):
        await self.batcher.stop()


@contextlib.contextmanager
def _signal_handlers_kept():
    """Put the server's SIGINT/SIGTERM handlers back after loading the model: Paddle installs its
    own on import (they abort the process), which would cut in-flight requests off."""
    main = threading.current_thread() is threading.main_thread()
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)} if main else {}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if handler is not None:
                signal.signal(sig, handler)


async def read_body(request, limit):
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ServiceError(413, f"request body of {declared} bytes is over the limit of {limit} (--max_body_mb)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ServiceError(413, f"request body is over the limit of {limit} bytes (--max_body_mb)")
        chunks.append(chunk)
    return b"".join(chunks)


async def _multipart_images(request, body, max_images):
    """``[(name, bytes)]`` of the multipart field ``images``."""
    from starlette.requests import Request

    async def replay():
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=max_images + 1, max_fields=max_images + 16)
    except Exception as exc:  # noqa: BLE001 - whatever the parser says, the body is malformed
        detail = str(getattr(exc, "detail", "") or exc).splitlines()
        if detail and detail[0].startswith("Too many files"):
            raise ServiceError(413, f"more than {max_images} images in one request (--max_images)") from None
        raise ServiceError(400, f"malformed multipart body: {detail[0] if detail else type(exc).__name__}") from None
    try:
        out = []
        for i, part in enumerate(form.getlist("images")):
            if isinstance(part, str):
                raise ServiceError(422, f"images[{i}]: expected a file part, got a text field")
            out.append((part.filename or f"images[{i}]", await part.read()))
        return out
    finally:
        await form.close()


def _json_images(body):
    """``[(name, bytes)]`` of a JSON body ``{"images": ["<base64>", ...]}``."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ServiceError(400, f"body is not valid JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
        raise ServiceError(422, 'JSON body: expected {"images": ["<base64>", ...]}')
    out = []
    for i, item in enumerate(doc["images"]):
        if not isinstance(item, str):
            raise ServiceError(422, f"images[{i}]: expected a base64 string, got {type(item).__name__}")
        try:
            out.append((f"images[{i}]", base64.b64decode(item, validate=True)))
        except (binascii.Error, ValueError):
            raise ServiceError(422, f"images[{i}]: not valid base64") from None
    return out


def _decode_all(named, max_pixels, partial):
    """Arrays (or, with ``partial``, ImageLoadError reasons) per image; 422 on the first bad one."""
    out = []
    for i, (name, data) in enumerate(named):
        try:
            out.append(decode_image_bytes(data, name, max_pixels))
        except ImageLoadError as exc:
            if not partial:
                raise ServiceError(422, f"images[{i}] ({name}): {exc.reason}") from None
            out.append(exc)
    return out


def _result(row):
    if "error" in row:
        return {"error": row["error"]}
    out = {"text": row["text"], "score": row["score"]}
    if "chunks" in row:
        out["chunks"] = row["chunks"]
    return out


async def recognize_request(service, request):
    """The answer to one ``POST /v1/recognize`` (raises ServiceError for bad input)."""
    cfg = service.config
    body = await read_body(request, cfg.max_body_bytes)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        named = await _multipart_images(request, body, cfg.max_images)
    elif kind == "application/json":
        named = _json_images(body)
    else:
        raise ServiceError(
            415,
            f"content type '{kind or 'none'}': send multipart/form-data (files in the field "
            '\'images\') or application/json ({"images": ["<base64>", ...]})',
        )
    if not named:
        raise ServiceError(422, "no images: send files in the multipart field 'images' or a non-empty JSON list")
    if len(named) > cfg.max_images:
        raise ServiceError(
            413, f"{len(named)} images in one request, over the limit of {cfg.max_images} (--max_images)"
        )
    partial = request.query_params.get("partial", "").lower() in ("1", "true", "yes")
    decoded = await asyncio.to_thread(_decode_all, named, cfg.max_pixels, partial)
    good = [x for x in decoded if not isinstance(x, ImageLoadError)]
    rows = iter(await service.batcher.submit(good) if good else [])
    return [
        {"error": f"images[{i}] ({x.path}): {x.reason}"} if isinstance(x, ImageLoadError) else _result(next(rows))
        for i, x in enumerate(decoded)
    ]


def create_app(config):
    """The FastAPI app of a :class:`ServiceConfig` (or its dict); the model loads at startup."""
    try:
        import python_multipart  # noqa: F401 - FastAPI needs it to parse uploads
        from fastapi import FastAPI, Request
    except ImportError as exc:
        raise DataError(
            f"the service needs FastAPI, uvicorn and python-multipart ({exc}); pip install 'ppresnet45[serve]'"
        ) from None
    from fastapi.responses import JSONResponse, PlainTextResponse
    from starlette.exceptions import HTTPException

    config = (ServiceConfig(**config) if isinstance(config, dict) else config).check()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        service = RecognitionService(config)
        await service.start()
        app.state.service = service
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(title="ppresnet45 recognition", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(HTTPException)
    async def _http_error(request, exc):  # 404, 405: the same one-line JSON as ours
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.post("/v1/recognize")
    async def recognize(request: Request):
        service = request.app.state.service
        t0, status, n = time.perf_counter(), 200, 0
        try:
            results = await recognize_request(service, request)
            n = len(results)
            return JSONResponse({"results": results})
        except ServiceError as exc:
            status = exc.status
            return JSONResponse({"error": str(exc)}, status_code=status)
        except Exception as exc:  # noqa: BLE001 - a bug, not the client's input: still one line
            status = 500
            return JSONResponse(
                {"error": f"internal error: {type(exc).__name__}: {exc}".splitlines()[0]}, status_code=500
            )
        finally:
            service.metrics.request(status, time.perf_counter() - t0, n)

    @app.get("/healthz")
    async def healthz(request: Request):
        service = getattr(request.app.state, "service", None)
        if service is None or not service.batcher.running:
            return JSONResponse({"status": "starting or stopping"}, status_code=503)
        rec = service.recognizer
        return {
            "status": "ok",
            "model_dir": os.path.basename(os.path.normpath(rec.model_dir)),
            "runtime": f"{rec.backend}/{rec.precision}",
            "pid": os.getpid(),
            "queued": service.batcher.waiting,
        }

    @app.get("/metrics")
    async def metrics(request: Request):
        return PlainTextResponse(request.app.state.service.metrics.render(), media_type="text/plain; version=0.0.4")

    return app


def app_from_env():
    """The app of the :class:`ServiceConfig` in ``$PPRESNET45_SERVE_CONFIG`` (JSON): the factory
    ``uvicorn --factory`` imports in each worker process when ``serve --workers`` is over 1."""
    raw = os.environ.get(CONFIG_ENV)
    if not raw:
        raise DataError(f"${CONFIG_ENV} is not set (expected the JSON service config `ppresnet45 serve` writes)")
    return create_app(json.loads(raw))


def config_json(config):
    """The JSON of a :class:`ServiceConfig`, for :data:`CONFIG_ENV`."""
    return json.dumps(asdict(config))
