"""What every benchmark ends with: its result as JSON on stdout, and in a file when asked."""

from __future__ import annotations

import json
from pathlib import Path


def emit(result: dict, path: Path | None = None) -> None:
    """Print ``result`` as JSON; also write it to ``path`` (folders made) when given."""
    text = json.dumps(result, indent=1)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(text)


def machine() -> dict:
    """The facts of this machine that a benchmark's numbers depend on."""
    import os
    import platform

    import numpy as np

    return {"cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "numpy": np.__version__,
            "load_average_1min": os.getloadavg()[0]}
