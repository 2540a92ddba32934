"""The recognition service: one FastAPI app (:mod:`.app`) over the one entry point
(:class:`ppresnet45.inference.Recognizer`), with dynamic batching (:mod:`.batching`) and
Prometheus metrics (:mod:`.metrics`); run by uvicorn or, the same app, by Ray Serve
(:mod:`.ray_serve`). ``ppresnet45 serve`` starts it. FastAPI, uvicorn and Ray are optional
extras (``pip install ppresnet45[serve]``), imported only when a service is made.
"""
