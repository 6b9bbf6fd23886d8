"""The Ray Serve deployment on a local Ray instance (CPU), with the shipped default model."""

import pytest

ray = pytest.importorskip("ray", reason="the serve extra (pip install .[serve]) is not installed")
from ray import serve

from mars_gym.lmm.ray_serve import APP_NAME, LMMDeployment

ROW = {"book": [0.5] * 10, "time_of_day": 7_000, "change": 200, "source": 0}


@pytest.fixture(scope="module")
def handle():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    app = serve.run(LMMDeployment.bind("default", 8, 1.0, None, 0, "cpu"), name=APP_NAME)
    yield app
    serve.shutdown()
    ray.shutdown()


def test_concurrent_steps_are_served_by_one_batched_forward(handle):
    streams = [handle.open.remote([5, 6, 7, 8], [ROW] * 4).result() for _ in range(4)]
    assert sorted(s for s, _ in streams) == [0, 1, 2, 3]
    before = handle.rounds.remote().result()
    pending = [handle.step.remote((stream, token, ROW)) for stream, token in streams]
    tokens = [p.result() for p in pending]
    assert all(0 <= t < 49_152 for t in tokens)
    rounds = handle.rounds.remote().result() - before
    assert 1 <= rounds < len(streams)  # requests were batched together
    handle.close.remote(streams[0][0]).result()
