"""ClusterModel -> Lenstool ``.par`` file with its member and multiple-image catalogues.

The ``.par`` describes the lens in Lenstool's own terms, so Lenstool can run it:

- host_halo and main_lens_mass rows -> ``potentiel`` blocks, in that order, each written by its
  profile's Lenstool codec (:mod:`clusterlens.registry`; e.g. a cored SIE is the equivalent PIEMD,
  profile 8, an NFW halo profile 12 with m200 and its concentration), with the keywords of
  :data:`.keywords.WRITTEN_WITH`; the codec names the ``limit`` keyword of each column. Each
  potential with priors is followed by its ``limit`` block (Lenstool matches them by order, so the
  potentials before it get an empty one); ``grille nlens_opt`` counts them.
- each tier -> a ``potfile`` block (every parameter as ``flag value1 value2``, as Lenstool reads it)
  and the catalogue ``<tier>.cat`` (a = 1, b = q, theta = angle);
  Lenstool's potfile fixes r_core ~ L^(1/2), so a tier with another r_core_slope is an error.
- source_point and point_datasets rows -> the image catalogue ``<par name>_images.cat`` (arcsec
  from the reference, ``#REFERENCE 3``), ``forme`` (the dataset's [fit] forme when its likelihood is
  "lenstool", else -2: the image-plane chi2 of :mod:`.chi2`), ``sigposArcsec`` and ``z_m_limit``
  lines for free redshifts.
- ``dataset.toml`` -> ``runmode reference 3 RA DEC`` and ``cosmologie`` (H0, omegaM, omegaX).

Numbers in the blocks are written with ``repr`` of the value rounded to
:data:`clusterlens.cell_text.MAX_IMPORT_DIGITS` significant digits (catalogues with full ``repr``), and
exact inverse conversions (:func:`clusterlens.registry.lenstool_rules.preimage`), so that reading the
file back, which rounds as every import does (:func:`clusterlens.cell_text.import_digits`), gives the
same floats: an imported ``ellipticite 0.882`` is written back as ``0.882``.
Whatever the Lenstool format cannot hold exactly (a loguniform prior, a blank member
q, a named cosmology, source light, a source position that is not the back-traced barycentre of
its images, ...) is written after ``fini``, where Lenstool never reads, as ``#clusterlens``
directives (:mod:`.directives`), written only for the families whose Lenstool form does not read back exactly,
so ``read_par(write_par(m))`` reproduces ``m`` exactly, and a model imported from Lenstool is
written without any directive.
"""
from __future__ import annotations

import math
import os
import tempfile
import warnings
from pathlib import Path

from .. import atomic
from ..cell_text import MAX_IMPORT_DIGITS, round_significant
from ..model import load_model
from ..registry import LenstoolLimit, mass_profile
from ..registry.lenstool_rules import preimage
from .catalogues import Reference, format_catalogue, image_system
from .directives import directive_lines
from .importer import read_blocks
from .keywords import POTFILE_PRIORS, WRITTEN_WITH
from .parfile import LenstoolError, LenstoolWarning, parse_par
from .potentials import codec_of

_FLAGS = {"uniform": 1, "normal": 3}
_SINGLE_CHARACTERS = "123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def export_lenstool(folder, out_par, overwrite: bool = False) -> Path:
    """``clusterlens export-lenstool``: load the model folder ``folder`` and write ``out_par`` (+ catalogues)."""
    return write_par(load_model(folder), out_par, overwrite=overwrite)


def write_par(model, path, overwrite: bool = False) -> Path:
    """Write ``model`` as the Lenstool file ``path`` plus its catalogues beside it; return ``path``.

    An existing file whose content would change is refused unless ``overwrite=True``.
    Raises :class:`LenstoolError` for a lens Lenstool cannot represent (multi-plane, a tier whose
    r_core_slope is not 1/2). Priors Lenstool cannot express warn (:class:`LenstoolWarning`) and
    travel in directives, as does every other clusterlens-only content (module docstring).
    """
    path = Path(path)
    writer = _Writer(model, path)
    files = writer.files()
    with tempfile.TemporaryDirectory() as stage:  # a scratch copy: the directives re-read the written blocks
        for name, text in files.items():
            (Path(stage) / name).write_text(text, encoding="utf-8")
        files[path.name] += writer.directives(Path(stage) / path.name)
    contents = {name: text.encode("utf-8") for name, text in files.items()}
    if not overwrite:
        changed = [n for n, data in contents.items()
                   if (path.parent / n).exists() and (path.parent / n).read_bytes() != data]
        if changed:
            raise FileExistsError(f"{path.parent}: would overwrite {', '.join(changed)} with different content; "
                                  "pass overwrite=True (CLI: --overwrite) to replace them")
    atomic.write_files(path.parent, contents)  # every file staged before the first is replaced
    return path


def _line(keyword: str, *values) -> str:
    words = [repr(round_significant(float(v), MAX_IMPORT_DIGITS)) if isinstance(v, float) else str(v)
             for v in values]
    return "\t" + " ".join([keyword, *words])


class _Writer:
    def __init__(self, model, path: Path):
        self.model = model
        self.path = path
        self.ra, self.dec = model.reference
        self.cosmology = model.cosmology
        self.z_lens = model.z_lens
        self.priors_written: set[int] = set()

    # ------------------------------------------------------------------ the Lenstool files
    def files(self) -> dict[str, str]:
        files: dict[str, str] = {}
        blocks = ["# clusterlens model written in Lenstool format",
                  "runmode", _line("reference", 3, repr(self.ra), repr(self.dec)), "\tend"]
        image_lines, images_text = self.images()
        if images_text is not None:
            files[self.images_name] = images_text
            blocks += ["image", _line("multfile", 1, self.images_name), *image_lines, "\tend"]
        potentials = self.potentials()
        tiers = self.tiers(files)
        n_members = sum(len(t.members) for t in self.model.tiers)
        n_opt = sum(1 for _, limit in potentials if limit is not None)
        blocks += ["grille", _line("nombre", 128), _line("polaire", 0),
                   _line("nlentille", len(potentials) + n_members), _line("nlens_opt", n_opt), "\tend"]
        for potential, limit in potentials:
            blocks += potential + (limit or [])
        blocks += tiers
        blocks += self.cosmologie()
        blocks.append("fini")
        files[self.path.name] = "\n".join(blocks) + "\n"
        self.warn_unwritten_priors()
        return files

    @property
    def images_name(self) -> str:
        return f"{self.path.stem}_images.cat"

    def cosmologie(self) -> list[str]:
        c = self.cosmology
        lines = ["cosmologie", _line("model", 1), _line("H0", float(c.H0.value)), _line("omegaM", float(c.Om0)),
                 _line("omegaX", float(c.Ode0))]
        if abs(c.Om0 + c.Ode0 - 1.0) <= 1e-12:
            lines.append(_line("omegaK", "0."))
        return lines + [_line("wX", -1.0), _line("wa", 0.0), "\tend"]

    # ------------------------------------------------------------------ potentials and limits
    def potentials(self) -> list[tuple[list[str], list[str] | None]]:
        rows = ([("host_halo", r) for r in self.model.host_halo]
                + [("main_lens_mass", r) for r in self.model.main_galaxies])
        blocks, limits = [], []
        for family, row in rows:   # each potentiel at its own z_lens (multi-plane models come out unchanged)
            blocks.append(self.potential(row))
            limits.append(self.limit(family, row))
        last = max((i for i, limit in enumerate(limits) if limit), default=-1)
        return [(block, (limits[i] or [f"limit {rows[i][1].galaxy}", "\tend"]) if i <= last else None)
                for i, block in enumerate(blocks)]

    def potential(self, row) -> list[str]:
        codec = codec_of(mass_profile(row.profile), row.galaxy)
        fields = codec.write(row, self.cosmology, row.redshift)
        lines = [_line(codec.keywords.get(name, WRITTEN_WITH[name]), value) for name, value in fields.items()]
        return [f"potentiel {row.galaxy}", *lines, _line(WRITTEN_WITH["z"], row.redshift), "\tend"]

    def limit(self, family: str, row) -> list[str] | None:
        codec = codec_of(mass_profile(row.profile), row.galaxy)
        lines = []
        for index, prior in enumerate(self.model.priors):
            if prior.family != family or prior.galaxy != row.galaxy or prior.parameter not in codec.limit_keywords:
                continue
            if prior.prior not in _FLAGS:
                continue
            keyword = codec.limit_keywords[prior.parameter]
            values = _limit_values(codec.limits[keyword], prior)
            lines.append(_line(keyword, _FLAGS[prior.prior], float(values[0]), float(values[1]), 0.0))
            self.priors_written.add(index)
        return [f"limit {row.galaxy}", *lines, "\tend"] if lines else None

    # ------------------------------------------------------------------ tiers
    def tiers(self, files: dict[str, str]) -> list[str]:
        out = []
        for number, tier in enumerate(self.model.tiers):
            rel = tier.relation
            if self.z_lens is None:
                raise LenstoolError(f"scaling_relations tier {rel.tier!r}: no lens redshift (fill the members' "
                                    "redshift): Lenstool's potfile needs zlens")
            if rel.r_core_slope != 0.5:
                raise LenstoolError(f"scaling_relations tier {rel.tier!r}: r_core_slope {rel.r_core_slope!r} cannot be "
                                    "written: Lenstool's potfile fixes r_core ~ L^(1/2) (r_core_slope 0.5)")
            name = f"{rel.tier}.cat"
            if os.sep in rel.tier or name == self.images_name or name == self.path.name:
                raise LenstoolError(f"scaling_relations tier {rel.tier!r} cannot name its member catalogue "
                                    f"{name!r}: rename the tier")
            rows = []
            for m in tier.members:
                mag = m.mag if m.mag is not None else rel.mag_ref - 2.5 * math.log10(m.luminosity)
                rows.append((m.galaxy, m.x, m.y, 1.0, 1.0 if m.q is None else m.q,
                             0.0 if m.angle is None else m.angle, mag, 0.0))
            files[name] = format_catalogue(rows, Reference(3, self.ra, self.dec))
            planes = {self.z_lens if m.redshift is None else m.redshift for m in tier.members}
            if len(planes) > 1:
                raise LenstoolError(f"scaling_relations tier {rel.tier!r}: members at redshifts "
                                    f"{sorted(planes)}: Lenstool's potfile has one zlens; give the members of "
                                    "each redshift their own tier")
            z = next((m.redshift for m in tier.members if m.redshift is not None), self.z_lens)
            slope = preimage(lambda s: 2.0 / s, rel.r_cut_slope, 2.0 / rel.r_cut_slope)
            vdslope = preimage(lambda s: 1.0 / s, rel.sigma_slope, 1.0 / rel.sigma_slope)
            out += [f"potfile{number}", _line("filein", 1, name), _line("zlens", float(z)), _line("type", 81),
                    self.potfile_parameter("core", rel, rel.r_core_ref), _line("mag0", rel.mag_ref),
                    self.potfile_parameter("sigma", rel, rel.sigma_ref),
                    self.potfile_parameter("cut", rel, rel.r_cut_ref),
                    self.potfile_parameter("slope", rel, slope), self.potfile_parameter("vdslope", rel, vdslope),
                    _line("vdscatter", 0, 0.0, 0.0), _line("rcutscatter", 0, 0.0, 0.0), "\tend"]
        return out

    def potfile_parameter(self, keyword: str, rel, value: float) -> str:
        """``keyword flag v1 v2``: flag 0 writes the value; a prior writes its bounds (Lenstool starts at v1)."""
        parameter = POTFILE_PRIORS[keyword]
        for index, prior in enumerate(self.model.priors):
            if (prior.family, prior.galaxy, prior.parameter) != ("scaling_relations", rel.tier, parameter):
                continue
            if prior.prior not in _FLAGS:
                break
            if parameter in ("sigma_ref", "r_core_ref", "r_cut_ref"):
                values = (prior.lower, prior.upper) if prior.prior == "uniform" else (prior.mean, prior.sigma)
            else:
                values = _inverse_slope_prior(prior, 2.0 if parameter == "r_cut_slope" else 1.0)
            self.priors_written.add(index)
            return _line(keyword, _FLAGS[prior.prior], float(values[0]), float(values[1]))
        return _line(keyword, 0, float(value), 0.0)

    # ------------------------------------------------------------------ images
    def images(self) -> tuple[list[str], str | None]:
        points = self.model.point_datasets
        if not points:
            return [], None
        sources = {s.name: s for s in self.model.source_points}
        sigmas = sorted(p.sigma for p in points)
        sigma = sigmas[len(sigmas) // 2]
        if sigmas[0] != sigmas[-1]:
            warnings.warn(f"positional errors range from {sigmas[0]!r} to {sigmas[-1]!r} arcsec: Lenstool's "
                          f"sigposArcsec holds one value, {sigma!r} (the median) is written", LenstoolWarning,
                          stacklevel=3)
        rows: list[tuple[str, float, float, float, float, float, float, float]] = []
        used: dict[str, set[str]] = {}
        for p in points:
            lenstool_id = p.image if _is_image_id(p.image, p.name) else self.generated_id(p, used)
            used.setdefault(p.name, set()).add(lenstool_id)
            rows.append((lenstool_id, p.x, p.y, 0.0, 0.0, 0.0, sources[p.name].redshift, 0.0))
        fit = self.model.dataset.fit
        forme = fit.forme if fit is not None and fit.likelihood == "lenstool" else -2
        lines = [_line("forme", forme), _line("sigposArcsec", float(sigma))]
        first_image: dict[str, str] = {}
        for row, p in zip(rows, points, strict=True):
            first_image.setdefault(p.name, row[0])
        for index, prior in enumerate(self.model.priors):
            if prior.family != "source_point" or prior.parameter != "redshift" or prior.prior not in _FLAGS:
                continue
            names = [s.name for s in self.model.source_points if prior.galaxy in ("*", s.galaxy)]
            if prior.galaxy == "*" or len(names) != 1 or names[0] not in first_image:
                continue
            values = (prior.lower, prior.upper) if prior.prior == "uniform" else (prior.mean, prior.sigma)
            lines.append(_line("z_m_limit", 1, first_image[names[0]], _FLAGS[prior.prior], float(values[0]),
                               float(values[1]), 0.0))
            self.priors_written.add(index)
        return lines, format_catalogue(rows, Reference(3, self.ra, self.dec))

    def generated_id(self, point, used: dict) -> str:
        for char in _SINGLE_CHARACTERS:
            candidate = f"{point.name}.{char}"
            if candidate not in used.get(point.name, set()):
                return candidate
        raise LenstoolError(f"point source {point.name!r} has more images than Lenstool ids name.1 ... name.Z")

    def warn_unwritten_priors(self) -> None:
        for index, prior in enumerate(self.model.priors):
            if index not in self.priors_written:
                warnings.warn(f"prior {prior.family} {prior.galaxy} {prior.parameter} ({prior.prior}) has no Lenstool "
                              "form: kept only in a #clusterlens directive", LenstoolWarning, stacklevel=4)

    def directives(self, path: Path) -> str:
        """Directive lines for what the written Lenstool blocks at ``path`` do not reproduce exactly."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LenstoolWarning)
            native = read_blocks(parse_par(path))
        return directive_lines(self.model, native.records, native.dataset)


def _is_image_id(image: str, name: str) -> bool:
    return len(image) >= 2 and image_system(image) == name


def _limit_values(rule: LenstoolLimit, prior) -> tuple[float, float]:
    """The Lenstool ``v1 v2`` of a uniform or normal prior on ``rule.column``: plain values, or through
    ``rule.inverse`` (bounds map exactly, a normal prior is linearised: the inverse of the importer's
    conversion, value for value)."""
    if rule.forward is None:
        return prior.bounds if prior.prior == "uniform" else prior.mean_sigma
    inverse, derivative = rule.inverse, rule.derivative
    if inverse is None or derivative is None:
        raise LenstoolError(f"the Lenstool rule for {rule.column} has no inverse: its prior cannot be written")
    if prior.prior == "uniform":
        low, high = sorted((inverse(prior.bounds[0]), inverse(prior.bounds[1])))
        return low, high
    mean = inverse(prior.mean_sigma[0])
    slope = abs(derivative(mean))
    return mean, preimage(lambda s: slope * s, prior.sigma, prior.sigma / slope)


def _inverse_slope_prior(prior, numerator: float) -> tuple[float, float]:
    """A prior on numerator/s (sigma_slope = 1/vdslope, r_cut_slope = 2/slope) as a prior on s."""
    def invert(x):
        return preimage(lambda s: numerator / s, x, numerator / x)

    if prior.prior == "uniform":
        return invert(prior.upper), invert(prior.lower)
    mean = invert(prior.mean)
    slope = numerator / mean**2
    return mean, preimage(lambda s: slope * s, prior.sigma, prior.sigma / slope)
