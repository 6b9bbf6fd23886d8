"""The realism gate at small size."""

from __future__ import annotations

import numpy as np

from lob_core.lobster import MESSAGE_DTYPE
from mars_gym.apps.gate import (
    code_tag,
    markdown,
    plot,
    rank,
    run_gate,
    silence_facts,
    window_starts,
)
from mars_gym.metrics.realism import LobsterStream

SMALL = {"AMZN": 1}


def test_the_gate_scores_ranks_and_caches(tmp_path, lobster_dir):
    cache = tmp_path / "cache"
    document = run_gate(["replay", "noise"], SMALL, seeds=[0], minutes={"AMZN": 2.0},
                        n_bootstrap=10, cache=cache, data_dir=lobster_dir, progress=False)
    entry = document["sources"]["AMZN"]
    assert entry["level"] == 1 and len(entry["windows"]) == 1
    scores = entry["flows"]["replay"]["scores"]
    assert "ask_volume" not in scores  # level 1: no 10-level volumes
    ranks = entry["ranking"]["ranks"]
    both = [r for r in ranks.values() if "replay" in r and "noise" in r]  # rows both define
    assert len(both) > 20
    replay_better = np.mean([r["replay"] <= r["noise"] for r in both])
    assert replay_better > 0.75  # the real orders replayed are closer to the real window
    assert len(list(cache.glob("*.npz"))) == 2
    assert all(path.stem.endswith(f"_{code_tag()}") for path in cache.glob("*.npz"))
    again = run_gate(["replay", "noise"], SMALL, seeds=[0], minutes={"AMZN": 2.0},
                     n_bootstrap=10, cache=cache, data_dir=lobster_dir, progress=False)
    assert again["sources"]["AMZN"]["flows"]["noise"]["scores"]["spread"]["l1"] == \
        scores_of(document, "noise")["spread"]["l1"]
    assert "| spread | l1 |" in markdown(document)
    assert "| longest silence, s |" in markdown(document)
    # AMZN's level-1 messages fall silent for 20.5 s in this 2-minute window
    assert abs(entry["real"]["silence"]["longest_silence_s"] - 20.52) < 0.01
    assert 0 < scores_of_silence(document, "noise") < 120.0
    assert plot(document, tmp_path / "gate.png").stat().st_size > 10_000


def scores_of_silence(document, flow):
    return document["sources"]["AMZN"]["flows"][flow]["silence"]["longest_silence_s"]


def _stream(times_s) -> LobsterStream:
    messages = np.zeros(len(times_s), dtype=MESSAGE_DTYPE)
    messages["time_ns"] = np.round(np.asarray(times_s) * 1e9).astype(np.int64)
    messages["type"] = 1
    return LobsterStream(messages, np.zeros((len(times_s), 4), dtype=np.int64))


def test_the_longest_silence_is_the_longest_gap_between_visible_messages():
    quiet = _stream([0.0, 0.5, 38.79, 39.0])  # a 38.29 s silence
    busy = _stream([0.0, 1.0, 2.5, 3.0])  # at most 1.5 s
    third = _stream([10.0, 12.0, 12.1])  # 2 s
    facts = silence_facts([quiet, busy, third])
    assert np.isclose(facts["longest_silence_s"], 38.29)
    assert np.isclose(facts["median_longest_silence_s"], 2.0)
    assert silence_facts([]) == {"longest_silence_s": None, "median_longest_silence_s": None}


def scores_of(document, flow):
    return document["sources"]["AMZN"]["flows"][flow]["scores"]


def test_the_cache_key_follows_the_generating_code(tmp_path):
    code = tmp_path / "sim"
    (code / "flows").mkdir(parents=True)
    (code / "flows" / "flow.py").write_text("RATE = 1\n")
    (code / "notes.txt").write_text("not code")
    before = code_tag((code,))
    (code / "notes.txt").write_text("changed")
    code_tag.cache_clear()
    assert code_tag((code,)) == before  # only source files count
    (code / "flows" / "flow.py").write_text("RATE = 2\n")
    code_tag.cache_clear()
    assert code_tag((code,)) != before


def test_ranks_share_ties_and_wins_are_strict():
    flows = {"lmm": {"scores": {"a": {"l1": 0.1, "wasserstein": 0.5}}},
             "hawkes": {"scores": {"a": {"l1": 0.1, "wasserstein": 0.7}}},
             "noise": {"scores": {"a": {"l1": 0.3, "wasserstein": None}}}}
    ranking = rank(flows)
    assert ranking["ranks"]["a/l1"] == {"lmm": 1, "hawkes": 1, "noise": 3}
    assert ranking["ranks"]["a/wasserstein"] == {"lmm": 1, "hawkes": 2}
    assert ranking["wins"]["lmm_beats_hawkes"] == 0.5  # the tie is no win
    assert ranking["wins"]["lmm_beats_noise"] == 1.0


def test_windows_lie_in_the_test_split(lobster_dir):
    from mars_gym.data import load_source
    from mars_gym.data.splits import split_bounds

    stream = load_source("AMZN", lobster_dir)
    test_start = int(stream.events["time_ns"][split_bounds(stream)["test"][0]])
    starts = window_starts("AMZN", 3, 10.0, lobster_dir)
    assert starts[0] == test_start and starts == sorted(starts)
    assert starts[-1] + 10 * 60e9 <= int(stream.events["time_ns"][-1])
