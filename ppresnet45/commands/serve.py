"""``ppresnet45 serve`` / ``tools/serve.py``: the recognition service over HTTP.

Argument parsing and printing only: :mod:`ppresnet45.serving` holds the app (one FastAPI app,
run by uvicorn by default, by Ray Serve with ``--engine ray``). See docs/scale_out.md.
"""

import os
import signal
import sys
import threading

from ..errors import DataError
from ..inference import AUTO, PRECISIONS, backend_names
from ..inference.images import DEFAULT_MAX_PIXELS
from ..utils.cpu import available_cores
from ._args import non_negative_float, non_negative_int, positive_float, positive_int


def add_arguments(parser):
    """Arguments of ``ppresnet45 serve``."""
    parser.add_argument("--model_dir", required=True, help="exported model folder")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=non_negative_int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: uvicorn on this machine (default); ray: Ray Serve replicas of the same app",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="with --engine local: uvicorn worker processes, one model each (default 1)",
    )
    parser.add_argument(
        "--replicas",
        type=positive_int,
        default=1,
        help="with --engine ray: Ray Serve replicas, one model each (default 1)",
    )
    parser.add_argument(
        "--address",
        default=None,
        help="with --engine ray: join this running cluster (default: $RAY_ADDRESS, else a local Ray)",
    )
    parser.add_argument(
        "--backend",
        choices=(AUTO,) + backend_names(),
        default=AUTO,
        help="inference runtime (default auto, measured at start-up as in `ppresnet45 infer`)",
    )
    parser.add_argument("--precision", choices=PRECISIONS, default=None, help="fp32, bf16 or int8 (as in infer)")
    parser.add_argument(
        "--cpu_threads",
        type=positive_int,
        default=None,
        help="math-library threads per worker / replica (default: the cores shared among the uvicorn "
        "workers; Ray Serve 1)",
    )
    parser.add_argument("--no_auto_cache", action="store_true", help="with --backend auto: probe again at start-up")
    parser.add_argument(
        "--max_batch_size",
        type=positive_int,
        default=16,
        help="dynamic batching: most images per model call (default 16; 1 = no batching)",
    )
    parser.add_argument(
        "--max_wait_ms",
        type=non_negative_float,
        default=10.0,
        help="dynamic batching: how long a request waits for others to share its batch (default 10)",
    )
    parser.add_argument("--max_images", type=positive_int, default=64, help="most images per request (default 64)")
    parser.add_argument("--max_body_mb", type=positive_float, default=20.0, help="largest request body (default 20 MB)")
    parser.add_argument(
        "--max_pixels",
        type=non_negative_int,
        default=DEFAULT_MAX_PIXELS,
        help=f"refuse images of more pixels, read from the header (default {DEFAULT_MAX_PIXELS}; 0 = no limit)",
    )
    parser.add_argument(
        "--graceful_s",
        type=positive_float,
        default=30.0,
        help="on SIGTERM/SIGINT: how long in-flight requests may take to finish (default 30)",
    )


def _config(args):
    from ..inference.model_dir import check_model_dir
    from ..serving.app import ServiceConfig

    check_model_dir(args.model_dir)
    threads = args.cpu_threads
    if threads is None and args.engine == "local" and args.workers > 1:  # share the cores, don't oversubscribe
        threads = max(1, available_cores() // args.workers)
    return ServiceConfig(
        model_dir=os.path.abspath(args.model_dir),
        backend=args.backend,
        precision=args.precision,
        cpu_threads=threads,
        use_cache=not args.no_auto_cache,
        max_batch_size=args.max_batch_size,
        max_wait_ms=args.max_wait_ms,
        max_images=args.max_images,
        max_body_bytes=int(args.max_body_mb * 1024 * 1024),
        max_pixels=args.max_pixels or None,
    ).check()


def _run_uvicorn(args, config):
    import uvicorn

    from ..serving.app import CONFIG_ENV, config_json, create_app

    common = {
        "host": args.host,
        "port": args.port,
        "timeout_graceful_shutdown": int(args.graceful_s),
        "log_level": "info",
    }
    if args.workers == 1:
        uvicorn.run(create_app(config), **common)
    else:
        os.environ[CONFIG_ENV] = config_json(config)
        uvicorn.run("ppresnet45.serving.app:app_from_env", factory=True, workers=args.workers, **common)
    return 0


def _run_ray(args, config):
    from ..serving import ray_serve

    started = ray_serve.deploy(config, replicas=args.replicas, host=args.host, port=args.port, address=args.address)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(
        f"serve: Ray Serve, {args.replicas} replica(s) x {config.cpu_threads} thread(s), on "
        f"http://{args.host}:{args.port} (SIGTERM or Ctrl-C stops it)",
        file=sys.stderr,
        flush=True,
    )
    stop.wait()
    ray_serve.shutdown(started)
    return 0


def run(args):
    """Serve until SIGTERM / SIGINT; in-flight requests finish first."""
    if args.engine == "local" and (args.replicas != 1 or args.address):
        raise DataError("--replicas and --address need --engine ray (use --workers for uvicorn processes)")
    if args.engine == "ray" and args.workers != 1:
        raise DataError("--workers is for --engine local; with --engine ray use --replicas")
    config = _config(args)
    print(
        f"serve: {config.model_dir} on http://{args.host}:{args.port} ({args.engine}; dynamic batching: "
        f"<= {config.max_batch_size} images, <= {config.max_wait_ms:g} ms wait)",
        file=sys.stderr,
        flush=True,
    )
    return _run_ray(args, config) if args.engine == "ray" else _run_uvicorn(args, config)
