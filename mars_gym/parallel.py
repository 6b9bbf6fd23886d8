"""A study's independent pieces run here or on Ray workers, with the same results either way.

A study (impact, forecast, report, leaderboard) splits its runs into chunks and hands
:func:`fan_out` one function of a chunk. Without Ray every chunk runs in this process, in
order. With ``ray`` set (``--ray [ADDRESS]`` on the command line) each chunk is a Ray task:
``"local"`` starts Ray on this machine (bound to the loopback interface, one worker per core
unless ``workers`` says otherwise), any other value is the address of a running cluster
(``auto``, ``ray://host:10001``). The results come back in chunk order, so a study that keys
its random numbers by run (every episode's seed) gets the same numbers from one process or
from many.

Ray is the ``serve`` extra (``pip install 'mars-market-gym[serve]'``); it is imported only
when asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tqdm.auto import tqdm

from mars_gym.lmm.options import LOOPBACK

Chunk = TypeVar("Chunk")
Result = TypeVar("Result")
LOCAL_RAY = "local"  # ``ray`` naming a Ray started on this machine
PROGRESS_POLL_S = 0.5  # how often the bar reads the Ray workers' count of finished runs


def split_runs(n_runs: int, n_chunks: int) -> list[range]:
    """``range(n_runs)`` cut into at most ``n_chunks`` contiguous, nearly equal parts."""
    if n_runs < 1 or n_chunks < 1:
        raise ValueError(f"need at least one run and one chunk, got {n_runs} and {n_chunks}")
    n_chunks = min(n_chunks, n_runs)
    edges = [k * n_runs // n_chunks for k in range(n_chunks + 1)]
    return [range(edges[k], edges[k + 1]) for k in range(n_chunks)]


def ray_workers(ray: str, workers: int | None = None) -> int:
    """Connect to (or start) Ray as ``ray`` says; return how many tasks can run at once."""
    import ray as ray_module

    if not ray_module.is_initialized():
        if ray == LOCAL_RAY:
            ray_module.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                            _node_ip_address=LOOPBACK)
        else:
            ray_module.init(address=ray, log_to_driver=False)
    cpus = int(ray_module.cluster_resources().get("CPU", 1))
    return max(1, min(workers or cpus, cpus))


def fan_out(work: Callable[[Chunk, Callable[[int], Any]], Result],
            chunks: Sequence[Chunk], sizes: Sequence[int], ray: str | None = None,
            workers: int | None = None, desc: str = "", progress: bool = True) -> list[Result]:
    """``[work(chunk, advance) for chunk in chunks]``, here or as Ray tasks (Ray connected
    or started by :func:`ray_workers`).

    ``sizes[k]`` is how many runs chunk ``k`` holds (the progress bar's units). ``work``
    reports each finished run by calling ``advance(1)``: here straight to the bar, on Ray to a
    counter the bar reads every ``PROGRESS_POLL_S`` (a chunk's runs count as they finish, not
    when the whole chunk comes back).
    """
    if len(chunks) != len(sizes):
        raise ValueError(f"{len(chunks)} chunks but {len(sizes)} sizes")
    if not chunks:  # e.g. a leaderboard read whole from its cache: no Ray needed
        return []
    with tqdm(total=sum(sizes), desc=desc, disable=not progress) as bar:
        if ray is None:
            return [work(chunk, bar.update) for chunk in chunks]
        import ray as ray_module

        ray_workers(ray, workers)
        counter = ray_module.remote(num_cpus=0)(RunCounter).remote()
        task = ray_module.remote(num_cpus=1)(_run_chunk)
        futures = [task.remote(work, chunk, counter) for chunk in chunks]
        waiting = list(futures)
        while waiting:
            _, waiting = ray_module.wait(waiting, num_returns=1, timeout=PROGRESS_POLL_S)
            bar.update(ray_module.get(counter.total.remote()) - bar.n)
        return list(ray_module.get(futures))


class RunCounter:
    """The runs Ray workers have finished (a Ray actor: the workers add, the bar reads)."""

    def __init__(self) -> None:
        self.finished = 0

    def add(self, runs: int) -> None:
        self.finished += runs

    def total(self) -> int:
        return self.finished


def _run_chunk(work: Callable[[Chunk, Callable[[int], Any]], Result], chunk: Chunk,
               counter) -> Result:
    """One chunk on a Ray worker (a remote function must be a plain function; ``work`` may be
    a partial), each finished run told to ``counter`` without waiting for it."""
    return work(chunk, lambda runs: counter.add.remote(runs))
