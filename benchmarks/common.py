"""What the benchmarks share: where they write, the machine they ran on, and their JSON output.

Every benchmark ends with :func:`emit`: its result as one JSON object on stdout (and in a file
when asked), carrying :func:`machine`.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository
RESULTS = ROOT / "benchmarks" / "results"  # the committed results, one folder per study


def emit(result: dict, path: Path | None = None) -> None:
    """Print ``result`` as JSON; also write it to ``path`` (folders made) when given."""
    text = json.dumps(result, indent=1)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(text)


def machine(torch_device: str | None = None) -> dict:
    """The facts of this machine that a benchmark's numbers depend on.

    With ``torch_device`` (``"cpu"``, ``"cuda"``, ...) also torch's version, its threads and
    the GPU's name (``None`` off CUDA).
    """
    import numpy as np

    facts = {"cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
             "python": platform.python_version(), "numpy": np.__version__,
             "load_average_1min": os.getloadavg()[0]}
    if torch_device is not None:
        import torch

        on_cuda = str(torch_device).startswith("cuda")
        facts.update(torch=torch.__version__, threads=torch.get_num_threads(),
                     device=str(torch_device),
                     gpu=torch.cuda.get_device_name(torch_device) if on_cuda else None)
    return facts
