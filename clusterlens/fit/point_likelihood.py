"""Point-image likelihoods: source plane (default), image plane and Lenstool's, with the fixed-lens fast path.

Notation (arcsec): observed image i of system k at theta_i with positional error sigma_i; the lens
at D_LS/D_S = 1 gives deflection alpha_i and Hessian H_i at theta_i; the system's scale
s_k = D_LS/D_S(z_lens, z_k). Back-traced source beta_i = theta_i - s_k alpha_i and amplification
matrix A_i = I - s_k H_i (symmetric).

**Source plane** (default). An offset d beta in the source plane is an image-plane offset
A_i^-1 d beta, so image i contributes (beta_i - beta)^T M_i (beta_i - beta) with
M_i = (A_i A_i)^-1 / sigma_i^2. The system's source is solved analytically as the best,
magnification-weighted source: beta_k = (sum_i M_i)^-1 sum_i M_i beta_i (it needs no prior), and
chi2_pos = sum_i (beta_i - beta_k)^T M_i (beta_i - beta_k)   (e.g. Keeton 2001 "source-plane chi2"
with the full amplification matrix; Oguri 2010 eq. 8).

**Image plane.** beta_k as above; every observed image is matched to its model image of beta_k
(:func:`clusterlens.solver.match_images`: the nearest model image, no two observed images sharing one;
a Newton polish from theta_i guarded against leaving its basin, the fold partner of a solution a nearer
observed image keeps, the image finder in windows around the observed images for the systems where that
is not enough); chi2_pos = sum_i |theta_i' - theta_i|^2 / sigma_i^2. An observed image left without a
model image of its own within ``missing_distance`` is *missing*: it contributes ``missing_penalty`` x its
source-plane term, floored at (``missing_distance`` / sigma_i)^2, so a model that loses an image is always
worse than one that reproduces it within ``missing_distance``.

**Lenstool** (``kind="lenstool"``, ``forme`` -2, -1 or 0): exactly Lenstool's statistic of the
multiple images (:mod:`clusterlens.fit.lenstool_statistic`, where the formulas and their source are):
the model source is the |mu|-weighted (-2) or plain (-1, 0) mean of the beta_i, and the image-plane
chi2 of the matched model images (-2, -1) or Lenstool's source-plane chi2 (0). An observed image
without a model image scores 0 and is flagged (as Lenstool's chires). Lenstool rejects such a model
during an optimisation; a nested sampler needs to know how far it is from acceptable, so log L adds,
for each unmatched image, the missing-image penalty of the image-plane likelihood (``chi2_missing``
of :class:`Evaluation`): wherever Lenstool's statistic is defined, log L = -chi2 / 2 exactly, and a
model that loses an image is always worse than one that keeps it within ``missing_distance``.

**Fluxes** (when point_datasets has flux and flux_sigma): predicted flux |mu_i| F_k with the
intrinsic flux F_k solved analytically (weighted least squares), chi2_flux = sum (f_i - |mu_i| F_k)^2 /
sigma_f,i^2. **Time delays** (time_delay, time_delay_sigma): model arrival times from the Fermat
potential t_i = D_dt / c (|theta_i - beta_k|^2 / 2 - s_k psi_i) (angles in radians); observed delays are
relative to an arbitrary zero point, so each system's offset T_k is solved analytically (weighted least
squares) and chi2_td = sum_i ((dt_obs,i - t_i - T_k) / sigma_t,i)^2; every image's error counts.

log L = -chi2 / 2 (the constant Gaussian normalisation is omitted). Parameters outside a row's
physical range (e.g. r_core >= r_cut, a member of a free scaling relation with r_core >= r_cut, a
source redshift in front of the lens) raise :class:`~clusterlens.errors.InvalidParameters` in
:meth:`PointLikelihood.evaluate` and give log L = -inf; any other failure of a call is a bug and
raises :class:`~clusterlens.errors.LikelihoodError` naming the parameter values.

**Fast path** (:class:`~clusterlens.fit.lens_at_images.LensAtImages`): the fixed part of the lens is
evaluated once at the observed images, amplitude-only rows are rescaled exactly, and only groups with
other free cells are recomputed per call. Where :class:`~clusterlens.fit.lens_batch.BatchLens` applies
(index arrays instead of row objects, a tier's r_cut-independent core term cached, many parameter vectors
per kernel call), the source-plane kind's calls and batches go through it, and the image and lenstool
kinds' calls take the lens at the observed images (the Newton iteration's first state) from it; their
full lens for the iteration is the fixed groups' lens, built once, plus the free groups' for the call.
:meth:`evaluate` keeps the row-by-row path, the reference it is tested against (to 1e-12 relative for
the source kind; the image-plane kinds' Newton solutions agree to the iteration's tolerance). The observed
images, an evaluation's terms and the choice of kind are in :mod:`clusterlens.fit.point_data`. A multi-plane model
(:mod:`clusterlens.multiplane`) uses :class:`~clusterlens.fit.multiplane_at_images.MultiPlaneAtImages`
instead (every kind; fixed source redshifts; s_k is then a reference scale naming the source redshift).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..cosmology import distance_ratios, time_delay_distance
from ..errors import InvalidParameters, LikelihoodError
from ..model import ClusterModel
from ..sampling_methods import LIKELIHOODS
from ..solver import match_images
from ..units import DAYS_PER_MPC_ARCSEC2
from .chi2 import chi2_flux
from .lens_at_images import LensAtImages
from .lens_batch import BatchLens
from .lenstool_statistic import check_forme, check_systems, lenstool_terms
from .multiplane_at_images import MultiPlaneAtImages
from .parameters import Parameters
from .point_data import Evaluation, ObservedImages, likelihood_choice, sum_by
from .source_plane import flux_chi2_rows, source_plane_terms

__all__ = ["Evaluation", "ObservedImages", "PointLikelihood", "likelihood", "likelihood_choice", "make_likelihood"]

NEWTON_STEP_CAP = 1.0  #: arcsec: largest Newton step of the image-plane matching


class PointLikelihood:
    """log L(values) of the free parameters given point_datasets.csv (see the module docstring).

    kind: "source", "image" or "lenstool"; forme: Lenstool's ``image forme`` of the lenstool kind
    (-2, -1 or 0; ignored by the others); image_search: how the lenstool kind finds each observed image's
    model image: "newton" (from the observed image only, as Lenstool; a fit) or "finder" (also the whole
    image plane where that fails; a report); threads: threads of each lens evaluation (None:
    :func:`clusterlens.lens.default_threads`); a sampler whose processes are the parallelism passes 1.
    Results do not depend on it, bit for bit."""

    def __init__(self, model: ClusterModel, kind: str = "source", cache: bool = True,
                 missing_penalty: float = 10.0, missing_distance: float = 5.0, threads: int | None = None,
                 forme: int = -2, image_search: str = "newton"):
        if kind not in LIKELIHOODS:
            raise ValueError(f"likelihood kind must be one of {', '.join(map(repr, LIKELIHOODS))}, got {kind!r}")
        self.model = model
        self.kind = kind
        self.forme = check_forme(forme)
        if image_search not in ("newton", "finder"):
            raise ValueError(f"image_search must be 'newton' or 'finder', got {image_search!r}")
        self.image_search = image_search
        self.parameters = Parameters.from_model(model)
        self._updated_rows = self.parameters.row_updater(model)
        for p in self.parameters.free:
            if p.family == "source_point" and p.column in ("x", "y"):
                raise ValueError(f"prior on {p.label}: source positions are solved analytically for each "
                                 "system; remove this prior")
            if p.family == "source_light":
                raise ValueError(f"prior on {p.label}: the point likelihood does not use source_light")
        self.images = ObservedImages.from_model(model)
        if kind == "lenstool":
            check_systems(self.images.system, self.images.n_systems, self.images.names)
        self.missing_penalty = missing_penalty
        self.missing_distance = missing_distance
        has = np.isfinite
        self.use_flux = bool(has(self.images.flux).any())
        self.use_delays = bool(has(self.images.time_delay).any())
        self._point_rows = {p.name: (i, p) for i, p in enumerate(model.source_points)}
        self._base_redshifts = np.array([self._point_rows[n][1].redshift for n in self.images.names])
        self._z_lens = model.z_lens
        #: systems with a free redshift and its position in the parameter vector
        z_position = {p.index: k for k, p in enumerate(self.parameters.free)
                      if p.family == "source_point" and p.column == "redshift"}
        free = [(k, z_position[self._point_rows[n][0]]) for k, n in enumerate(self.images.names)
                if self._point_rows[n][0] in z_position]
        self._free_systems = np.array([k for k, _ in free], int)
        self._redshift_positions = np.array([position for _, position in free], int)
        #: the batch path of the source-plane likelihood (lens_batch), None where it does not apply
        self._batch_lens: BatchLens | None = None
        if model.is_multiplane:  # effective quantities per source redshift (fit/multiplane_at_images.py)
            planes = MultiPlaneAtImages(model, self.parameters, self.images.x, self.images.y,
                                        self._base_redshifts[self.images.system], self.use_delays, threads)
            self.lens: LensAtImages | MultiPlaneAtImages = planes
            self._base_scales = planes.scales(self._base_redshifts)
        else:
            self.lens = LensAtImages(model, self.parameters, self.images.x, self.images.y, cache=cache,
                                     with_potential=self.use_delays, threads=threads)
            self._base_scales = np.array([model.distance_ratio(z) for z in self._base_redshifts])
            if cache and not self.use_delays:
                self._batch_lens = BatchLens.build(model, self.parameters, self.lens)

    # ------------------------------------------------------------------ helpers
    def _redshifts(self, updated: dict) -> np.ndarray:
        changed = updated.get("source_point", {})
        if not changed:
            return self._base_redshifts
        return np.array([changed.get(i, row).redshift for i, row in (self._point_rows[n] for n in self.images.names)])

    def _scales(self, redshifts: np.ndarray) -> np.ndarray:
        if redshifts is self._base_redshifts:
            return self._base_scales
        scales = self._base_scales.copy()
        scales[self._free_systems] = self._free_scales(redshifts[self._free_systems])
        return scales

    def _free_scales(self, redshifts: np.ndarray) -> np.ndarray:
        """D_LS/D_S of free-redshift systems (any shape), one vectorised evaluation
        (:func:`clusterlens.cosmology.distance_ratios`); InvalidParameters for a source not behind the lens."""
        z_lens = self._z_lens
        assert z_lens is not None  # the constructor's distance ratios needed it
        if np.any(redshifts <= z_lens):
            raise InvalidParameters(f"source redshifts {redshifts[redshifts <= z_lens]} are not behind the lens "
                                    f"(z_lens {z_lens})")
        return distance_ratios(self.model.cosmology, z_lens, redshifts)

    def _source_plane(self, q: np.ndarray, scale_per_image: np.ndarray):
        """Best sources, det A and per-image chi2 terms (:func:`clusterlens.fit.source_plane.source_plane_terms`);
        q (5, N) and scales (N,), or a batch: q (B, 5, N) and scales (B, N) (each row as alone, bit for bit)."""
        im = self.images
        return source_plane_terms(im.x, im.y, im.sigma, im.system, im.n_systems, q, scale_per_image)

    def _image_plane_chi2(self, updated: dict, q: np.ndarray, scale: np.ndarray, src_x, src_y, sp_chi2):
        """Per-image chi2, predicted positions and matched mask of the image-plane likelihood (q: the lens
        at the observed images, D_LS/D_S = 1, the Newton iteration's first state)."""
        im = self.images
        scale_of_system = np.empty(im.n_systems)
        scale_of_system[im.system] = scale
        match = match_images(self.lens.full_lens(updated), scale_of_system, src_x, src_y, im.x, im.y, im.system,
                             step_cap=NEWTON_STEP_CAP, start=tuple(scale * q[j] for j in range(5)),
                             reach=self.missing_distance)
        chi2 = np.where(match.matched, ((match.x - im.x) ** 2 + (match.y - im.y) ** 2) / im.sigma**2,
                        self._missing_chi2(sp_chi2))
        return chi2, match.x, match.y, match.matched

    def _missing_chi2(self, sp_chi2: np.ndarray) -> np.ndarray:
        """The chi2 of each observed image if it were missing: ``missing_penalty`` x its source-plane
        term, floored at (``missing_distance`` / sigma)^2 (module docstring)."""
        return np.maximum(self.missing_penalty * sp_chi2, self.missing_distance**2 / self.images.sigma**2)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, values) -> Evaluation:
        """Every term of the fit at ``values``: chi2 per term, sources, predicted positions."""
        updated = self._updated_rows(values)
        return self._evaluate_at(updated, self.lens.evaluate(updated))

    def _fast_evaluate(self, values) -> Evaluation:
        """:meth:`evaluate` with the lens at the observed images from the batch lens (the image and lenstool
        kinds' calls): the same terms to rounding (~1e-12 relative), InvalidParameters for the same values."""
        fast = self._batch_lens
        assert fast is not None
        row = np.asarray(values, dtype=float)[None]
        updated = self._updated_rows(values)  # the row schemas' checks; the rows of the full lens
        if not fast.valid(row)[0]:
            raise InvalidParameters("a tier member has r_core >= r_cut")
        return self._evaluate_at(updated, fast.evaluate(row)[0])

    def _evaluate_at(self, updated: dict, q: np.ndarray) -> Evaluation:
        """:meth:`evaluate` for the updated rows and the lens ``q`` at the observed images."""
        redshifts = self._redshifts(updated)
        scales = self._scales(redshifts)
        scale = scales[self.images.system]
        src_x, src_y, det, sp_chi2 = self._source_plane(q, scale)
        if self.kind == "lenstool":
            im = self.images
            terms = lenstool_terms(q, im.x, im.y, im.sigma, im.system, scales, self.forme,
                                   lambda: self.lens.full_lens(updated), finder=self.image_search == "finder")
            src_x, src_y, chi2, matched = terms.source_x, terms.source_y, terms.chi2, terms.matched
            x_pred, y_pred = terms.x_pred, terms.y_pred
            missing = self._missing_chi2(sp_chi2)
            chi2_missing = float(missing[~matched].sum())
        elif self.kind == "image":
            chi2, x_pred, y_pred, matched = self._image_plane_chi2(updated, q, scale, src_x, src_y, sp_chi2)
        else:
            chi2, matched = sp_chi2, np.ones(sp_chi2.size, bool)
            x_pred, y_pred = self._linear_prediction(q, scale, src_x, src_y)
        if self.kind != "lenstool":
            chi2_missing = 0.0
        chi2_pos = float(chi2.sum())
        chi2_flux = self._flux_chi2(1.0 / det) if self.use_flux else 0.0
        chi2_td = self._delay_chi2(q, scale, src_x, src_y, redshifts) if self.use_delays else 0.0
        return Evaluation(source_x=src_x, source_y=src_y, magnification=1.0 / det, chi2_images=chi2,
                          x_pred=x_pred, y_pred=y_pred, matched=matched, chi2_pos=chi2_pos, chi2_flux=chi2_flux,
                          chi2_td=chi2_td, chi2=chi2_pos + chi2_flux + chi2_td,
                          beta_x=self.images.x - scale * q[0], beta_y=self.images.y - scale * q[1],
                          chi2_missing=chi2_missing)

    def _linear_prediction(self, q, scale, src_x, src_y):
        """Image positions implied by the source-plane fit: theta_i + A_i^-1 (beta_k - beta_i)."""
        im = self.images
        bx, by = im.x - scale * q[0], im.y - scale * q[1]
        a11, a12, a22 = 1 - scale * q[2], -scale * q[3], 1 - scale * q[4]
        det = a11 * a22 - a12 * a12
        dx, dy = src_x[im.system] - bx, src_y[im.system] - by
        return im.x + (a22 * dx - a12 * dy) / det, im.y + (a11 * dy - a12 * dx) / det

    def _flux_chi2(self, mu: np.ndarray) -> float:
        """Flux chi2 at the magnifications ``mu`` (:func:`clusterlens.fit.chi2.chi2_flux`)."""
        im = self.images
        return chi2_flux(im.flux, im.flux_sigma, mu, im.system)

    def _delay_chi2(self, q, scale, src_x, src_y, redshifts) -> float:
        """Time-delay chi2 with each system's unobservable delay zero point solved analytically."""
        im = self.images
        ok = np.isfinite(im.time_delay)
        fermat = 0.5 * ((im.x - src_x[im.system]) ** 2 + (im.y - src_y[im.system]) ** 2) - scale * q[5]
        z_lens = self.model.z_lens
        assert z_lens is not None  # the constructor's distance ratios needed it
        ddt = np.array([time_delay_distance(self.model.cosmology, z_lens, float(z)) for z in redshifts])
        arrival = ddt[im.system] * DAYS_PER_MPC_ARCSEC2 * fermat
        w = np.where(ok, 1.0 / np.where(ok, im.time_delay_sigma, 1.0) ** 2, 0.0)
        residual = np.where(ok, im.time_delay - arrival, 0.0)
        n = im.n_systems
        offset = sum_by(im.system, w * residual, n) / np.maximum(sum_by(im.system, w, n), 1e-300)
        return float(np.sum(w * (residual - offset[im.system]) ** 2))

    def _batch_log_likelihood(self, values: np.ndarray) -> np.ndarray:
        """log L of the rows of ``values`` (B, P) by the batch path (:class:`~clusterlens.fit.lens_batch.BatchLens`):
        the source-plane likelihood of :meth:`evaluate`, -inf for invalid rows (the same rows)."""
        fast = self._batch_lens
        assert fast is not None
        if values.ndim != 2 or values.shape[1] != fast.n_parameters:
            raise ValueError(f"{values.shape[-1]} parameter values for {fast.n_parameters} free parameters")
        ok = fast.valid(values)
        z_lens = self._z_lens
        assert z_lens is not None  # the constructor's distance ratios needed it
        ok &= (values[:, self._redshift_positions] > z_lens).all(axis=1)
        values = np.where(ok[:, None], values, fast.base)  # an invalid row is evaluated at the model's values
        q = fast.evaluate(values)
        scales = np.repeat(self._base_scales[None], values.shape[0], axis=0)
        if self._free_systems.size:
            scales[:, self._free_systems] = self._free_scales(values[:, self._redshift_positions])
        scale = scales[:, self.images.system]
        _, _, det, chi2 = self._source_plane(q, scale)
        total = chi2.sum(axis=1)
        if self.use_flux:
            im = self.images
            total += flux_chi2_rows(im.flux, im.flux_sigma, im.system, im.n_systems, det)
        return np.where(ok & np.isfinite(total), -0.5 * total, -np.inf)

    def __call__(self, values) -> float:
        """log L at ``values``: -inf where they make a row invalid; any other failure raises
        :class:`~clusterlens.errors.LikelihoodError` naming the values (its cause is the original error).
        The source-plane likelihood of a model :class:`~clusterlens.fit.lens_batch.BatchLens` covers runs as
        a batch of one (equal to :meth:`evaluate`'s to rounding, ~1e-15 relative)."""
        try:
            if self._batch_lens is not None and self.kind == "source":
                return float(self._batch_log_likelihood(np.asarray(values, dtype=float)[None])[0])
            out = self._fast_evaluate(values) if self._batch_lens is not None else self.evaluate(values)
        except InvalidParameters:
            return -np.inf
        except Exception as err:
            # not strict: a values vector of the wrong length is one way to fail, and the message must still be made
            at = ", ".join(f"{label}={float(v)!r}" for label, v in zip(self.parameters.labels, values, strict=False))
            raise LikelihoodError(f"the {self.kind}-plane likelihood failed at {at or 'no free parameters'}: "
                                  f"{type(err).__name__}: {err}") from err
        total = out.chi2 + out.chi2_missing  # the lenstool kind's unmatched images (module docstring)
        return -0.5 * total if np.isfinite(total) else -np.inf

    def batch(self, values_2d) -> np.ndarray:
        """log L of each row of ``values_2d`` (shape (n, number of free parameters)): an array of n values,
        each equal bit for bit to calling this object on that row (-inf for a row that makes a model row
        invalid; any other failure raises :class:`~clusterlens.errors.LikelihoodError` naming the row).

        The source-plane likelihood of a model :class:`~clusterlens.fit.lens_batch.BatchLens` covers (dPIE
        rows, amplitude-only rows, tiers with free sigma_ref / r_cut_ref, free source redshifts; no time
        delays) evaluates the whole batch at once: parameter arrays for every row, one compiled kernel call
        per lens group for all rows, the source-plane algebra vectorised over rows (Python overhead paid once
        per batch; a single call is a batch of one, so the numbers are the same bit for bit). Otherwise
        (image and lenstool kinds, other free cells) each row runs as a single call, reusing the work done
        once at construction (the cached lens, :meth:`Parameters.row_updater`)."""
        values = np.asarray(values_2d, dtype=float)
        if values.ndim != 2 or values.shape[1] != len(self.parameters):
            raise ValueError(f"batch of shape {values.shape}: expected (n, {len(self.parameters)}), one row per "
                             "parameter vector and one column per free parameter")
        if self._batch_lens is not None and self.kind == "source" and values.shape[0]:
            try:
                return self._batch_log_likelihood(values)
            except Exception:  # noqa: BLE001 - the row-by-row calls below name the failing row
                pass
        return np.array([self(row) for row in values], dtype=float).reshape(values.shape[0])

    def chi2(self, values) -> dict:
        """Total and per-term chi2, image count and degrees of freedom at ``values``.

        dof = constraints - free parameters: 2 per image less 2 per system (its solved source), plus
        one per measured flux less one per system with fluxes (its solved intrinsic flux), plus one
        per measured delay less one per system with delays (its solved zero point)."""
        out = self.evaluate(values)
        im = self.images
        n_constraints = 2 * (len(im.x) - im.n_systems)
        for measured in (np.isfinite(im.flux), np.isfinite(im.time_delay)):
            n_constraints += int(measured.sum()) - len(np.unique(im.system[measured]))
        return {"chi2": out.chi2, "chi2_pos": out.chi2_pos, "chi2_flux": out.chi2_flux,
                "chi2_td": out.chi2_td, "n_images": int(len(self.images.x)),
                "dof": int(n_constraints - len(self.parameters))}

    def predicted_images(self, values) -> pd.DataFrame:
        """Observed vs predicted positions per image (predicted: image-plane Newton solutions for the
        image likelihood, the matched model images for Lenstool's forme -2/-1, the linearised
        source-plane prediction otherwise)."""
        out = self.evaluate(values)
        im = self.images
        return pd.DataFrame({
            "name": [im.names[k] for k in im.system], "image": list(im.labels),
            "x_obs": im.x, "y_obs": im.y, "x_pred": out.x_pred, "y_pred": out.y_pred,
            "sigma": im.sigma, "matched": out.matched, "chi2": out.chi2_images,
        })


def make_likelihood(model: ClusterModel, kind: str = "source", **options) -> PointLikelihood:
    """The log-likelihood of ``model``'s free parameters (priors.csv) given its point_datasets."""
    return PointLikelihood(model, kind=kind, **options)


def likelihood(model: ClusterModel, kind: str = "source", **options) -> PointLikelihood:
    """The public entry point, ``clusterlens.fit.likelihood(model, kind, **options)``: the point likelihood
    of ``model``'s free parameters (priors.csv) given its point_datasets, as a fit uses it.

    kind: "source", "image" or "lenstool"; options: those of :class:`PointLikelihood` (cache,
    missing_penalty, missing_distance, threads, forme, image_search). The object has ``parameters``
    (``names``, ``values(model)``, ``transform(unit_cube)``), ``L(values) -> log L`` and
    ``L.batch(values_2d) -> array``."""
    return make_likelihood(model, kind, **options)
