"""The simulator: a model folder in, a reproducible dataset folder out (issue #5).

- :mod:`.imaging`: ray-traced extended sources, pixel-integrated Gaussian PSF, CCD noise (pure functions);
- :mod:`.points`: multiple images of the point sources with measurement noise;
- :mod:`.fits_output`: FITS files with a celestial WCS matching the model's x (West), y (North);
- :mod:`.dataset_folder`: ``simulate`` and ``ensure_dataset`` (manifest, atomic folder swap).
"""
from .dataset_folder import ensure_dataset, simulate, stale_reason, summary_table

__all__ = ["ensure_dataset", "simulate", "stale_reason", "summary_table"]
