"""The performance table of RESULTS.md is the one the committed benchmark JSONs give."""

from benchmarks import performance_table


def test_the_results_performance_table_is_generated_from_the_benchmark_jsons():
    document = performance_table.RESULTS_FILE.read_text()
    assert performance_table.with_table(document) == document  # rerun --write after a benchmark
    assert "| env, noise flow: background orders |" in performance_table.table()
