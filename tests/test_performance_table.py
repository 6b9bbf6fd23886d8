"""The README's performance table is the one the committed benchmark JSONs give."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_performance_table_is_generated_from_the_benchmark_jsons():
    spec = importlib.util.spec_from_file_location(
        "performance_table", ROOT / "benchmarks" / "performance_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (ROOT / "README.md").read_text()
    assert module.with_table(readme) == readme  # rerun --write after a benchmark
    assert "| env, noise flow: background orders |" in module.table()
