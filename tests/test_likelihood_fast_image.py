"""The image-plane and Lenstool likelihoods' fast path (the lens at the observed images from
clusterlens.fit.lens_batch, the full lens for the Newton iteration built once per call): equal to the
row-by-row reference (``cache=False``), a batch equal to single calls bit for bit, invalid vectors -inf."""
import numpy as np
import pytest

from clusterlens.fit.lens_at_images import LensSum
from clusterlens.fit.point_likelihood import make_likelihood
from clusterlens.lens import Lens
from clusterlens.lens_builder import build_lens
from lensmodels import with_priors
from test_likelihood_fast import PRIORS, _near_truth, model  # noqa: F401 - the fixture: free halo shape, cut tier

KINDS = [("image", {}), ("lenstool", {"forme": -2}), ("lenstool", {"forme": -1}), ("lenstool", {"forme": 0})]


@pytest.mark.parametrize(("kind", "options"), KINDS)
def test_fast_path_equals_the_reference(model, kind, options):  # noqa: F811
    fast, full = make_likelihood(model, kind, **options), make_likelihood(model, kind, cache=False, **options)
    assert fast._batch_lens is not None and full._batch_lens is None
    values = _near_truth(fast, model, 8, 0.05, seed=11)
    single = np.array([fast(v) for v in values])
    reference = np.array([full(v) for v in values])
    assert np.all(np.isfinite(reference))
    np.testing.assert_allclose(single, reference, rtol=1e-9, atol=0)
    assert np.array_equal(fast.batch(values), single)
    for v in values[:3]:  # every image matched by the fast path is matched by the reference and back
        assert np.array_equal(fast._fast_evaluate(v).matched, full.evaluate(v).matched)


def test_invalid_vectors_are_minus_infinity(model):  # noqa: F811
    fast, full = make_likelihood(model, "image"), make_likelihood(model, "image", cache=False)
    names = list(fast.parameters.names)
    values = np.repeat(fast.parameters.values(model)[None], 3, axis=0)
    values[1, names.index("host_halo.halo.q")] = 1.2  # outside the schema's (0, 1]
    values[2, names.index("scaling_relations.members.r_cut_ref")] = 1e-3  # members with r_core >= r_cut
    assert np.isfinite(fast(values[0]))
    assert [fast(v) == -np.inf for v in values[1:]] == [True, True]
    assert [full(v) == -np.inf for v in values[1:]] == [True, True]


def test_full_lens_of_fixed_and_free_groups_equals_one_lens(model):  # noqa: F811
    """Only the halo free: the BCG, G2 and the tier are the fixed lens (built once), summed with the free one."""
    halo_only = with_priors(model, [p for p in PRIORS if p["family"] == "host_halo"])
    like = make_likelihood(halo_only, "image")
    values = like.parameters.values(halo_only) + 0.1
    updated = like._updated_rows(values)
    full = like.lens.full_lens(updated)
    assert isinstance(full, LensSum) and len(full.groups) == len(build_lens(halo_only).groups)
    one = Lens(full.groups, threads=1)
    x, y = np.random.default_rng(3).uniform(-40, 40, (2, 50))
    for name in ("deflection", "hessian", "deflection_and_hessian"):
        np.testing.assert_allclose(getattr(full, name)(x, y, 0.7), getattr(one, name)(x, y, 0.7), rtol=1e-12,
                                   atol=1e-14)
    for name in ("potential", "convergence", "magnification"):
        np.testing.assert_allclose(getattr(full, name)(x, y, 0.7), getattr(one, name)(x, y, 0.7), rtol=1e-12,
                                   atol=1e-14)
