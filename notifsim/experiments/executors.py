"""Where the runs of a sweep execute: in this process, in a local process pool, in any
``concurrent.futures.Executor``, or on a Dask cluster through a ``dask.distributed.Client``.

Every runner has one job: call a function on each item and hand the
results back in batches, as they finish, to the one caller that writes them.
A run that raised comes back as its exception, so one failure never stops
the others.  Dask is imported only when a ``Client`` is given.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..errors import ConfigError

#: A batch of finished items: each item with its function's value, or the exception the run raised.
Batch = list[tuple[Any, Any]]

#: Modules a fresh worker process imports before its first run.
PRELOAD = ["notifsim.experiments.sweep"]


def machine_workers() -> int:
    """The number of cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def local_pool(workers: int) -> cf.ProcessPoolExecutor:
    """A pool of ``workers`` processes started by a fork server that has already imported notifsim's engine
    (``spawn`` where there is no fork server): cheap to start, and safe whatever threads this process runs."""
    context: Any
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
    else:
        context = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=context)


class Runner:
    """Runs ``function`` on items somewhere; :meth:`run` yields batches of finished items."""

    def run(self, function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Batch]:  # pragma: no cover - interface
        raise NotImplementedError

    def finished(self) -> Batch:
        """After an interruption: the items that had finished but were not yet handed back."""
        return []

    def close(self, wait: bool = True) -> None:
        """Cancel what has not started and let go of what this runner created (``wait``: for what is running)."""


class InProcess(Runner):
    """One run after the other, in this process (no pickling)."""

    def run(self, function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Batch]:
        for item in items:
            try:
                value = function(item)
            except Exception as exc:
                value = exc
            yield [(item, value)]


def _outcome(future: Any) -> Any:
    """A finished future's value, or its exception (cancelled included)."""
    try:
        return future.result()
    except BaseException as exc:
        return exc


class Futures(Runner):
    """A ``concurrent.futures.Executor``; ``owned`` ones are shut down by :meth:`close`."""

    def __init__(self, executor: cf.Executor, owned: bool = False):
        self.executor = executor
        self.owned = owned
        self._pending: dict[cf.Future, Any] = {}

    def run(self, function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Batch]:
        self._pending = {self.executor.submit(function, item): item for item in items}
        while self._pending:
            done, _ = cf.wait(self._pending, return_when=cf.FIRST_COMPLETED)
            yield [(self._pending.pop(future), _outcome(future)) for future in done]

    def finished(self) -> Batch:
        done = [f for f in self._pending if f.done() and not f.cancelled()]
        return [(self._pending.pop(f), _outcome(f)) for f in done]

    def close(self, wait: bool = True) -> None:
        for future in self._pending:
            future.cancel()
        self._pending = {}
        if self.owned:
            self.executor.shutdown(wait=wait, cancel_futures=True)


class Dask(Runner):
    """A ``dask.distributed.Client``: every run is a task on the cluster; results come back as they finish."""

    def __init__(self, client: Any):
        self.client = client
        self._pending: dict[Any, Any] = {}

    def run(self, function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Batch]:
        from distributed import as_completed

        futures = [self.client.submit(function, item, pure=False) for item in items]
        self._pending = dict(zip(futures, items))
        if not futures:
            return
        for done in as_completed(futures).batches():
            batch = [(self._pending.pop(future), _outcome(future)) for future in done]
            for future in done:
                future.release()
            yield batch

    def finished(self) -> Batch:
        done = [f for f in self._pending if f.status in ("finished", "error")]
        return [(self._pending.pop(f), _outcome(f)) for f in done]

    def close(self, wait: bool = True) -> None:
        if self._pending:
            self.client.cancel(list(self._pending))
        self._pending = {}


def _is_dask_client(value: object) -> bool:
    distributed = sys.modules.get("distributed")
    return distributed is not None and isinstance(value, distributed.Client)


def starts_processes(executor: object) -> bool:
    """Whether runs go to processes started from this one, which must import every class a run uses."""
    if executor is None:
        return machine_workers() > 1
    if isinstance(executor, int) and not isinstance(executor, bool):
        return executor > 1
    return isinstance(executor, cf.ProcessPoolExecutor)


def local_parallelism(executor: object, runs: int) -> int:
    """How many runs execute at once in processes on this machine (each holds its tables in memory):
    the local pool's size, capped by ``runs``; 1 for this process, a thread pool or a remote cluster."""
    if executor is None:
        executor = machine_workers()
    if isinstance(executor, cf.ProcessPoolExecutor):
        executor = getattr(executor, "_max_workers", 1)
    if isinstance(executor, int) and not isinstance(executor, bool):
        return max(1, min(executor, runs))
    return 1


def main_is_importable() -> bool:
    """Whether processes started from this one can import what ``__main__`` defines (a script, not a
    notebook, an interactive session or ``python -c``)."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return isinstance(path, str) and os.path.isfile(path)


def check_executor(executor: object) -> None:
    """Raise :class:`ConfigError` unless ``executor`` is something :func:`make_runner` accepts."""
    if executor is None or _is_dask_client(executor) or isinstance(executor, cf.Executor):
        return
    if isinstance(executor, int) and not isinstance(executor, bool):
        if executor < 1:
            raise ConfigError("workers", f"must be an integer >= 1; got {executor!r}")
        return
    raise ConfigError(
        "executor",
        f"must be None (a process per core), a number of worker processes, a concurrent.futures.Executor or a dask.distributed.Client; got {executor!r}",
    )


def make_runner(executor: object, runs: int) -> Runner:
    """The runner for ``sweep(executor=...)``: ``None`` (a process per core), a number of local worker
    processes (1: this process), a ``concurrent.futures.Executor`` or a ``dask.distributed.Client``.
    A local pool never gets more processes than there are ``runs``."""
    check_executor(executor)
    if executor is None or (isinstance(executor, int) and not isinstance(executor, bool)):
        workers = local_parallelism(executor, runs)
        return InProcess() if workers == 1 else Futures(local_pool(workers), owned=True)
    if isinstance(executor, cf.Executor):
        return Futures(executor)
    return Dask(executor)
