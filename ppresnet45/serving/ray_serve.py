"""The same FastAPI app on Ray Serve: ``ppresnet45 serve --engine ray --replicas N``.

:func:`deploy` deploys :class:`RecognitionDeployment`: each replica builds the app of
:func:`.app.create_app` itself, runs its lifespan (one model, one batcher per replica) and
Ray Serve's HTTP proxy spreads requests over the replicas. Each replica asks Ray for
``cpu_threads`` CPUs, so N replicas never run more math threads than the cluster has cores.
The model folder must be visible under the same path on every node.
"""

from dataclasses import asdict

from ..errors import DataError
from .app import create_app

DEPLOYMENT = "ppresnet45"


def deploy(config, replicas=1, host="127.0.0.1", port=8000, address=None, max_ongoing_requests=64):
    """Start Ray Serve (local Ray, or ``address`` / ``$RAY_ADDRESS``) and deploy the app.

    Args:
        config (ServiceConfig): what each replica runs (its ``cpu_threads`` default 1 here).
        replicas (int): replicas, one model each.
        host, port: where Ray Serve's HTTP proxy listens.
        address (str | None): a running cluster to join.
        max_ongoing_requests (int): requests one replica holds at once (its batcher's queue).

    Returns:
        bool: True when this call started Ray (the caller shuts it down).
    """
    try:
        import ray
        from ray import serve
    except ImportError as exc:
        raise DataError(f"--engine ray needs Ray Serve ({exc}); pip install 'ppresnet45[ray]'") from None
    started = not ray.is_initialized()
    if started:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": {"GLOG_minloglevel": "2"}},
        )
    serve.start(http_options={"host": host, "port": port})
    threads = config.cpu_threads or 1
    config.cpu_threads = threads
    deployment = serve.deployment(
        serve.ingress()(RecognitionDeployment),
        name=DEPLOYMENT,
        num_replicas=replicas,
        ray_actor_options={"num_cpus": threads},
        max_ongoing_requests=max_ongoing_requests,
    )
    serve.run(deployment.bind(asdict(config)), name=DEPLOYMENT, route_prefix="/")
    return started


class RecognitionDeployment:
    """The Ray Serve deployment: each replica builds the app of its config (``serve.ingress()``
    late-bound), and Ray Serve runs the app's lifespan (model, batcher) in the replica.

    Args:
        config (dict): a :class:`.app.ServiceConfig` as a dict.
    """

    def __init__(self, config):
        self.config = config

    def __serve_build_asgi_app__(self):
        return create_app(self.config)


def shutdown(started):
    """Stop the deployment (replicas finish their in-flight requests) and Ray, if we started it."""
    import ray
    from ray import serve

    serve.shutdown()
    if started:
        ray.shutdown()
