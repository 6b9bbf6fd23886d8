"""Episode metrics of the execution task (the ``info`` of ``MarS-Execution-v0``)."""

from __future__ import annotations

from typing import Any

import numpy as np

# Metrics that are not defined before the first fill (or market trade): None in ``info``, in
# the single env and in the vector env alike.
OPTIONAL_INFO = ("average_price", "implementation_shortfall_bps", "price_advantage_vs_twap_bps",
                 "market_vwap", "slippage_vs_vwap_bps", "average_price_currency",
                 "market_vwap_currency")


def market_vwap(sim) -> float | None:
    """VWAP of every trade in the simulated book since the reset (None before the first)."""
    if sim.traded_volume == 0:
        return None
    return sim.traded_notional / sim.traded_volume


def execution_metrics(env) -> dict[str, Any]:
    """Execution metrics of an :class:`~mars_gym.envs.execution.ExecutionEnv` so far: filled
    quantity and rate, average price, implementation shortfall vs. the arrival mid (bps, + =
    cost), price advantage vs. TWAP of the mid samples (bps, + = better), market VWAP and the
    slippage against it (bps, + = cost), market volume since the start, the episode's side and
    parent quantity, time and decision; :data:`OPTIONAL_INFO` are None until defined.

    Prices are in ticks (``average_price``, ``arrival_mid``, ``market_vwap``) and, with the
    ``_currency`` suffix, in the source's currency per instrument unit (``currency`` names it,
    ``tick_value`` is the currency of one tick)."""
    account = env.sim.account(env.agent_id)
    filled = account.filled
    average = account.notional / filled if filled else None
    # np.mean's own sum and division, without its per-call checks (it is read every step)
    twap = float(np.add.reduce(np.array(env.mid_samples))) / len(env.mid_samples)
    vwap = market_vwap(env.sim)
    side, arrival = env.side, env.arrival_mid
    return {
        "filled": filled,
        "fill_rate": filled / env.quantity,
        "average_price": average,
        "arrival_mid": arrival,
        "implementation_shortfall_bps": (None if average is None else
                                         side * (average / arrival - 1) * 1e4),
        "price_advantage_vs_twap_bps": (None if average is None else
                                        side * (twap - average) / twap * 1e4),
        "market_vwap": vwap,
        "slippage_vs_vwap_bps": (None if average is None or vwap is None else
                                 side * (average / vwap - 1) * 1e4),
        "market_volume": env.sim.traded_volume - env.start_volume,
        "side": side,
        "quantity": env.quantity,
        "time_ns": env.sim.now,
        "decision": env.decision,
        **currency_prices(env.scenario.stream.source, average_price=average, arrival_mid=arrival,
                          market_vwap=vwap),
    }


def currency_prices(source, **ticks: float | None) -> dict[str, Any]:
    """``NAME_currency`` for every price ``NAME`` given in ticks (None stays None), with the
    source's ``currency`` and ``tick_value``."""
    return {"currency": source.currency, "tick_value": source.tick_value,
            **{f"{name}_currency": None if value is None else source.price_in_currency(value)
               for name, value in ticks.items()}}
