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
