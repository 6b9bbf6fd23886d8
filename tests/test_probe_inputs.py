"""``python -m benchmarks.probe_inputs``: every crafted input has the outcome it states."""

from __future__ import annotations

import json

from benchmarks import probe_inputs


def test_every_probed_input_is_refused_or_loaded_as_its_case_states(capsys):
    assert probe_inputs.main([]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [case["name"] for case in result["cases"]] == [c.name for c in probe_inputs.CASES]
    assert result["unexpected"] == []
    refused = {case["name"]: case["message"] for case in result["cases"]
               if case["outcome"] == "refused"}
    assert refused["epoch_milliseconds"].startswith("<scratch>/probe.csv:2: time 1700000000000 ")
    assert refused["zero_tick"] == "tick_value must be a positive, finite number, got 0.0"


def test_a_zero_division_is_reported_as_a_crash_not_a_refusal():
    def divides(_folder):
        return {"ratio": 1 / 0}

    result = probe_inputs.probe(probe_inputs.Case("divides", "refused", divides))
    assert (result["outcome"], result["error"], result["as_expected"]) == (
        "crashed", "ZeroDivisionError", False)
