"""A small pure-Python order book with the same rules as :class:`lob_core.OrderBook`.

It is the executable specification the Cython engine is tested against (differential tests)
and the denominator of the speed ratio in ``benchmarks/bench_lob.py``. It favours obviousness
over speed. It validates its input by the same rules and in the same order as the engine
(the error classes are the specification of what is rejected; messages may differ), so the
differential fuzz can check rejections too.
"""

from __future__ import annotations

import bisect
import operator
from collections import OrderedDict

from lob_core._book import (
    BUY,
    CANCELLED,
    FILLED,
    FOK,
    GTC,
    IOC,
    KILLED,
    MAX_PRICE,
    MAX_QTY,
    POST_ONLY,
    REJECTED,
    RESTED,
)
from lob_core.errors import (
    DuplicateOrderError,
    InvalidOrderIdError,
    InvalidOrderTypeError,
    InvalidPriceError,
    InvalidQuantityError,
    InvalidSideError,
    OutOfRangeError,
    UnknownOrderError,
)

Fill = tuple[int, int, int, int, int, int, int, int]


def _int(value, name: str) -> int:
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer") from None
    if not -(2**63) <= value < 2**63:
        raise OutOfRangeError(f"{name} must fit in a signed 64-bit integer")
    return value


def _check_side(side: int) -> None:
    if side not in (1, -1):
        raise InvalidSideError(f"bad side {side}")


def _check_qty(qty: int) -> None:
    if not 0 < qty <= MAX_QTY:
        raise InvalidQuantityError(f"bad quantity {qty}")
"""(price, qty, maker_order_id, taker_order_id, maker_agent_id, taker_agent_id, ts, taker_side)"""


class ReferenceBook:
    """Price-time priority book: ``{side: {price: OrderedDict(order_id -> [qty, agent, ts])}}``."""

    def __init__(self, tick_size: int = 1) -> None:
        self.tick_size = tick_size
        self.levels: dict[int, dict[int, OrderedDict]] = {1: {}, -1: {}}
        self.prices: dict[int, list[int]] = {1: [], -1: []}  # ascending side * price: best last
        self.where: dict[int, tuple[int, int]] = {}  # order_id -> (side, price)
        self.fills: list[Fill] = []
        self.last_outcome = RESTED

    # -- helpers -------------------------------------------------------------------------
    def _best_price(self, side: int) -> int | None:
        keys = self.prices[side]
        return side * keys[-1] if keys else None

    def _rest(self, side: int, price: int, qty: int, order_id: int, agent_id: int, ts: int) -> None:
        level = self.levels[side].get(price)
        if level is None:
            level = self.levels[side][price] = OrderedDict()
            bisect.insort(self.prices[side], side * price)
        level[order_id] = [qty, agent_id, ts]
        self.where[order_id] = (side, price)

    def _drop_level_if_empty(self, side: int, price: int) -> None:
        if not self.levels[side][price]:
            del self.levels[side][price]
            self.prices[side].remove(side * price)

    def _remove(self, order_id: int) -> int:
        side, price = self.where.pop(order_id)
        qty = self.levels[side][price].pop(order_id)[0]
        self._drop_level_if_empty(side, price)
        return qty

    def _acceptable(self, side: int, limit_price: int, level_price: int) -> bool:
        return side * level_price <= side * limit_price

    def _match(self, side: int, limit_price: int, qty: int, order_id: int, agent_id: int,
               ts: int) -> int:
        executed = 0
        while qty > 0:
            best = self._best_price(-side)
            if best is None or not self._acceptable(side, limit_price, best):
                break
            level = self.levels[-side][best]
            maker_id, (maker_qty, maker_agent, _) = next(iter(level.items()))
            q = min(qty, maker_qty)
            self.fills.append((best, q, maker_id, order_id, maker_agent, agent_id, ts, side))
            qty -= q
            executed += q
            if q == maker_qty:
                self._remove(maker_id)
            else:
                level[maker_id][0] -= q
        return executed

    def _available(self, side: int, limit_price: int) -> int:
        book = self.levels[-side]
        return sum(sum(o[0] for o in book[p].values()) for p in book
                   if self._acceptable(side, limit_price, p))

    # -- validation ----------------------------------------------------------------------
    def _check_price(self, price: int) -> None:
        if not 0 < price <= MAX_PRICE or price % self.tick_size:
            raise InvalidPriceError(f"bad price {price}")

    def _check_new_id(self, order_id: int) -> None:
        if order_id < 0:
            raise InvalidOrderIdError(f"negative id {order_id}")
        if order_id in self.where:
            raise DuplicateOrderError(f"order_id {order_id} is resting")

    def _check_level_room(self, side: int, price: int, qty: int) -> None:
        if self.level_volume(side, price) + qty > MAX_QTY:
            raise InvalidQuantityError(f"level {side}:{price} would exceed MAX_QTY")

    def _lookup(self, order_id: int) -> tuple[int, int]:
        if order_id not in self.where:
            raise UnknownOrderError(f"no resting order with order_id {order_id}")
        return self.where[order_id]

    # -- order entry ---------------------------------------------------------------------
    def limit(self, side: int, price: int, qty: int, order_id: int, agent_id: int = 0,
              ts: int = 0, tif: int = GTC) -> int:
        side, price, qty = _int(side, "side"), _int(price, "price"), _int(qty, "qty")
        order_id, agent_id = _int(order_id, "order_id"), _int(agent_id, "agent_id")
        ts, tif = _int(ts, "ts"), _int(tif, "tif")
        _check_side(side)
        self._check_price(price)
        _check_qty(qty)
        self._check_new_id(order_id)
        if tif not in (GTC, IOC, FOK, POST_ONLY):
            raise InvalidOrderTypeError(f"bad tif {tif}")
        if tif in (GTC, POST_ONLY):
            self._check_level_room(side, price, qty)
        self.fills = []
        best_opposite = self._best_price(-side)
        if tif == POST_ONLY and best_opposite is not None and side * price >= side * best_opposite:
            self.last_outcome = REJECTED
            return 0
        if tif == FOK and self._available(side, price) < qty:
            self.last_outcome = KILLED
            return 0
        executed = self._match(side, price, qty, order_id, agent_id, ts)
        if executed == qty:
            self.last_outcome = FILLED
        elif tif in (GTC, POST_ONLY):
            self._rest(side, price, qty - executed, order_id, agent_id, ts)
            self.last_outcome = RESTED
        else:
            assert tif == IOC
            self.last_outcome = CANCELLED
        return executed

    def market(self, side: int, qty: int, order_id: int, agent_id: int = 0, ts: int = 0) -> int:
        side, qty, order_id = _int(side, "side"), _int(qty, "qty"), _int(order_id, "order_id")
        agent_id, ts = _int(agent_id, "agent_id"), _int(ts, "ts")
        _check_side(side)
        _check_qty(qty)
        self._check_new_id(order_id)
        self.fills = []
        executed = self._match(side, 2**62 if side == BUY else 0, qty, order_id, agent_id, ts)
        self.last_outcome = FILLED if executed == qty else CANCELLED
        return executed

    def cancel(self, order_id: int) -> int:
        order_id = _int(order_id, "order_id")
        self._lookup(order_id)
        qty = self._remove(order_id)
        self.fills = []
        return qty

    def reduce(self, order_id: int, qty: int) -> int:
        order_id, qty = _int(order_id, "order_id"), _int(qty, "qty")
        side, price = self._lookup(order_id)
        entry = self.levels[side][price][order_id]
        _check_qty(qty)
        if qty > entry[0]:
            raise InvalidQuantityError(f"cannot reduce order {order_id} by {qty}")
        self.fills = []
        entry[0] -= qty
        left = entry[0]
        if left == 0:
            self._remove(order_id)
        return left

    def modify(self, order_id: int, price: int, qty: int, ts: int | None = None) -> int:
        order_id, price, qty = _int(order_id, "order_id"), _int(price, "price"), _int(qty, "qty")
        ts = None if ts is None else _int(ts, "ts")
        side, old_price = self._lookup(order_id)
        old_qty, agent_id, old_ts = self.levels[side][old_price][order_id]
        self._check_price(price)
        _check_qty(qty)
        self._check_level_room(side, price, qty - (old_qty if price == old_price else 0))
        self.fills = []
        self.last_outcome = RESTED
        if price == old_price and qty <= old_qty:
            if qty < old_qty:
                self.reduce(order_id, old_qty - qty)
                self.fills = []
            return 0
        self._remove(order_id)
        ts = old_ts if ts is None else ts
        executed = self._match(side, price, qty, order_id, agent_id, ts)
        if executed == qty:
            self.last_outcome = FILLED
        else:
            self._rest(side, price, qty - executed, order_id, agent_id, ts)
        return executed

    # -- queries -------------------------------------------------------------------------
    @property
    def best_bid(self) -> int | None:
        return self._best_price(1)

    @property
    def best_ask(self) -> int | None:
        return self._best_price(-1)

    def __len__(self) -> int:
        return len(self.where)

    def __contains__(self, order_id: int) -> bool:
        return order_id in self.where

    def level_volume(self, side: int, price: int) -> int:
        level = self.levels[side].get(price)
        return sum(o[0] for o in level.values()) if level else 0

    def depth(self, n_levels: int = 10) -> tuple[list[int], list[int], list[int], list[int]]:
        out = []
        for side in (1, -1):
            keys = self.prices[side][::-1][:n_levels]
            prices = [side * k for k in keys] + [0] * (n_levels - len(keys))
            out += [prices, [self.level_volume(side, p) if p else 0 for p in prices]]
        return out[0], out[1], out[2], out[3]

    def queue_position(self, order_id: int) -> tuple[int, int]:
        side, price = self.where[order_id]
        ahead = 0
        for n, (oid, (qty, _, _)) in enumerate(self.levels[side][price].items()):
            if oid == order_id:
                return n, ahead
            ahead += qty
        raise AssertionError("unreachable: the order is in its level")

    def orders_list(self) -> list[tuple[int, int, int, int, int, int]]:
        """Same rows and order as :meth:`lob_core.OrderBook.orders_array`."""
        rows = []
        for side in (1, -1):
            for key in reversed(self.prices[side]):
                price = side * key
                for oid, (qty, agent, ts) in self.levels[side][price].items():
                    rows.append((side, price, oid, agent, qty, ts))
        return rows
