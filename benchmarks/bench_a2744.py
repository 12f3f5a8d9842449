"""Abell 2744 (HFF CATS Lenstool model): import, export and evaluation timings, and Lenstool's
image-plane chi2 with a per-system rms table.

Reads the copies in tests/data/a2744: best.par (258 explicit dPIE potentials) with
img_mul_constraints.cat (83 images of 29 systems, sigma_pos 0.5"), and A2744_SLspec.par
(6 optimised potentials, 3 potfile tiers). Timings are the best of a few repeats (wall clock,
one process); on a shared machine they are noisy.

Run: python benchmarks/bench_a2744.py
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np

from clusterlens.lenstool import LenstoolWarning, par_records, read_par, write_par
from clusterlens.lenstool.chi2 import image_plane_chi2
from common import best_of

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "a2744"


def main() -> None:
    warnings.simplefilter("ignore", LenstoolWarning)
    best, t_best = best_of(lambda: read_par(DATA / "best.par", images=DATA / "img_mul_constraints.cat",
                                            position_sigma=0.5))
    spec, t_spec = best_of(lambda: read_par(DATA / "A2744_SLspec.par"))
    print(f"import best.par + images       {t_best * 1e3:8.1f} ms  ({len(best.host_halo)} host + "
          f"{len(best.main_galaxies)} main potentials, {len(best.point_datasets)} images)")
    print(f"import A2744_SLspec.par        {t_spec * 1e3:8.1f} ms  ({len(spec.tiers)} tiers, "
          f"{sum(len(t.members) for t in spec.tiers)} members, {len(spec.priors)} priors)")
    with tempfile.TemporaryDirectory() as folder:
        _, t_write = best_of(lambda: write_par(best, Path(folder) / "best.par"))
        _, t_read = best_of(lambda: read_par(Path(folder) / "best.par"))
    print(f"export best model (write_par)  {t_write * 1e3:8.1f} ms;  re-import {t_read * 1e3:.1f} ms")

    lens, t_lens = best_of(lambda: type(best)(best.tables, best.dataset).lens)
    print(f"build Lens                     {t_lens * 1e3:8.1f} ms  ({lens})")
    side = 400
    grid = np.linspace(-60.0, 60.0, side)
    gx, gy = np.meshgrid(grid, grid)
    _, t_grid = best_of(lambda: lens.deflection(gx, gy))
    pairs = side * side * 258
    print(f"deflection, {side}x{side} grid      {t_grid:8.3f} s   ({pairs / t_grid:.3g} member-point pairs/s)")
    _, t_both = best_of(lambda: lens.deflection_and_hessian(gx, gy))
    print(f"deflection + Hessian, grid     {t_both:8.3f} s")

    result, t_chi2 = best_of(lambda: image_plane_chi2(best))
    chi2_lenstool = float(par_records(DATA / "best.par").header["Chi2pos"])
    print(f"image-plane chi2 (forme -2)    {t_chi2 * 1e3:8.1f} ms")
    print(f"\nchi2 = {result.chi2:.2f} for {len(result.images)} images (Lenstool best.par Chi2pos {chi2_lenstool:.2f}, "
          f"{100 * (result.chi2 / chi2_lenstool - 1):+.2f}%); image-plane rms "
          f"{np.sqrt(np.mean(result.images['offset'] ** 2)):.3f} arcsec\n")
    table = result.systems[["name", "redshift", "n_images", "rms", "chi2"]].rename(columns={"rms": "rms [arcsec]"})
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
