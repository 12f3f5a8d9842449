"""``potentiel`` and ``limit`` blocks -> ``host_halo.csv`` / ``main_lens_mass.csv`` rows and their priors.

A block's keywords become Lenstool fields (:data:`.keywords.POTENTIAL_FIELDS`); its ``profil`` number
picks the registered mass profile whose Lenstool codec reads that number (where two share one, the
codec's ``takes`` decides), and the codec turns the fields into the row. No profile is named here:
:mod:`clusterlens.registry` lists what becomes what (dPIE 81; SIE 8, 1, 0; NFW and
PseudoEllipticalNFW 12; ExternalShear 14). The row goes to host_halo when the codec's ``host`` says
it is a cluster- or group-scale halo, to main_lens_mass otherwise.

As in Lenstool, a ``_kpc`` radius wins over the arcsec one when both are given (see
:func:`radius`), the later of ``x_centre`` / ``x_centre_wcs`` wins, and the n-th ``limit`` block
applies to the n-th potential; each limit keyword becomes a prior by the codec's rule for it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..registry import MASS_PROFILES, LenstoolCodec, LenstoolContext, LenstoolLimit, MassProfile
from ..registry.lenstool_rules import emass_from_epot
from ..units import sky_offsets
from .keywords import field_of
from .parfile import Block, Entry, LenstoolError
from .reading import ParReader


@dataclass
class Potential:
    """One ``potentiel`` block: its name, the Lenstool fields read and where each came from, its row, and
    ``index``, its position among Lenstool's clumps (potentials and potfile members, in file order)."""

    name: str
    block: Block
    fields: dict[str, float] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    profile: MassProfile | None = None
    row: dict = field(default_factory=dict)
    family: str = "main_lens_mass"
    index: int = -1


def lenstool_codecs() -> dict[str, LenstoolCodec]:
    """The Lenstool codecs of the registered mass profiles that have one, by profile name."""
    return {name: p.lenstool for name, p in MASS_PROFILES.items() if p.lenstool is not None}


def codec_of(profile: MassProfile, galaxy: str = "") -> LenstoolCodec:
    """``profile``'s Lenstool codec (a LenstoolError, naming ``galaxy``, for a profile Lenstool cannot hold)."""
    if profile.lenstool is None:
        raise LenstoolError(f"{galaxy or 'a row'}: no Lenstool profile for {profile.name!r}")
    return profile.lenstool


def profile_reading(number: int, fields: dict[str, float]) -> MassProfile | None:
    """The mass profile whose codec reads a ``profil`` ``number`` block with these fields (None: no such profile)."""
    found = [name for name, codec in lenstool_codecs().items() if number in codec.profils]
    if len(found) > 1:
        found = [name for name in found if (takes := lenstool_codecs()[name].takes) is not None and takes(fields)]
    return MASS_PROFILES[found[0]] if found else None


def profile_for(number: int, fields: dict[str, float], where: str) -> MassProfile:
    """:func:`profile_reading`, or a LenstoolError at ``where`` naming the profiles clusterlens reads."""
    profile = profile_reading(number, fields)
    if profile is None:
        raise LenstoolError(f"{where}: profil {number}, which clusterlens does not model: expected {_expected()}")
    return profile


def _expected() -> str:
    numbers: dict[int, list[str]] = {}
    for name, codec in lenstool_codecs().items():
        for number in codec.profils:
            numbers.setdefault(number, []).append(name)
    words = [f"{n} ({' or '.join(names)})" for n, names in numbers.items()]
    return ", ".join(words[:-1]) + " or " + words[-1]


def read_potential(reader: ParReader, block: Block) -> Potential:
    """The fields of a ``potentiel`` block (unknown and repeated keywords warn) and its row."""
    potential = Potential(block.label, block)
    seen_lines: dict[str, int] = {}
    for entry in block.entries:
        key = entry.keyword
        name = field_of(key)
        if name is None:
            reader.warn(f"line {entry.line}: unknown keyword '{key}' in 'potentiel {block.label}': ignored")
            continue
        if name in seen_lines:
            reader.warn(f"line {entry.line}: '{key}' sets the same parameter as line {seen_lines[name]} in "
                        f"'potentiel {block.label}': the later line is used, as in Lenstool")
        seen_lines[name] = entry.line
        if name == "nid":
            potential.name = entry.word(0, "a name", reader.path)
        elif name == "type":
            potential.fields[name] = entry.integer(0, "the profile number", reader.path)
        else:
            potential.fields[name] = entry.number(0, "value", reader.path)
        potential.lines[name] = entry.line
    if not potential.name:
        raise LenstoolError(f"{reader.where(block.line)}: potentiel block without a name: expected "
                            "'potentiel NAME'")
    read_row(reader, potential)
    return potential


def read_row(reader: ParReader, potential: Potential) -> None:
    """Fill the potential's profile, row and family from its fields, through the profile's codec."""
    f, block = potential.fields, potential.block
    if "type" not in f:
        raise LenstoolError(f"{reader.where(block.line)}: potentiel {potential.name}: no 'profil': expected "
                            f"{_expected()}")
    profile = profile_reading(int(f["type"]), f)
    if profile is None:
        raise LenstoolError(f"{reader.where(potential.lines['type'])}: potentiel {potential.name} has profil "
                            f"{f['type']}, which clusterlens does not model: expected {_expected()}")
    z = f.get("z", 0.0)
    if z <= 0:
        raise LenstoolError(f"{reader.where(block.line)}: potentiel {potential.name}: no 'z_lens' (Lenstool stops "
                            "too): expected the lens redshift")
    codec = codec_of(profile, potential.name)
    for name, value in f.items():
        if name not in codec.profils[int(f["type"])] and value not in (0, 0.0):
            reader.warn(f"line {potential.lines[name]}: '{name}' = {value!r} is not used by profile "
                        f"{f['type']} ({profile.name}) in potentiel {potential.name}: ignored")
    context = LenstoolContext(
        potential.name, f, z, reader.kpc_per_arcsec(z), reader.cosmology, lambda: centre(reader, potential),
        lambda: emass(reader, potential), lambda a, k, default: radius(reader, potential, a, k, z, default),
        lambda message, name=None: _error(reader, potential, message, name), reader.warn)
    potential.profile = profile
    potential.row = {"galaxy": potential.name, "profile": profile.name, "redshift": z, **codec.read(context)}
    potential.family = "host_halo" if codec.host(potential.row) else "main_lens_mass"


def _error(reader: ParReader, potential: Potential, message: str, name: str | None) -> LenstoolError:
    line = potential.lines.get(name, potential.block.line) if name is not None else potential.block.line
    return LenstoolError(f"{reader.where(line)}: potentiel {potential.name}: {message}")


def centre(reader: ParReader, potential: Potential) -> tuple[float, float]:
    """(x, y) [arcsec]: Lenstool converts ``*_wcs`` values as read (RA wrapped across 0, as
    :func:`clusterlens.units.sky_offsets`), so the later of the two keywords wins."""
    f = potential.fields
    x, y = f.get("x", 0.0), f.get("y", 0.0)
    ra0, dec0 = reader.reference.ra, reader.reference.dec
    x_wcs, y_wcs = sky_offsets(f.get("x_wcs", ra0), f.get("y_wcs", dec0), ra0, dec0)
    if "x_wcs" in f and potential.lines["x_wcs"] > potential.lines.get("x", 0):
        x = float(x_wcs)
    if "y_wcs" in f and potential.lines["y_wcs"] > potential.lines.get("y", 0):
        y = float(y_wcs)
    return x, y


def emass(reader: ParReader, potential: Potential) -> float:
    """The mass ellipticity: ``ellipticite``, else from ``ellip_pot``; an error outside [0, 1)."""
    f = potential.fields
    value = f.get("emass", 0.0)
    if value == 0.0 and f.get("epot", 0.0) != 0.0:
        value = emass_from_epot(f["epot"])
    if not 0.0 <= value < 1.0:
        raise _error(reader, potential, f"ellipticite {value!r} out of range: expected 0 <= emass = "
                     "(a^2-b^2)/(a^2+b^2) < 1", "emass")
    return value


def radius(reader: ParReader, potential: Potential, arcsec_key: str, kpc_key: str, z: float, default):
    """A length in arcsec from ``core_radius``/``cut_radius`` and their ``_kpc`` forms.

    Lenstool lets the kpc value win (set_lens) and converts it with its own distances. A result
    file (best.par) writes both, the arcsec one being what Lenstool computed the lens with; so
    when both are given and agree to 1% in the model cosmology the arcsec value is used
    (Lenstool's distances differ from astropy's by a few 0.1%), otherwise the kpc one, with a warning.
    """
    f = potential.fields
    kpc_set = f.get(kpc_key, 0.0) != 0.0 if kpc_key == "rckpc" else kpc_key in f
    if not kpc_set:
        return f.get(arcsec_key, default)
    from_kpc = f[kpc_key] / reader.kpc_per_arcsec(z)
    if arcsec_key in f:
        if abs(f[arcsec_key] - from_kpc) <= 0.01 * abs(from_kpc):
            return f[arcsec_key]
        reader.warn(f"line {potential.lines[arcsec_key]}: potentiel {potential.name}: {arcsec_key} "
                    f"{f[arcsec_key]!r} arcsec disagrees with {f[kpc_key]!r} kpc (= {from_kpc!r} arcsec): the kpc "
                    "value is used, as in Lenstool")
    return from_kpc


def read_limit(reader: ParReader, block: Block, potential: Potential) -> None:
    """Priors from a ``limit`` block on ``potential``: each free keyword by its codec rule, others warn."""
    profile = potential.profile
    assert profile is not None, "read_row gives every potential its profile"
    codec = codec_of(profile)
    limits = codec.limits if codec.limits_for is None else codec.limits_for(potential.fields, potential.row)
    for entry in block.entries:
        flag = entry.integer(0, "the prior flag", reader.path)
        if flag == 0:
            continue
        v1 = entry.number(1, "the first prior value", reader.path)
        v2 = entry.number(2, "the second prior value", reader.path)
        rule = limits.get(entry.keyword)
        if rule is None:
            reader.warn(f"line {entry.line}: free '{entry.keyword}' in 'limit {block.label}' has no clusterlens "
                        f"column for a {profile.name} row: ignored (the parameter stays fixed)")
            continue
        add_limit_prior(reader, potential, rule, flag, v1, v2, entry)


def add_limit_prior(reader: ParReader, potential: Potential, rule: LenstoolLimit, flag: int, v1: float, v2: float,
                    entry: Entry) -> None:
    """The prior of one ``limit`` line by ``rule``: checked, kpc -> arcsec, or through forward(u)."""
    if rule.check is not None:
        try:
            v1, v2 = rule.check(entry.keyword, flag, v1, v2)
        except ValueError as err:
            raise LenstoolError(f"{reader.where(entry.line)}: {err}") from None
    if rule.kpc:
        d1 = reader.kpc_per_arcsec(potential.row["redshift"])
        v1, v2 = v1 / d1, v2 / d1
    args = (potential.family, potential.name, rule.column, flag, v1, v2, entry)
    if rule.forward is None or rule.derivative is None:
        reader.add_prior(*args, potential)
    else:
        reader.add_transformed_prior(*args, rule.forward, rule.derivative, potential)


def make_names_unique(reader: ParReader, potentials: list[Potential]) -> None:
    """Rename repeated potential names (``O1`` -> ``O1_2``, with a warning), their priors with them."""
    taken = {p.name for p in potentials}
    seen: dict[str, Potential] = {}
    for potential in potentials:
        first = seen.get(potential.name)
        if first is None:
            seen[potential.name] = potential
            continue
        number = 2
        while f"{potential.name}_{number}" in taken:
            number += 1
        new = f"{potential.name}_{number}"
        reader.warn(f"line {potential.block.line}: potential name {potential.name!r} repeats line "
                    f"{first.block.line}: renamed {new!r}")
        taken.add(new)
        potential.name = new
        potential.row["galaxy"] = new
        for prior in reader.priors:
            if prior.get("_owner") is potential:
                prior["galaxy"] = new
    for prior in reader.priors:
        prior.pop("_owner", None)
