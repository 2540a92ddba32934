"""The service's counters and histograms, written in Prometheus' text format (``GET /metrics``).

Small on purpose: a few process-local series, no client library. Under uvicorn with several
workers, or Ray Serve with several replicas, each process counts its own requests (a
Prometheus server scrapes and sums them; one scrape of ``/metrics`` shows one process).
"""

import bisect
import threading

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Histogram:
    """Cumulative buckets, a sum and a count, as Prometheus histograms have them."""

    def __init__(self, name, help_text, buckets):
        self.name, self.help, self.buckets = name, help_text, tuple(buckets)
        self.counts = [0] * (len(self.buckets) + 1)
        self.sum, self.count = 0.0, 0

    def observe(self, value):
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def lines(self):
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        running = 0
        for bound, n in zip(self.buckets + (float("inf"),), self.counts):
            running += n
            le = "+Inf" if bound == float("inf") else repr(float(bound))
            out.append(f'{self.name}_bucket{{le="{le}"}} {running}')
        out += [f"{self.name}_sum {self.sum!r}", f"{self.name}_count {self.count}"]
        return out


class ServiceMetrics:
    """What ``/metrics`` reports: requests by status, images, request latency, model-call batch sizes."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests = {}  # status code -> count
        self.images = 0
        self.latency = Histogram("ppresnet45_request_seconds", "POST /v1/recognize latency", LATENCY_BUCKETS)
        self.batch = Histogram("ppresnet45_batch_images", "images per model call (dynamic batching)", BATCH_BUCKETS)

    def request(self, status, seconds, images=0):
        with self._lock:
            self.requests[status] = self.requests.get(status, 0) + 1
            self.latency.observe(seconds)
            self.images += images

    def batch_done(self, size):
        with self._lock:
            self.batch.observe(size)

    @property
    def errors(self):
        return sum(n for code, n in self.requests.items() if code >= 400)

    def render(self):
        """The Prometheus text exposition (format 0.0.4)."""
        with self._lock:
            out = [
                "# HELP ppresnet45_requests_total POST /v1/recognize requests by HTTP status",
                "# TYPE ppresnet45_requests_total counter",
            ]
            out += [f'ppresnet45_requests_total{{status="{code}"}} {n}' for code, n in sorted(self.requests.items())]
            out += [
                "# HELP ppresnet45_request_errors_total requests answered with a 4xx or 5xx",
                "# TYPE ppresnet45_request_errors_total counter",
                f"ppresnet45_request_errors_total {self.errors}",
                "# HELP ppresnet45_images_total images recognized",
                "# TYPE ppresnet45_images_total counter",
                f"ppresnet45_images_total {self.images}",
            ]
            out += self.latency.lines() + self.batch.lines()
        return "\n".join(out) + "\n"
