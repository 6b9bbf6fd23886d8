"""The crafted-book probe (``python -m benchmarks.probe_books``) finds every case refused."""

import json

from benchmarks import probe_books


def test_every_crafted_book_and_market_file_is_refused_with_one_json_object(lobster_dir, capsys):
    result = probe_books.main(["--data-dir", str(lobster_dir)])
    printed = json.loads(capsys.readouterr().out)
    assert printed["cases"] == result["cases"]
    accepted = [name for name, case in result["cases"].items() if case["outcome"] != "refused"]
    assert accepted == [] and result["refused"] == result["cases_total"] == 14
    assert result["cases"]["short_orderbook"]["message"].endswith(
        "has 3,000 messages: LOBSTER writes one row per message")
    huge = result["cases"]["huge_declared_column"]
    assert huge["file_bytes"] < 2_000_000 and huge["peak_rss_growth_kib"] < 100_000
