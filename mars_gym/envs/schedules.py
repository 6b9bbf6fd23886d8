"""Lots-mode actions of ``MarS-Execution-v0`` that follow a cumulative schedule.

``targets[k]`` is what should be done, in lots, by the end of decision interval ``k``. At
decision ``k`` an order is *behind* by ``targets[k-1] - filled`` and its new *slice* is what
``targets[k]`` still needs beyond that. How they are traded is the ``style``:

* ``"passive_then_cross"`` (MarS's TWAP): post the slice passively at the near touch, cross
  what is left of the previous slice at the ``level``-th opposite price;
* ``"passive"``: post everything due passively, never cross;
* ``"aggressive"``: cross everything due at once (``level`` 0: a market order).
"""

from __future__ import annotations

import numpy as np

STYLES = ("passive_then_cross", "passive", "aggressive")


def lots_action(passive: float, aggressive: float, level: int, left: float) -> np.ndarray:
    """A ``"lots"`` action, each quantity within ``[0, left]`` (what is left to do)."""
    return np.array([min(max(passive, 0.0), left), min(max(aggressive, 0.0), left), level],
                    dtype=np.float32)


def scheduled_action(targets: np.ndarray, decision: int, filled: float, quantity: float,
                     style: str, level: int) -> np.ndarray:
    """The action of decision ``decision`` for ``targets`` (see the module docstring)."""
    left = quantity - filled
    due_before = targets[decision - 1] if decision > 0 else 0.0
    due_after = targets[decision]
    if style == "passive":
        return lots_action(due_after - filled, 0, level, left)
    if style == "aggressive":
        return lots_action(0, due_after - filled, level, left)
    return lots_action(due_after - max(due_before, filled), due_before - filled, level, left)
