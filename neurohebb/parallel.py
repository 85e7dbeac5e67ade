"""Sweeps on Dask: one task per seed (or parameter set), results in input order.

``compare --seeds N`` and ``sims run --seeds ...`` use :func:`map_tasks`
with the options ``search`` has: ``workers`` (a ``LocalCluster`` of that many
worker processes on this machine) or ``cluster`` (the address of a running
Dask scheduler, ``tcp://host:port``, whose workers can import neurohebb and
see the same files).  Neither: the tasks run one after the other in this
process.  Every task is a pure function of its arguments (seeds are explicit),
so the results are the same however they are scheduled.
"""
from __future__ import annotations

import logging

from .errors import NeurohebbError

#: seconds to wait for an existing Dask scheduler
CONNECT_TIMEOUT = 30


def client_for(cluster=None, workers=None):
    """``(client, local_cluster_or_None)``: a client of the scheduler at
    ``cluster``, else of a new LocalCluster with ``workers`` processes."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise NeurohebbError(f"--cluster/--workers need Dask distributed ({exc}); "
                             "pip install 'neurohebb[search]'") from None
    if cluster:
        try:
            return Client(cluster, timeout=CONNECT_TIMEOUT), None
        except OSError as exc:
            raise NeurohebbError(f"--cluster: cannot reach the Dask scheduler at {cluster}: {exc}") from None
    if workers is None or int(workers) < 1:
        raise NeurohebbError(f"--workers must be a positive integer, got {workers!r}")
    local = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True, dashboard_address=":0",
                         silence_logs=logging.ERROR)
    return Client(local), local


def map_tasks(fn, args_list, cluster=None, workers=None, progress=False, desc="tasks"):
    """``[fn(*args) for args in args_list]``, on Dask when ``cluster`` or
    ``workers`` is given (a progress bar over finished tasks when ``progress``).
    A task's exception propagates unchanged (the first one, in input order)."""
    args_list = [tuple(a) for a in args_list]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(args_list), desc=desc, unit="task")
    try:
        if not cluster and workers is None:
            out = []
            for a in args_list:
                out.append(fn(*a))
                if bar is not None:
                    bar.update(1)
            return out
        from dask.distributed import as_completed

        client, local = client_for(cluster, workers)
        try:
            futures = [client.submit(fn, *a, pure=False) for a in args_list]
            for fut in as_completed(futures):
                if fut.status == "error":
                    break
                if bar is not None:
                    bar.update(1)
            return [f.result() for f in futures]  # in input order; raises the first failure
        finally:
            client.close()
            if local is not None:
                local.close()
    finally:
        if bar is not None:
            bar.close()
