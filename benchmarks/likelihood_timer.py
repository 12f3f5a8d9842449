"""Time one model folder's point likelihoods in this process and print the seconds as JSON.

The measuring half of ``bench_likelihood.py``, kept free of other benchmark modules so that it also runs
against an older clusterlens (``PYTHONPATH`` = its checkout; 0.1 named the factory
``clusterlens.fit.likelihood.make_likelihood``): the same points, the same order, the same clock.
Points: ``near`` of the way from the truth (the folder's CSV values) to a seeded prior draw. After one
untimed warm-up call, one ``L(values)`` per point; then, where the likelihood has ``batch``, ``repeats``
batches of all the points (seconds per row).

Run: python benchmarks/likelihood_timer.py FOLDER KIND[,KIND...] [--draws 100] [--repeats 3] [--near 0.02]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np


def make(model, kind: str):
    """The likelihood of ``model`` on one thread, whichever clusterlens this is."""
    try:
        from clusterlens.fit.point_likelihood import make_likelihood
    except ImportError:  # clusterlens 0.1
        from clusterlens.fit.likelihood import make_likelihood  # type: ignore[no-redef]
    try:
        return make_likelihood(model, kind, threads=1)
    except TypeError:  # no threads option
        return make_likelihood(model, kind)


def measure(folder: str, kind: str, draws: int, repeats: int, near: float) -> dict:
    import clusterlens

    model = clusterlens.load_model(folder)
    L = make(model, kind)
    truth = L.parameters.values(model)
    rng = np.random.default_rng(13)
    draws_ = np.array([L.parameters.transform(u) for u in rng.random((draws, len(truth)))])
    values = truth + near * (draws_ - truth)
    with np.errstate(all="ignore"):
        L(values[0])
        single = []
        for v in values:
            start = time.perf_counter()
            L(v)
            single.append(time.perf_counter() - start)
        batch, finite = [], float(np.mean([np.isfinite(L(v)) for v in values]))
        for _ in range(repeats if hasattr(L, "batch") else 0):
            start = time.perf_counter()
            L.batch(values)
            batch.append((time.perf_counter() - start) / draws)
    return {"kind": kind, "n_free": len(truth), "n_images": len(model.point_datasets), "single": single,
            "batch": batch, "finite": finite}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("kinds")
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--near", type=float, default=0.02)
    args = parser.parse_args()
    try:
        import numba

        numba.set_num_threads(1)  # as in a fit's worker process
    except ImportError:
        pass
    print(json.dumps([measure(args.folder, kind, args.draws, args.repeats, args.near)
                      for kind in args.kinds.split(",")]))


if __name__ == "__main__":
    main()
