"""The code's shape: imports point down the layers, no import cycles between modules, and
simulating never loads training."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lob_core", "mars_gym", "agents")
LAYERS = (
    # bottom to top; a module belongs to the longest prefix that names it (the prefix itself or
    # a module under it) and imports only from its own layer or those below
    "lob_core",
    "mars_gym.checkpoint",  # the one file format
    "mars_gym.data",
    "mars_gym.tokens",
    "mars_gym.lmm",
    "mars_gym.minutes",  # the minute level (MarS's order-batch model)
    "mars_gym.ensemble",
    "mars_gym.sim",
    "mars_gym.envs",
    "mars_gym.metrics",
    "mars_gym.parallel",  # the Ray fan-out helpers
    "mars_gym.apps",
    "agents",
    "mars_gym.cli",
    "mars_gym",  # the package __init__, on top: it imports envs to register them
)


def module_names() -> dict[str, Path]:
    names = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def runtime_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Modules of the project ``path`` imports when it runs (``TYPE_CHECKING`` blocks
    excluded; ``from package import name`` counts ``package.name`` when that is a module)."""
    found: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                self.generic_visit(node)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in modules else str(node.module))

        def visit_Import(self, node: ast.Import) -> None:
            found.update(alias.name for alias in node.names)

    Visitor().visit(ast.parse(path.read_text()))
    return {name for name in found if name in modules}


def layer_of(module: str) -> int | None:
    """The index in :data:`LAYERS` of the longest prefix naming ``module``; None if none does."""
    prefixes = [prefix for prefix in LAYERS
                if module == prefix or module.startswith(f"{prefix}.")]
    return LAYERS.index(max(prefixes, key=len)) if prefixes else None


def test_imports_point_down_the_layers():
    modules = module_names()
    unplaced = sorted(name for name in modules if layer_of(name) is None)
    upward = sorted(f"{name} -> {target}"
                    for name, path in modules.items() if name not in unplaced
                    for target in runtime_imports(path, modules)
                    if target not in unplaced and layer_of(target) > layer_of(name))
    assert len(modules) > 60 and not unplaced, f"modules in no layer of LAYERS: {unplaced}"
    if upward:
        pytest.fail(f"{len(upward)} imports point up the layers (LAYERS, bottom to top: "
                    f"{', '.join(LAYERS)}):\n  " + "\n  ".join(upward), pytrace=False)


def test_no_module_imports_itself_through_others():
    modules = module_names()
    graph = {name: runtime_imports(path, modules) - {name} for name, path in modules.items()}
    cycles = []

    def visit(name: str, stack: list[str]) -> None:
        for target in sorted(graph[name]):
            if target in stack:
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in done:
                done.add(target)
                visit(target, [*stack, target])

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            done.add(name)
            visit(name, [name])
    assert len(graph) > 60 and cycles == []


def test_simulating_with_the_learned_flows_loads_no_training_code(lobster_dir):
    code = (
        "import sys\n"
        "from mars_gym.sim.flows.factory import make_flow\n"
        f"for name in ('lmm', 'ensemble'):\n"
        f"    make_flow(name, 'AMZN', 20_000, {str(lobster_dir)!r})\n"
        "print(sorted(m for m in sys.modules if m.endswith('.train') or 'tensorboard' in m))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"


def test_the_public_api_resolves_and_importing_it_loads_no_torch():
    code = ("import sys, mars_gym\n"
            "light = 'torch' not in sys.modules\n"
            "missing = [n for n in mars_gym.__all__ if getattr(mars_gym, n, None) is None]\n"
            "print(light, missing, len(mars_gym.__all__))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    light, missing, count = result.stdout.split(maxsplit=2)
    assert light == "True" and missing == "[]" and int(count) > 20
    for package in PACKAGES:
        assert (ROOT / package / "py.typed").is_file()


def test_library_code_imports_no_command():
    """Commands (:mod:`mars_gym.apps`, :mod:`mars_gym.cli`) and the agents sit on top: no
    library module imports them."""
    modules = module_names()
    top = ("mars_gym.apps", "mars_gym.cli", "agents")
    library = [name for name in modules if name != "mars_gym" and not name.startswith(top)]
    upward = {name: sorted(t for t in runtime_imports(modules[name], modules)
                           if t.startswith(top)) for name in library}
    assert {name: targets for name, targets in upward.items() if targets} == {}
