"""Studies shared out over Ray workers give what one process gives."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")  # the 'serve' extra, installed by the README's test command

from mars_gym.apps import forecast, report  # noqa: E402
from mars_gym.apps.impact import ImpactStudy, run_study  # noqa: E402
from mars_gym.lmm.options import LOOPBACK  # noqa: E402
from mars_gym.parallel import fan_out, split_runs  # noqa: E402


def test_runs_are_cut_into_contiguous_nearly_equal_chunks():
    chunks = split_runs(10, 4)
    assert [list(c) for c in chunks] == [[0, 1], [2, 3, 4], [5, 6], [7, 8, 9]]
    assert split_runs(3, 8) == [range(1), range(1, 2), range(2, 3)]  # no empty chunk
    with pytest.raises(ValueError, match="at least one run"):
        split_runs(0, 2)


def test_here_every_chunk_runs_in_order_and_reports_each_run():
    seen = []

    def work(chunk, advance):
        seen.append(list(chunk))
        for _ in chunk:
            advance(1)
        return sum(chunk)

    assert fan_out(work, split_runs(7, 3), [2, 2, 3], progress=False) == [1, 5, 15]
    assert seen == [[0, 1], [2, 3], [4, 5, 6]]
    with pytest.raises(ValueError, match="3 chunks but 2 sizes"):
        fan_out(work, split_runs(7, 3), [2, 5])
    assert fan_out(work, [], [], ray="local") == []  # nothing to run: no Ray started
    assert not ray.is_initialized()


def _slow_runs(chunk, advance):
    for _ in chunk:
        time.sleep(1.0)
        advance(1)
    return len(chunk)


def test_on_ray_the_bar_counts_runs_as_they_finish(two_workers, capsys):
    """One chunk of three 1-second runs on a worker: the bar counts its runs while it is still
    running (it polls a counter the worker adds to), not only when the chunk comes back."""
    assert fan_out(_slow_runs, split_runs(3, 1), [3], ray="local", workers=2) == [3]
    err = capsys.readouterr().err
    assert "3/3" in err
    assert "1/3" in err or "2/3" in err  # a count from before the chunk came back


@pytest.fixture(scope="module")
def two_workers():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             _node_ip_address=LOOPBACK)
    yield
    ray.shutdown()


def test_an_lmm_impact_study_on_two_ray_workers_equals_the_local_one(lobster_dir, two_workers,
                                                                      capsys):
    """The hardest case: each worker batches its own runs through its own copy of the model."""
    study = ImpactStudy(execution_s=30, decay_s=15, step_s=15, size_fractions=(0.2,),
                        styles=("aggressive",), n_starts=1)
    here = run_study(study, "lmm", lobster_dir, progress=False)
    shared = run_study(study, "lmm", lobster_dir, ray="local", workers=2)
    assert json.dumps(shared) == json.dumps(here)  # bit for bit, every run's path included
    peaks = here["styles"]["aggressive"]["runs"]["peak"]
    assert len(peaks) == 2 and peaks[0] != peaks[1]  # two different runs, one per worker
    assert "4/4" in capsys.readouterr().err  # the bar counted every run of every variant


def test_lmm_futures_on_two_ray_workers_equal_the_local_ones(lobster_dir, two_workers, tmp_path):
    """Through the command line: ``--ray`` and ``--workers`` reach the generation."""
    common = ["--flows", "lmm", "--n-starts", "1", "--futures", "3", "--horizons", "30",
              "--data-dir", str(lobster_dir)]
    forecast.main([*common, "--out", str(tmp_path / "here")])
    forecast.main([*common, "--out", str(tmp_path / "shared"), "--ray", "--workers", "2"])
    here, shared = (json.loads((tmp_path / name / "forecast.json").read_text())
                    for name in ("here", "shared"))
    assert shared == here
    assert here["scores"]["lmm"]["30.0"]["crps"] > 0


def test_a_report_with_its_flows_on_ray_workers_equals_the_local_one(lobster_dir, two_workers):
    here = report.build("AMZN", ["noise", "replay"], minutes=1.0, data_dir=lobster_dir)
    shared = report.build("AMZN", ["noise", "replay"], minutes=1.0, data_dir=lobster_dir,
                          ray="local", workers=2)
    assert json.dumps(shared) == json.dumps(here)
    assert here["flows"]["replay"]["messages"] > 50  # 86 level-1 messages in that minute


def test_a_leaderboard_evaluated_on_ray_workers_equals_the_local_one(lobster_dir, two_workers,
                                                                     tmp_path):
    from agents.evaluation import Protocol
    from agents.leaderboard import run
    from agents.policies import TWAP, MarketOrder

    protocol = Protocol(horizon_s=60.0, step_s=30.0, size_fractions=(0.05,), n_starts=1)
    few = [MarketOrder(), TWAP(), TWAP("passive")]
    here = run(few, ("replay",), protocol, num_envs=2, data_dir=lobster_dir)
    shared = run(few, ("replay",), protocol, num_envs=2, data_dir=lobster_dir,
                 cache=tmp_path, ray="local", workers=2)
    assert shared["flows"] == here["flows"]
    assert len(list(tmp_path.glob("replay__*.json"))) == len(few)  # stored by the driver
    assert len(here["flows"]["replay"]["policies"]["market_at_start"]["episodes"]) == 2


def test_sb3_rollouts_collected_on_ray_workers_equal_the_local_ones(lobster_dir, two_workers):
    """The training env of ``mars-gym train --ray``: 4 LMM envs as 2 shards, each batched
    through its own generator on its worker; every observation, reward, episode end and
    terminal observation equals the one-process env's (episodes end and restart inside)."""
    from agents.evaluation import Protocol
    from agents.train import make_training_env

    protocol = Protocol(horizon_s=30.0, step_s=10.0, size_fractions=(0.05,))
    actions = np.random.default_rng(0).integers([11, 6], size=(7, 4, 2))
    rollouts = []
    for ray_address in (None, "local"):
        env = make_training_env("ppo", "lmm", 4, 3, protocol, lobster_dir, ray_address, 2)
        steps = [(env.reset(), None, None, None)]
        for action in actions:
            observation, reward, done, infos = env.step(action)
            terminal = [info.get("terminal_observation") for info in infos]
            steps.append((observation, reward, done, terminal))
        shards = getattr(env.venv, "shards", None)
        env.set_attr("arrival_mid", 1.5, indices=[1, 2])  # across both shards
        attributes = (env.get_attr("side"), env.get_attr("arrival_mid", indices=[0, 1, 2, 3]),
                      env.env_method("check_step", np.array([5, 1]), indices=[3]))
        env.close()
        rollouts.append((steps, shards, attributes))
    (here, no_shards, here_attributes), (shared, shards, shared_attributes) = rollouts
    assert shared_attributes == here_attributes
    assert here_attributes[1][1:3] == [1.5, 1.5] and here_attributes[1][0] != 1.5
    assert no_shards is None and [len(shard) for shard in shards] == [2, 2]
    for mine, theirs in zip(here, shared, strict=True):
        for a, b in zip(mine, theirs, strict=True):
            if isinstance(a, list):
                assert all(x is None and y is None or np.array_equal(x, y)
                           for x, y in zip(a, b, strict=True))
            else:
                assert (a is None and b is None) or np.array_equal(a, b)
    ends = np.array([step[2] for step in here[1:]])
    assert ends.sum() >= 8  # 3-decision episodes: every env finished twice and restarted
    assert not np.array_equal(here[1][0][0], here[1][0][2])  # envs differ from each other
