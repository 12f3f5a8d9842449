"""Multiple-image finder: every image of a point source behind a single-plane lens.

Lens equation (thin lens; e.g. Narayan & Bartelmann 1996, arXiv:astro-ph/9606001)::

    beta = theta - scale * alpha_inf(theta)

with angles in arcsec, ``alpha_inf`` the deflection of the lens for D_LS/D_S = 1 and
``scale = D_LS/D_S`` of the source redshift.  A ``Lens`` (clusterlens.lens) applies ``scale``
itself: ``lens.deflection(x, y, scale=scale)`` is already the scaled deflection.

Algorithm (each step's module docstring gives the details)
----------------------------------------------------------
1. **Search region** (:mod:`.region`).  A box around the component centres widened by the
   largest deflection holds every image of the sources that can be multiply imaged; the *source
   coverage* is where all images of a source are guaranteed inside it.  ``find`` warns for
   sources outside the coverage.
2. **Image-plane mesh** (:mod:`.mesh`).  Square cells cut into two triangles, quadrisected level
   after level near critical curves and around compact components; every vertex is ray-traced
   once.
3. **Source-plane index** (:mod:`.index`).  Each mapped triangle goes into a loose multi-level
   grid of its bounding box; a query is one binary search per level.
4. **Candidates and polishing** (:mod:`.index`, :mod:`.newton`).  Every triangle whose
   source-plane image contains the source (fold triangles with some slack) gives a start for a
   damped Newton iteration with the analytic Hessian, vectorised over all candidates.
5. **Verification** (:mod:`.finder`).  Only solutions with ``|beta(theta) - beta_s| <
   precision`` are kept; solutions closer than their residual allows are one image.
6. **Observables** (:mod:`.finder`).  Signed magnification, parity, arrival order from the
   Fermat potential and time delays from the time-delay distance.

**Observed images** (:mod:`.matching`).  :func:`match_images` gives each observed image its
model image (nearest, never shared; unmatched ones flagged): a Newton polish from the observed
position guarded against leaving its basin (:func:`polish_in_basin`, status per image), the certified
fold partner of a solution where a merging pair's two observed images reach one model image or an
iteration crossed a critical curve (:mod:`.fold_partner`), and the finder only for the systems where
these fail: first in small windows around their observed images, then in wider ones or over the whole
box of the system when the windows cannot decide.

:class:`ImageFinder` builds the mesh once for one lens and source redshift and solves for any
number of sources; :func:`find_lens_images` and :func:`find_images` are one-call entry points.
"""

from .finder import ImageFinder, find_images, find_lens_images
from .index import SourcePlaneIndex
from .matching import ImageMatch, match_images
from .mesh import ImagePlaneMesh, build_mesh
from .newton import CONVERGED, FAILED, STATUS_NAMES, WRONG_BASIN, polish, polish_in_basin
from .region import component_centres, default_region, source_coverage

__all__ = [
    "CONVERGED",
    "FAILED",
    "STATUS_NAMES",
    "WRONG_BASIN",
    "ImageFinder",
    "ImageMatch",
    "ImagePlaneMesh",
    "SourcePlaneIndex",
    "build_mesh",
    "component_centres",
    "default_region",
    "find_images",
    "find_lens_images",
    "match_images",
    "polish",
    "polish_in_basin",
    "source_coverage",
]
