"""Running a search: Optuna proposes, Dask evaluates, the journal remembers.

The driver (this process) owns the Optuna study and its storage (an Optuna
``JournalStorage`` file, append-only, so an interrupted search loses nothing
that finished); candidates are evaluated by :func:`evaluate_candidate` on a
Dask cluster: a ``LocalCluster`` of ``workers`` processes on this machine, or
an existing cluster at ``scheduler_address`` (its workers need neurohebb and
the experiments folder, ``$NEUROHEBB_SIMS``).  Ask/tell keeps one candidate in
flight per worker.

Resuming: a study with the spec's name in the same storage is continued; the
budget counts every finished candidate (scored, not expressible or failed), so
re-running with a larger budget evaluates only the difference.  Candidates that
were in flight when the previous run stopped are marked failed
(``interrupted``, not counted) and their parameters re-queued.  A candidate
whose rule was already scored is not run again: its stored result is reused
(``duplicate_of``).
"""
from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path

from ..errors import NeurohebbError
from .evaluate import candidate_network, evaluate_candidate, network_path
from .space import build_rule, mantissa_range, suggest
from .spec import SearchSpecError, load_spec

INTERRUPTED = "interrupted"
#: seconds to wait for an existing Dask scheduler (scheduler_address) before giving up
CONNECT_TIMEOUT = 30


def _signature(spec) -> str:
    """What must not change between a search and its resumption."""
    d = spec.model_dump(include={"objective", "projection", "target", "evaluate", "space"})
    return json.dumps(d, sort_keys=True, default=str)


def storage_path(spec, out) -> Path:
    return spec.resolve(spec.storage) if spec.storage else Path(out) / f"{spec.name}.journal"


def open_study(spec, out):
    """The Optuna study of ``spec`` (created, or loaded to resume).  The
    sampler's seed is offset by the number of trials already stored, so a
    resumed search does not propose its first candidates again."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = storage_path(spec, out)
    path.parent.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(path)))
    seed = spec.sampler.seed
    try:
        n_old = len(optuna.load_study(study_name=spec.name, storage=storage).trials)
    except KeyError:
        n_old = 0
    if seed is not None:
        seed += n_old
    if spec.sampler.name == "tpe":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, constant_liar=True,
                                                 n_startup_trials=spec.sampler.startup_trials)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(study_name=spec.name, storage=storage, direction=spec.objective.direction,
                                sampler=sampler, load_if_exists=True)
    sig = _signature(spec)
    old = study.user_attrs.get("signature")
    if old is None:
        study.set_user_attr("signature", sig)
        study.set_user_attr("spec", json.loads(spec.model_dump_json()))
    elif old != sig:
        raise SearchSpecError(
            f"{path} already holds a search named {spec.name!r} with a different objective, space, target or "
            "projection; resuming it with this spec would mix two searches. Give another name, storage or out folder")
    return study, path


def _finished(study):
    from optuna.trial import TrialState

    return [t for t in study.get_trials(deepcopy=False)
            if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)]


def _counted(t) -> bool:
    return t.user_attrs.get("status") != INTERRUPTED


def _requeue_interrupted(study) -> int:
    """Mark candidates left RUNNING by a stopped run as failed (interrupted) and
    queue their parameters again."""
    from optuna.trial import TrialState

    n = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_user_attr(t._trial_id, "status", INTERRUPTED)
        study._storage.set_trial_user_attr(t._trial_id, "reason", "the previous run stopped before this candidate "
                                                                  "finished; its parameters were queued again")
        study.tell(t.number, state=TrialState.FAIL)
        study.enqueue_trial(dict(t.params), skip_if_exists=False)
        n += 1
    return n


def _key(rule) -> str:
    return json.dumps(rule, sort_keys=True)


def _client(spec, workers):
    """A Dask client: the spec's scheduler, or a LocalCluster of ``workers`` processes."""
    from dask.distributed import Client, LocalCluster

    if spec.scheduler_address:
        try:
            return Client(spec.scheduler_address, timeout=CONNECT_TIMEOUT), None
        except OSError as exc:
            raise SearchSpecError(f"scheduler_address: cannot reach the Dask scheduler at "
                                  f"{spec.scheduler_address}: {exc}") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _tell(study, trial, res, duplicate_of=None):
    from optuna.trial import TrialState

    trial.set_user_attr("status", res["status"])
    trial.set_user_attr("rule", res["rule"])
    trial.set_user_attr("reason", res.get("reason", "")[:4000])
    trial.set_user_attr("compiled", res.get("compiled"))
    trial.set_user_attr("metrics", res.get("metrics") or {})
    trial.set_user_attr("wall", float(res.get("wall", 0.0)))
    if duplicate_of is not None:
        trial.set_user_attr("duplicate_of", int(duplicate_of))
    if res["status"] == "ok":
        study.tell(trial, res["score"])
    elif res["status"] == "not_expressible":
        study.tell(trial, state=TrialState.PRUNED)
    else:
        study.tell(trial, state=TrialState.FAIL)


def _best(study):
    from optuna.trial import TrialState

    ok = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if not ok:
        return None
    f = max if study.direction.name == "MAXIMIZE" else min
    return f(ok, key=lambda t: t.value)


def run_search(spec, out="out/search", trials=None, scheduler_address=None, workers=None, progress=True,
               recheck=True, write=True):
    """Run (or resume) the search of ``spec`` (a path, dict or SearchSpec).

    ``trials``/``scheduler_address``/``workers`` override the spec's.  Writes
    into ``out``: the journal (``<name>.journal``), ``<name>_results.csv``,
    ``<name>_summary.md``, ``<name>_scores.png``, ``<name>_best.json``.
    Returns a :class:`~neurohebb.search.report.SearchResult`."""
    try:
        import distributed  # noqa: F401
        import optuna
    except ImportError as exc:
        raise NeurohebbError(f"neurohebb search needs Optuna and Dask distributed ({exc}); install them with "
                             "pip install 'neurohebb[search]'") from None

    from ..hardware import load_hardware
    from .report import collect, write_outputs

    over = {}
    if trials is not None:
        over["budget"] = {**(load_spec(spec).budget.model_dump()), "trials": int(trials)}
    if scheduler_address is not None:
        over["scheduler_address"] = scheduler_address
    if workers is not None:
        over["workers"] = int(workers)
    spec = load_spec(spec, **over)
    out = Path(out)
    try:
        hw = load_hardware(spec.target)
    except NeurohebbError as exc:
        raise SearchSpecError(f"{spec.source or 'search spec'}: target: {exc}") from None
    network_path(spec)
    candidate_network(spec, {"template": "custom", "dw": "0*u", "timing": spec.space.timing})  # projection exists
    mant = mantissa_range(spec, hw)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study, path = open_study(spec, out)
    requeued = _requeue_interrupted(study)

    done = sum(_counted(t) for t in _finished(study))
    budget = spec.budget.trials
    cache = {}
    for t in _finished(study):
        if t.user_attrs.get("status") in ("ok", "not_expressible", "failed") and "duplicate_of" not in t.user_attrs:
            cache.setdefault(_key(t.user_attrs["rule"]), t)
    new_evals = 0
    t_start = time.perf_counter()
    bar = None
    if progress and done < budget:
        from tqdm.auto import tqdm

        bar = tqdm(total=budget, initial=done, desc=f"search {spec.name}", unit="cand")

    def show():
        if bar is None:
            return
        b = _best(study)
        fin = _finished(study)
        bar.set_postfix(best="-" if b is None else f"{b.value:.4g} (#{b.number})",
                        scored=sum(t.user_attrs.get("status") == "ok" for t in fin),
                        not_expressible=sum(t.user_attrs.get("status") == "not_expressible" for t in fin),
                        refresh=False)
        bar.n = done
        bar.refresh()

    client = cluster = None
    pending = {}
    try:
        if done < budget:
            from dask.distributed import wait

            client, cluster = _client(spec, spec.workers)
            slots = max(1, sum(client.nthreads().values()))
            show()
            while True:
                timed_out = spec.budget.timeout_s is not None and time.perf_counter() - t_start > spec.budget.timeout_s
                while len(pending) < slots and done + len(pending) < budget and not timed_out:
                    trial = study.ask()
                    params = suggest(trial, spec, mant)
                    rule = build_rule(spec, params)
                    prev = cache.get(_key(rule))
                    if prev is not None:
                        res = {"status": prev.user_attrs["status"], "score": prev.value, "rule": rule,
                               "reason": prev.user_attrs.get("reason", ""), "compiled": prev.user_attrs.get("compiled"),
                               "metrics": prev.user_attrs.get("metrics"), "wall": 0.0}
                        _tell(study, trial, res, duplicate_of=prev.number)
                        done += 1
                        show()
                        continue
                    fut = client.submit(evaluate_candidate, spec, params, pure=False)
                    pending[fut] = (trial, _key(rule))
                if not pending:
                    break
                finished = wait(list(pending), return_when="FIRST_COMPLETED").done
                for fut in finished:
                    trial, key = pending.pop(fut)
                    try:
                        res = fut.result()
                    except SearchSpecError:
                        raise
                    except Exception as exc:  # a worker died or raised: the candidate failed, the search goes on
                        res = {"status": "failed", "score": None, "rule": trial.user_attrs.get("rule") or {},
                               "reason": f"{type(exc).__name__}: {exc}", "wall": 0.0}
                        res["rule"] = build_rule(spec, trial.params)
                    _tell(study, trial, res)
                    cache.setdefault(key, study.get_trials(deepcopy=False)[trial.number])
                    done += 1
                    new_evals += res["status"] != "not_expressible"
                    show()
    finally:
        for fut in pending:
            fut.cancel()
        if bar is not None:
            bar.close()
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    result = collect(spec, study, out, path, requeued=requeued)
    if recheck:
        from .report import recheck_top

        recheck_top(spec, result, out)
    if write:
        write_outputs(spec, result, out)
    return result
