"""dynesty's proposal methods written as generators, so that many proposals can share one batch call.

A dynesty proposal (one ``sample(args)`` of its internal samplers) starts from a live point and
evaluates the likelihood one point at a time until it has a new live point. Each generator here
makes the same proposal with the same random draws in the same order, but instead of calling the
likelihood it yields the unit-cube point and receives ``(values, log L)`` back; it returns dynesty's
``SamplerReturn``. :mod:`clusterlens.fit.lockstep` drives many of them at once.

- :func:`cube_draw`: draws from the whole unit cube (dynesty's ``UnitCubeSampler``, used until the
  first bound is built);
- :func:`bound_draw`: draws from the current bound (``unif``, ``UniformBoundSampler``);
- :func:`random_walk`: a random walk of ``walks`` steps inside the likelihood contour (``rwalk``,
  Skilling 2006, Bayesian Analysis 1, 833; proposals uniform in the bound's scaled ellipsoid);
- :func:`random_slices`, :func:`axis_slices`: slice sampling (Neal 2003, Annals of Statistics 31,
  705: stepping out, or doubling, then shrinkage) along random directions (``rslice``) or along each
  principal axis in turn (``slice``).

The tests hold every generator's chain, byte for byte, to dynesty's own method on the same seeds
(``tests/test_lockstep.py``). The evaluation history is not kept (clusterlens does not ask dynesty to
save it).
"""
from __future__ import annotations

import warnings
from collections.abc import Generator

import numpy as np
from dynesty.internal_samplers import SamplerReturn, propose_ball_point
from dynesty.utils import get_random_generator, unitcheck

#: what a proposal generator yields (a unit-cube point), is sent (its parameter values and log L) and returns
Proposal = Generator[np.ndarray, tuple[np.ndarray, float], SamplerReturn]

EXPANSION_WARNING = 1000  #: steps out of one slice beyond which doubling replaces stepping out (dynesty's rule)
BOUND_TRIES_WARNING = 10000  #: draws outside the cube in a row before dynesty's "inefficient" warning


def cube_draw(args) -> Proposal:
    """Uniform draws from the unit cube until one has log L > ``args.loglstar``."""
    rstate = get_random_generator(args.rseed)
    calls = 0
    while True:
        u = rstate.uniform(size=args.kwargs.get("ndim"))
        v, logl = yield u
        calls += 1
        if logl > args.loglstar:
            return SamplerReturn(u=u, v=v, logl=logl, ncalls=calls, evaluation_history=[], tuning_info=None,
                                 proposal_stats=dict(n_proposals=calls))


def bound_draw(args) -> Proposal:
    """Uniform draws from ``args.kwargs['bound']`` (inside the cube; the unclustered dimensions uniform)
    until one has log L > ``args.loglstar``."""
    rstate = get_random_generator(args.rseed)
    bound, ndim, clustered = args.kwargs["bound"], args.kwargs["ndim"], args.kwargs.get("n_cluster")
    nonbounded = args.kwargs.get("nonbounded")
    nonbounded = None if nonbounded is None else nonbounded[:clustered]
    calls = outside = 0
    warned = False
    while True:
        u = bound.samples(1, rstate=rstate).flatten()
        if not unitcheck(u, nonbounded):
            outside += 1
            if outside > BOUND_TRIES_WARNING and not warned:
                warnings.warn("Ellipsoid sampling is extremely inefficient", category=RuntimeWarning, stacklevel=2)
                warned = True
            continue
        outside = 0
        if clustered != ndim:
            u = np.concatenate((u, rstate.uniform(size=ndim - clustered)))
        v, logl = yield u
        calls += 1
        if logl > args.loglstar:
            return SamplerReturn(u=u, v=v, logl=logl, ncalls=calls, evaluation_history=[], tuning_info=None,
                                 proposal_stats={"n_proposals": outside})


def random_walk(args) -> Proposal:
    """``walks`` steps, each proposed uniformly in the ellipsoid ``args.axes`` scaled by ``args.scale``
    around the current point and taken when inside the cube with log L > ``args.loglstar``; a proposal
    outside the cube counts as a call. Without any step taken, the start is evaluated again (uncounted)."""
    rstate = get_random_generator(args.rseed)
    kwargs = args.kwargs
    u, v, logl = args.u, None, None
    accepted = rejected = calls = 0
    while calls < kwargs["walks"]:
        proposal, outside = propose_ball_point(u, args.scale, args.axes, len(u), args.axes.shape[0], rstate=rstate,
                                               periodic=kwargs.get("periodic"), reflective=kwargs.get("reflective"),
                                               nonbounded=kwargs.get("nonbounded"))
        calls += 1
        if outside:
            rejected += 1
            continue
        v_new, logl_new = yield proposal
        if logl_new > args.loglstar:
            u, v, logl = proposal, v_new, logl_new
            accepted += 1
        else:
            rejected += 1
    if accepted == 0:
        v, logl = yield u
    return SamplerReturn(u=u, v=v, logl=logl, ncalls=calls, evaluation_history=[],
                         tuning_info={"accept": accepted, "reject": rejected, "scale": args.scale},
                         proposal_stats=dict(n_accept=accepted, n_reject=rejected))


class _Line:
    """log L along ``u + x direction``: ``at(x)`` yields the point when it lies inside the cube (-inf
    outside) and counts every call."""

    def __init__(self, u: np.ndarray, direction: np.ndarray, nonperiodic):
        self.u, self.direction, self.nonperiodic = u, direction, nonperiodic
        self.calls = 0

    def at(self, x: float) -> Generator[np.ndarray, tuple[np.ndarray, float], tuple[np.ndarray, object, float]]:
        point = self.u + x * self.direction
        self.calls += 1
        if not unitcheck(point, self.nonperiodic):
            return point, None, -np.inf
        v, logl = yield point
        return point, v, logl


def _doubling_accepts(line: _Line, x: float, loglstar: float, left: float, right: float, logl_left: float,
                      logl_right: float) -> Generator[np.ndarray, tuple[np.ndarray, float], bool]:
    """Neal (2003) figure 6: whether the doubling procedure from ``x`` could have produced the interval."""
    differ = False
    while right - left > 1.1:
        middle = (left + right) / 2.0
        if (0 < middle <= x) or (x < middle <= 0):
            differ = True
        if x < middle:
            right = middle
            logl_right = (yield from line.at(right))[2]
        else:
            left = middle
            logl_left = (yield from line.at(left))[2]
        if differ and loglstar >= logl_left and loglstar >= logl_right:
            return False
    return True


def slice_step(u: np.ndarray, direction: np.ndarray, nonperiodic, loglstar: float, doubling: bool, rstate):
    """One slice through ``u`` along ``direction`` (unit-cube coordinates, its length at most half the
    cube's diagonal): an interval of unit width placed at random around ``u``, stepped out (or doubled)
    until both ends lie below ``loglstar``, then shrunk towards ``u`` until a uniform draw in it has
    log L > ``loglstar``. Generator returning (u, v, log L, calls, expansions, contractions, warning)."""
    offset = rstate.random()
    length, longest = np.linalg.norm(direction), np.sqrt(len(u)) / 2.0
    if length > longest:
        direction = direction / (length / longest)
    line = _Line(u, direction, nonperiodic)
    left, right = -offset, 1.0 - offset
    logl_left = (yield from line.at(left))[2]
    logl_right = (yield from line.at(right))[2]
    expansions, warning = 0, False
    if not doubling:
        while logl_left > loglstar:
            left -= 1
            logl_left = (yield from line.at(left))[2]
            expansions += 1
        while logl_right > loglstar:
            right += 1
            logl_right = (yield from line.at(right))[2]
            expansions += 1
        if expansions > EXPANSION_WARNING:
            warning = True
            warnings.warn(f"The slice sample interval was expanded more than {EXPANSION_WARNING} times",
                          stacklevel=2)
    else:
        weight = 1
        while logl_left > loglstar or logl_right > loglstar:
            if rstate.random() < 0.5:
                left -= right - left
                logl_left = (yield from line.at(left))[2]
            else:
                right += right - left
                logl_right = (yield from line.at(right))[2]
            expansions += weight
            weight *= 2
        interval = (left, right, logl_left, logl_right)
    contractions = 0
    while True:
        x = left + rstate.random() * (right - left)
        point, v, logl = yield from line.at(x)
        contractions += 1
        if logl > loglstar and (not doubling or (yield from _doubling_accepts(line, x, loglstar, *interval))):
            return point, v, logl, line.calls, expansions, contractions, warning
        if x < 0:
            left = x
        elif x > 0:
            right = x
        else:
            raise RuntimeError(f"slice sampling found no point with log L > {loglstar} along a line through {u}")


def _slices(args, directions) -> Proposal:
    """Slices through the directions that ``directions(rstate)`` gives in turn (the tuning of both
    slice methods: expansions, contractions, and doubling switched on after a runaway stepping out)."""
    rstate = get_random_generator(args.rseed)
    doubling = args.kwargs.get("slice_doubling", False)
    u, calls, expansions, contractions, doubling_set = args.u, 0, 0, 0, False
    v, logl = None, None
    for direction in directions(rstate):
        u, v, logl, n_calls, n_expand, n_contract, warning = yield from slice_step(
            u, direction, args.kwargs.get("nonperiodic"), args.loglstar, doubling, rstate)
        calls, expansions, contractions = calls + n_calls, expansions + n_expand, contractions + n_contract
        if warning and not doubling:
            doubling = doubling_set = True
            warnings.warn("Enabling doubling strategy of slice sampling from Neal(2003)", stacklevel=2)
    return SamplerReturn(u=u, v=v, logl=logl, ncalls=calls, evaluation_history=[],
                         tuning_info={"n_expand": expansions, "n_contract": contractions,
                                      "expansion_warning_set": doubling_set},
                         proposal_stats=dict(n_expand=expansions, n_contract=contractions))


def random_slices(args) -> Proposal:
    """``slices`` slices, each along a random direction of the ellipsoid ``args.axes`` scaled by ``args.scale``."""
    n = len(args.u)

    def directions(rstate):
        for _ in range(args.kwargs["slices"]):
            unit = rstate.standard_normal(size=n)
            unit /= np.linalg.norm(unit)
            yield np.dot(args.axes, unit) * args.scale

    return (yield from _slices(args, directions))


def axis_slices(args) -> Proposal:
    """``slices`` rounds of one slice along each principal axis of ``args.axes`` (scaled by ``args.scale``),
    in a random order per round."""
    axes = args.scale * args.axes.T

    def directions(rstate):
        for _ in range(args.kwargs["slices"]):
            order = np.arange(len(args.u))
            rstate.shuffle(order)
            yield from (axes[i] for i in order)

    return (yield from _slices(args, directions))
