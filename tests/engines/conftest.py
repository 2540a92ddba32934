"""A simulated two-node Ray cluster on 127.0.0.1 (a head and a second node, one CPU each),
made once for the Ray tests (the batch engine and the service on Ray Serve)."""

import pytest


@pytest.fixture(scope="session")
def two_nodes():
    ray = pytest.importorskip("ray", reason="the Ray engines need the [ray] extra")
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False, "object_store_memory": 100 * 1024 * 1024},
    )
    cluster.add_node(num_cpus=1, object_store_memory=100 * 1024 * 1024)
    ray.init(address=cluster.address, log_to_driver=False)
    cluster.wait_for_nodes()
    yield cluster
    ray.shutdown()
    cluster.shutdown()
