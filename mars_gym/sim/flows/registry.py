"""Background flows by name: register a builder once, then ``flow="name"`` works everywhere.

A builder is ``build(source, start, data_dir, **options) -> BackgroundFlow``: it makes a new
flow for ``source`` (a source name), to run from event index ``start`` of its stream. The
spec says which keyword options the flow takes (anything else is refused with the flow's
name) and, for a flow that runs on an LMM checkpoint, which one (a vector env then serves all
its simulations' flows from one batched generator of that model).

Adding a flow::

    from mars_gym.sim.flows.registry import register_flow
    register_flow("my_flow", lambda source, start, data_dir: MyFlow(...))

Wherever a flow is asked for (:func:`resolve_flow`: the envs, ``generate``, the studies), a
registered name, a builder with the signature above or a flow instance is accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mars_gym.sim.flows.base import BackgroundFlow

FlowBuilder = Callable[..., BackgroundFlow]


@dataclass(frozen=True)
class FlowSpec:
    """A registered flow: its builder, the keyword options the builder takes, and the LMM
    checkpoint it runs on (``None``: a model-free flow)."""

    name: str
    build: FlowBuilder
    options: frozenset[str] = frozenset()
    checkpoint: str | None = None
    description: str = ""


_REGISTRY: dict[str, FlowSpec] = {}


def register_flow(name: str, build: FlowBuilder, *, options: Iterable[str] = (),
                  checkpoint: str | None = None, description: str = "",
                  replace: bool = False) -> FlowSpec:
    """Register ``build`` under ``name`` (``replace=True`` to overwrite a registered one)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"a flow name is an identifier such as 'my_flow', got {name!r}")
    if not callable(build):
        raise TypeError(f"the builder of flow {name!r} must be callable, got {build!r}")
    if name in _REGISTRY and not replace:
        raise ValueError(f"flow {name!r} is already registered; pass replace=True to overwrite")
    spec = FlowSpec(name, build, frozenset(options), checkpoint, description)
    _REGISTRY[name] = spec
    return spec


def flow_names() -> tuple[str, ...]:
    """Every registered flow, in registration order."""
    return tuple(_REGISTRY)


def flow_spec(name: str) -> FlowSpec:
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown flow {name!r}; choose one of {flow_names()} or register it "
                         "(mars_gym.sim.flows.registry.register_flow)") from None


def check_flow_options(name: str, options: dict) -> None:
    """Refuse options that flow ``name`` does not take (``None`` values mean 'not given')."""
    spec = flow_spec(name)
    unknown = sorted(k for k, v in options.items() if v is not None and k not in spec.options)
    if unknown:
        takes = ", ".join(sorted(spec.options)) or "none"
        raise ValueError(f"flow {name!r} takes no option {', '.join(map(repr, unknown))} "
                         f"(its options: {takes})")


def is_flow(candidate) -> bool:
    """Whether ``candidate`` is a flow instance (rather than a name or a builder)."""
    return not isinstance(candidate, type) and isinstance(candidate, BackgroundFlow)


def check_flow(flow) -> None:
    """Refuse what :func:`resolve_flow` could not use, before anything is built."""
    if isinstance(flow, str):
        flow_spec(flow)
    elif not (is_flow(flow) or callable(flow)):
        raise ValueError(f"flow must be a registered name {flow_names()}, a builder "
                         f"(source, start, data_dir) -> flow or a flow instance, got {flow!r}")


def resolve_flow(flow, source: str, start: int, data_dir=None, **options) -> BackgroundFlow:
    """The flow to run: a registered name is built with ``options`` (``None`` values are left
    out), a builder is called with ``(source, start, data_dir)``, an instance is returned as
    is (it is reset at every episode; options are for registered flows only)."""
    given = {k: v for k, v in options.items() if v is not None}
    if isinstance(flow, str):
        check_flow_options(flow, given)
        return flow_spec(flow).build(source, start, data_dir, **given)
    check_flow(flow)
    if given:
        raise ValueError(f"options {sorted(given)} are for registered flows; a builder or an "
                         "instance is configured by whoever made it")
    return flow if is_flow(flow) else flow(source, start, data_dir)


def flow_checkpoint(flow) -> str | None:
    """The LMM checkpoint a flow runs on (registered learned flows), else ``None``."""
    return flow_spec(flow).checkpoint if isinstance(flow, str) else None
