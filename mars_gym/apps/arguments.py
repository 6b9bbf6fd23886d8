"""Command-line wording shared by the ``mars-gym`` commands (defined once)."""

from __future__ import annotations

SOURCE_HELP = "a source name or the path of an order-flow file (LOBSTER, order-event CSV)"
DATA_DIR_HELP = "the shared data folder (default: $MARS_GYM_DATA or ../shared/data/lobster)"


def first_paragraph(doc: str | None) -> str:
    """A module docstring's first paragraph, joined into one line (a command's description)."""
    return " ".join((doc or "").strip().split("\n\n")[0].split())
