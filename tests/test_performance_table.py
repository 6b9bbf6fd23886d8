"""The README's performance table is the one the committed benchmark JSONs give."""

from benchmarks import performance_table
from benchmarks.common import ROOT


def test_the_readme_performance_table_is_generated_from_the_benchmark_jsons():
    readme = (ROOT / "README.md").read_text()
    assert performance_table.with_table(readme) == readme  # rerun --write after a benchmark
    assert "| env, noise flow: background orders |" in performance_table.table()
