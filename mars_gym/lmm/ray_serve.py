"""The generation service over Ray Serve, for many processes or machines (``pip install .[serve]``).

:class:`LMMDeployment` wraps one :class:`~mars_gym.lmm.serve.GeneratorService` (on CUDA when the
replica has one). ``step`` calls arriving together from any number of clients are gathered by
``@serve.batch`` (dynamic batching: up to ``max_batch_size`` requests, waiting at most
``batch_wait_timeout_s``) and served by one batched forward pass. ConditionTensors travel as plain
lists: ``{"book": [10 floats], "time_of_day": int, "change": int, "source": int}``.

Each client names itself with an ``owner`` secret of its own (e.g. ``uuid.uuid4().hex``) when it
opens a stream and on every later call: no client can feed or close another's stream. A request
is checked before it joins a batch; a bad one fails alone (:class:`BadRequestError` on that
client) while the batch and the service go on.

:func:`start` (the command: ``mars-gym serve``, :mod:`mars_gym.apps.serve`) starts a local Ray
instance and the deployment as a :class:`~mars_gym.lmm.options.ServeConfig` says; clients use
``serve.get_app_handle("mars_gym_lmm")``. Ray and Serve's HTTP proxy bind to the loopback
address by default, so only this machine can reach the model; ``host="0.0.0.0"`` (or a given
interface) exposes it to the network deliberately — anyone who reaches it can then drive it.
"""

from __future__ import annotations

import ipaddress
import warnings

import ray
import torch
from ray import serve

from mars_gym.lmm.checkpoint import load_lmm
from mars_gym.lmm.model import ConditionTensors
from mars_gym.lmm.options import LOOPBACK, ServeConfig
from mars_gym.lmm.serve import BadRequestError, GeneratorService

APP_NAME = "mars_gym_lmm"


def conditions(rows: list[dict]) -> ConditionTensors:
    """(1, t) model conditions from plain per-position dictionaries of one stream."""
    try:
        return ConditionTensors(torch.tensor([[r["book"] for r in rows]], dtype=torch.float32),
                          torch.tensor([[int(r["time_of_day"]) for r in rows]]),
                          torch.tensor([[int(r["change"]) for r in rows]]),
                          torch.tensor([[int(r["source"]) for r in rows]]))
    except (KeyError, TypeError, ValueError, RuntimeError, OverflowError) as error:
        raise BadRequestError(f"conditions must be dictionaries with book (10 floats), "
                              f"time_of_day, change and source: {str(error)[:200]}") from None


def _tokens(tokens) -> torch.Tensor:
    try:
        return torch.tensor([[int(t) for t in tokens]], dtype=torch.long)
    except (TypeError, ValueError, RuntimeError, OverflowError) as error:
        raise BadRequestError(f"tokens must be a list of integers: {str(error)[:200]}") from None


def _check_owner(owner) -> None:
    if not isinstance(owner, str) or len(owner) < 8:
        raise BadRequestError("owner must be a secret string of at least 8 characters")


@serve.deployment
class LMMDeployment:
    """One replica: a :class:`GeneratorService` whose rounds gather up to ``capacity``
    concurrent ``step`` calls (the per-owner cap and idle expiry are the service's)."""

    def __init__(self, checkpoint: str = "default", capacity: int = 256,
                 temperature: float = 1.0, top_k: int | None = None, seed: int = 0,
                 device: str = "auto", precision: str = "float32",
                 step_mode: str = "dynamic", max_streams_per_owner: int | None = 32,
                 idle_timeout: float | None = 600.0) -> None:
        model, _ = load_lmm(checkpoint)
        self.service = GeneratorService(model, capacity, temperature, top_k, seed, device,
                                        precision, step_mode, max_streams_per_owner,
                                        idle_timeout)
        self._round.set_max_batch_size(capacity)

    async def open(self, tokens: list[int], rows: list[dict], owner: str,
                   key: int | None = None) -> tuple[int, int]:
        """Start a stream from a history; ``(stream, first_token)`` (``key``: as in
        :meth:`GeneratorService.open`; ``owner``: the client's secret)."""
        _check_owner(owner)
        return self.service.open(_tokens(tokens), conditions(rows), key=key, owner=owner)

    async def close(self, stream: int, owner: str) -> None:
        self.service.close(stream, owner)

    async def step(self, request: tuple[int, int, dict, str]) -> int:
        """The next token of a stream: ``request = (stream, last_token, live_conditions,
        owner)``. Checked here, alone; only a valid request joins the next batch."""
        try:
            stream, token, row, owner = request
        except (TypeError, ValueError):
            raise BadRequestError("a request is (stream, last_token, conditions, owner)") from None
        cond = conditions([row])
        self.service.check_submit(stream, token, cond, owner=owner)
        result = await self._round((stream, token, cond, owner))
        if isinstance(result, Exception):  # e.g. the same stream twice in one batch
            raise result
        return result

    @serve.batch(max_batch_size=256, batch_wait_timeout_s=0.002)
    async def _round(self, requests: list[tuple[int, int, ConditionTensors, str]]) -> list:
        """Batched: one forward for every valid request; a request that still fails to join
        (its stream already in this batch) gets its error back instead of a token."""
        results: list = [None] * len(requests)
        for k, (stream, token, cond, owner) in enumerate(requests):
            try:
                self.service.submit(stream, token, cond, owner=owner)
            except (BadRequestError, KeyError, PermissionError) as error:
                results[k] = error
        served = self.service.run()
        return [served[request[0]] if result is None else result
                for request, result in zip(requests, results, strict=False)]

    async def rounds(self) -> int:
        """Batched forward passes run so far."""
        return self.service.rounds

    async def largest_round(self) -> int:
        """The most requests one batched forward has served."""
        return self.service.largest_round


# Ray's own servers that a local instance cannot bind to the loopback address with the
# installed Ray (2.60; ray.init has no such option), named as their command lines name them:
# gcs_server, the raylet and every worker's gRPC server (the driver's included) listen on all
# interfaces (::); the dashboard head (started even without its frontend), the autoscaler's
# monitor.py and the DashboardAgent on 0.0.0.0 (the agent also on the node's address), the
# RuntimeEnvAgent on the node's address. Ray turns its token authentication on for these;
# only Serve's HTTP proxy (the model's door) follows ``host``. Firewall the machine when
# others share its network.
NOT_ON_LOOPBACK = ("gcs_server", "raylet", "worker gRPC", "dashboard.py", "monitor.py",
                   "DashboardAgent", "RuntimeEnvAgent")


def exposure_warning(host: str) -> str | None:
    """What serving on ``host`` exposes, or None for a loopback address."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback:
        return None
    return (f"serving on {host}: anyone who can reach this address can drive the model "
            f"(use --host {LOOPBACK} for this machine only)")


def start(config: ServeConfig | None = None, max_ongoing_requests: int | None = None):
    """Start Ray (advertising ``config.host``, no dashboard, unless it runs already) and the
    deployment, with Serve's HTTP proxy on ``host:port`` (None: :class:`ServeConfig`'s
    defaults); return the app's handle. A host that is not loopback is warned about; the
    components in :data:`NOT_ON_LOOPBACK` listen beyond loopback whatever the host.
    ``max_ongoing_requests`` overrides ``config.max_ongoing_requests`` (a benchmark compares
    them)."""
    config = config or ServeConfig()
    host = config.host
    if (warning := exposure_warning(host)) is not None:
        warnings.warn(warning, stacklevel=2)
    if not ray.is_initialized():
        ray.init(_node_ip_address=None if host == "0.0.0.0" else host, include_dashboard=False,
                 dashboard_host=LOOPBACK if host == "0.0.0.0" else host)
    serve.start(http_options={"host": host, "port": config.port})
    deployment = LMMDeployment.options(
        max_ongoing_requests=max_ongoing_requests or config.max_ongoing_requests)
    return serve.run(deployment.bind(config.checkpoint, config.capacity, config.temperature,
                                     config.top_k, 0, config.device, config.precision,
                                     config.step_mode, config.max_streams_per_owner,
                                     config.idle_timeout), name=APP_NAME)
