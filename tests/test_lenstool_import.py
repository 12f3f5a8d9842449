"""Lenstool import: the real Abell 2744 files (parsed independently here with regular expressions) and
untidy synthetic files (repeated names, unknown keywords, unsupported profiles, z_m_limit)."""
import hashlib
import math
import re
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.cosmology import FlatLambdaCDM

from clusterlens import load_model
from clusterlens.cell_text import MIN_IMPORT_DIGITS
from clusterlens.lenstool import LenstoolError, LenstoolWarning, import_lenstool, par_records, read_par

DATA = Path(__file__).parent / "data" / "a2744"
BEST, SPEC, IMAGES = DATA / "best.par", DATA / "A2744_SLspec.par", DATA / "img_mul_constraints.cat"
Z_LENS = 0.308
# Independent kpc-per-arcsec at the lens (H0 = 70, Om = 0.3 flat, as in the files' cosmologie block).
KPC_PER_ARCSEC = FlatLambdaCDM(H0=70.0, Om0=0.3).angular_diameter_distance(Z_LENS).to_value(u.kpc) * math.pi / 648000
C_KMS = 299792.458

#: The largest relative change of the import's rounding (clusterlens.cell_text.import_digits).
IMPORT_REL = 0.5 * 10.0 ** (1 - MIN_IMPORT_DIGITS)


def q_of(emass):
    return math.sqrt((1.0 - emass) / (1.0 + emass))


def raw_potentials(path):
    """{name: {keyword: first value}} of every potentiel block, by regular expression over the file."""
    text = path.read_text()
    blocks = re.findall(r"^potentiel\s+(\S+)\s*\n(.*?)^\s*end", text, flags=re.M | re.S)
    return [(name, {line.split()[0]: line.split()[1] for line in body.splitlines() if line.strip()})
            for name, body in blocks]


def raw_images(path, ra0, dec0):
    """(id, x, y, z) of every uncommented catalogue line, x = -(RA-RA0) cos(Dec0) 3600, y = (Dec-Dec0) 3600."""
    out = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        words = line.split()
        ra, dec = float(words[1]), float(words[2])
        out.append((words[0], -(ra - ra0) * math.cos(math.radians(dec0)) * 3600.0, (dec - dec0) * 3600.0,
                    float(words[6])))
    return out


def reference_of(path):
    ra, dec = re.search(r"reference\s+3\s+(\S+)\s+(\S+)", path.read_text()).groups()
    return float(ra), float(dec)


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LenstoolWarning)
        return function(*args, **kwargs)


@pytest.fixture(scope="module")
def best():
    with warnings.catch_warnings():
        warnings.simplefilter("error", LenstoolWarning)  # the real result file imports without any warning
        return read_par(BEST, images=IMAGES, position_sigma=0.5)


def test_data_files_are_unmodified_copies():
    table = dict(re.findall(r"^\| (\S+) \| ([0-9a-f]{64}) \|$", (DATA / "PROVENANCE.md").read_text(), flags=re.M))
    assert len(table) == 6
    for name, digest in table.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


def test_best_par_potentials_counts_names_and_families(best):
    raw = raw_potentials(BEST)
    assert len(raw) == 258 == len(re.findall(r"^potentiel ", BEST.read_text(), flags=re.M))
    names = [name for name, _ in raw]
    hosts = [r.galaxy for r in best.host_halo]
    mains = [r.galaxy for r in best.main_galaxies]
    # host = cluster/group-scale: r_core >= 5" or sigma >= 600 km/s; everything else is a galaxy
    assert hosts == ["O1", "O2", "S3", "NW", "N"]
    assert mains == [n for n in names if n not in hosts]
    assert not best.tiers and len(best.main_galaxies) == 253


def test_best_par_every_parameter_matches_the_file(best):
    rows = {r.galaxy: r for r in (*best.host_halo, *best.main_galaxies)}
    for name, f in raw_potentials(BEST):
        row = rows[name]
        assert f["profil"] == "81" and row.profile == "dPIE"
        assert row.x == float(f["x_centre"]) and row.y == float(f["y_centre"])
        assert row.angle == float(f["angle_pos"]) and row.sigma == float(f["v_disp"])
        assert row.redshift == float(f["z_lens"]) == Z_LENS
        assert row.q == pytest.approx(q_of(float(f["ellipticite"])), rel=1e-15)
        # both radii are written: the arcsec value is the one Lenstool computed the lens with
        assert row.r_core == float(f["core_radius"]) and row.r_cut == float(f["cut_radius"])
    o1 = rows["O1"]
    assert (o1.x, o1.y, o1.sigma, o1.r_core, o1.r_cut) == (-2.076312, 1.388524, 607.070068, 18.816964, 221.244725)
    assert o1.q == pytest.approx(math.sqrt((1 - 0.828247) / (1 + 0.828247)), rel=1e-15)


def test_lenstool_kpc_per_arcsec_differs_from_astropy_by_a_constant_0p35_percent():
    """best.par writes r [arcsec] and r [kpc] from Lenstool's own distances; astropy's D_A is 0.351% larger.
    (This is why the importer keeps the arcsec value when a potential gives both.)"""
    ratios = [float(f["cut_radius_kpc"]) / float(f["cut_radius"]) for _, f in raw_potentials(BEST)
              if float(f["cut_radius"]) > 3.0]  # 6 printed decimals: large radii give precise ratios
    assert len(ratios) > 20 and np.ptp(ratios) / np.mean(ratios) < 1e-6
    assert KPC_PER_ARCSEC / np.mean(ratios) - 1.0 == pytest.approx(0.00351, abs=5e-5)


def test_best_par_images_systems_and_redshifts(best):
    ra0, dec0 = reference_of(BEST)
    raw = raw_images(IMAGES, ra0, dec0)
    assert len(raw) == 83 == len(best.point_datasets)
    systems = {p.name for p in best.point_datasets}
    assert len(systems) == 29 == len(best.source_points)
    assert {"1", "5", "105", "134", "147", "64"} <= systems and "34" not in systems  # 34.x are commented out
    for point, (image, x, y, _) in zip(best.point_datasets, raw, strict=True):
        assert point.image == image and point.name == image.rsplit(".", 1)[0]
        assert point.x == pytest.approx(x, abs=1e-9) and point.y == pytest.approx(y, abs=1e-9)
        assert point.sigma == 0.5
    z_of = {image.rsplit(".", 1)[0]: z for image, _, _, z in raw}
    for source in best.source_points:
        assert source.galaxy == source.name and source.redshift == z_of[source.name]
        # the source-plane position: the |mu|-weighted mean of the back-traced images (best.par says
        # "#Image plane optimization", Lenstool's forme -2)
        xs = np.array([p.x for p in best.point_datasets if p.name == source.name])
        ys = np.array([p.y for p in best.point_datasets if p.name == source.name])
        ax, ay = best.deflections(xs, ys, source.redshift)
        weight = np.abs(best.magnification(xs, ys, source.redshift))
        assert source.x == pytest.approx(np.sum(weight * (xs - ax)) / weight.sum(), abs=1e-9)
        assert source.y == pytest.approx(np.sum(weight * (ys - ay)) / weight.sum(), abs=1e-9)
    assert best.reference == (3.586259, -30.400174)
    assert best.dataset.cosmology.H0 == 70.0 and best.dataset.cosmology.Om0 == 0.3
    assert (best.dataset.fit.likelihood, best.dataset.fit.forme) == ("lenstool", -2)


def test_result_file_header_is_kept():
    header = par_records(BEST).header  # no image block, no catalogue: the lens alone
    assert header["Chi2pos"] == "150.084066" and header["Chi2tot(dof=87)"] == "150.0841"
    assert "Thu Jan 12 21" not in header  # the date line is not a key: value comment


def test_best_par_without_positional_error_is_refused():
    with pytest.raises(LenstoolError, match="sigposArcsec"):
        read_par(BEST, images=IMAGES)


@pytest.fixture(scope="module")
def spec():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = read_par(SPEC)
    return model, [str(w.message) for w in caught if issubclass(w.category, LenstoolWarning)]


def test_slspec_potentials(spec):
    model, _ = spec
    assert [r.galaxy for r in model.host_halo] == ["O1", "O2"]
    assert [r.galaxy for r in model.main_galaxies] == ["O4", "O5", "O6", "O7"]
    o1, o2 = model.host_halo
    assert o1.r_core == pytest.approx(95.735 / KPC_PER_ARCSEC, rel=IMPORT_REL)
    assert o1.r_cut == pytest.approx(1000.0 / KPC_PER_ARCSEC, rel=IMPORT_REL)
    assert (o1.sigma, o1.angle, o1.q) == (618.283, 86.855, pytest.approx(q_of(0.882), rel=IMPORT_REL))
    o5 = model.main_galaxies[1]
    assert (o5.r_core, o5.r_cut) == (0.074, 6.277)  # arcsec and kpc agree to 1%: the arcsec value is kept
    assert model.point_datasets and len(model.source_points) == 29


def test_slspec_priors(spec):
    model, messages = spec
    priors = {(p.family, p.galaxy, p.parameter): p for p in model.priors}
    assert len(model.priors) == 21
    assert (priors["host_halo", "O1", "x"].prior, priors["host_halo", "O1", "x"].mean,
            priors["host_halo", "O1", "x"].sigma) == ("normal", -1.588, 0.906)
    assert (priors["host_halo", "O1", "sigma"].lower, priors["host_halo", "O1", "sigma"].upper) == (600.0, 725.0)
    r_core = priors["host_halo", "O1", "r_core"]
    assert (r_core.mean, r_core.sigma) == (pytest.approx(93.702 / KPC_PER_ARCSEC),
                                           pytest.approx(7.677 / KPC_PER_ARCSEC))
    q = priors["host_halo", "O2", "q"]
    assert (q.prior, q.lower, q.upper) == ("uniform", pytest.approx(q_of(0.55)), pytest.approx(q_of(0.25)))
    assert priors["main_lens_mass", "O7", "r_cut"].upper == pytest.approx(150.0 / KPC_PER_ARCSEC)
    assert priors["main_lens_mass", "O4", "sigma"].prior == "normal"
    assert ("host_halo", "O1", "angle") in priors and ("main_lens_mass", "O7", "sigma") in priors
    cut = priors["scaling_relations", "new_potfile_with_ASTRODEEP_data", "r_cut_ref"]
    assert (cut.mean, cut.sigma) == (pytest.approx(12.716939 / KPC_PER_ARCSEC),
                                     pytest.approx(0.924764 / KPC_PER_ARCSEC))
    for tier in ("potfile_cl_N-NW-S3", "potfile_cl_S1-S2-S4"):
        p = priors["scaling_relations", tier, "sigma_ref"]
        assert (p.prior, p.lower, p.upper) == ("uniform", 10.0, 300.0)
    # the two ellipticity priors become q priors, announced with their lines, and the two group-scale
    # 'corekpc 150.0' / 'corekpc 400.0' are read as Lenstool reads them (flag 150, value .0); nothing else warns
    assert len(messages) == 4 and "line 46" in messages[0] and "line 65" in messages[1]
    assert "line 139" in messages[2] and "'corekpc 150.0'" in messages[2] and "flag 150, value 0.0" in messages[2]
    assert "line 165" in messages[3] and "'corekpc 400.0'" in messages[3]
    assert not any(p.parameter == "r_core_ref" for p in model.priors)


def test_slspec_potfile_tiers_and_members(spec):
    model, _ = spec
    tiers = {t.name: t for t in model.tiers}
    assert list(tiers) == ["potfile_cl_N-NW-S3", "new_potfile_with_ASTRODEEP_data", "potfile_cl_S1-S2-S4"]
    deep = tiers["new_potfile_with_ASTRODEEP_data"].relation
    assert (deep.mag_ref, deep.sigma_ref) == (19.44, 120.0)
    assert deep.r_core_ref == pytest.approx(0.15 / KPC_PER_ARCSEC, rel=1e-12)
    assert deep.r_cut_ref == pytest.approx(12.716939 / KPC_PER_ARCSEC, rel=1e-12)
    assert (deep.sigma_slope, deep.r_core_slope, deep.r_cut_slope) == (0.25, 0.5, 0.5)
    groups = tiers["potfile_cl_S1-S2-S4"].relation
    assert groups.r_core_ref == 0.0 and groups.mag_ref == 27.0  # 'corekpc 400.0': flag 400, value .0
    assert tiers["potfile_cl_N-NW-S3"].relation.r_core_ref == 0.0
    for name, tier in tiers.items():
        lines = [line.split() for line in (DATA / f"{name}.txt").read_text().splitlines()
                 if line.strip() and not line.startswith("#")]
        assert len(tier.members) == len(lines) > 0
        for member, words in zip(tier.members, lines, strict=True):
            a, b = float(words[3]), float(words[4])
            assert member.galaxy == words[0] and member.tier == name
            assert (member.x, member.y, member.mag) == (float(words[1]), float(words[2]), float(words[6]))
            assert member.q == pytest.approx(b / a, rel=IMPORT_REL)
            assert member.angle == float(words[5]) and member.redshift == Z_LENS
    assert [len(t.members) for t in model.tiers] == [3, 246, 3]


def test_import_lenstool_writes_a_model_folder(tmp_path):
    folder = quiet(import_lenstool, SPEC, None, tmp_path / "a2744")
    model = load_model(folder)
    assert len(model.priors) == 21 and len(model.rows("scaling_galaxies")) == 252
    assert (folder / "dataset.toml").read_text().count("H0 = 70.0") == 1


# ----------------------------------------------------------------------------------- untidy synthetic files
HEADER = """#Chi2pos: 1.0
#4.1 z:2.170 dlsds:0.812
runmode
\treference 3 10.0 -20.0
\tend
cosmologie
\tH0 70.0
\tomegaM 0.3
\tomegaX 0.7
\tend
"""


def dpie_block(name, x=0.0, extra=""):
    return (f"potentiel {name}\n\tprofil 81\n\tx_centre {x}\n\ty_centre 1.0\n\tellipticite 0.2\n\tangle_pos 10.0\n"
            f"\tcore_radius 0.1\n\tcut_radius 20.0\n\tv_disp 200.0\n{extra}\tz_lens 0.3\n\tend\n")


def write(tmp_path, text, name="model.par"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_repeated_names_are_renamed_with_a_warning_and_never_dropped(tmp_path):
    blocks = "".join(dpie_block(n, x=i) for i, n in enumerate(["A", "B", "A", "C", "B", "A", "D", "C"]))
    skipped = ("grille\n\tnombre 128\n\tend\ncline\n\tnplan 0\n\tend\nchamp\n\txmin -60\n\tend\n"
               "source\n\tz_source 1\n\tend\n")
    path = write(tmp_path, HEADER + skipped + blocks + "fini\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = read_par(path)
    messages = [str(w.message) for w in caught]
    assert all(issubclass(w.category, LenstoolWarning) for w in caught)
    assert len(messages) == 4  # four repeats; the skipped blocks say nothing
    names = [r.galaxy for r in model.main_galaxies]
    assert names == ["A", "B", "A_2", "C", "B_2", "A_3", "D", "C_2"]
    assert [r.x for r in model.main_galaxies] == [float(i) for i in range(8)]
    lines = [m.start() for m in re.finditer(r"^potentiel A", path.read_text(), flags=re.M)]
    first_a, third_a = (path.read_text().count("\n", 0, pos) + 1 for pos in (lines[0], lines[2]))
    assert any(f"line {third_a}" in m and f"line {first_a}" in m and "'A_3'" in m for m in messages)


def test_unknown_keyword_warns_with_its_line(tmp_path):
    path = write(tmp_path, HEADER + dpie_block("A", extra="\tfrobnicate 3.0\n") + "fini\n")
    with pytest.warns(LenstoolWarning, match=r"line 20: unknown keyword 'frobnicate'"):
        model = read_par(path)
    assert model.main_galaxies[0].sigma == 200.0


def test_unsupported_profile_is_an_error_naming_block_and_line(tmp_path):
    text = HEADER + dpie_block("A").replace("profil 81", "profil 13").replace("potentiel A", "potentiel Sersic1")
    with pytest.raises(LenstoolError, match=r"model.par:12: potentiel Sersic1 has profil 13"):
        par_records(write(tmp_path, text + "fini\n"))


@pytest.mark.parametrize("text, match", [
    (HEADER + "potentiel A\n\tprofil 81\n", r":13: 'fini' inside the 'potentiel' block opened at line 11"),
    (HEADER + dpie_block("A") + "limit A\n\tv_disp 2 100 300 0\n\tend\n", r"prior flag 2: expected 0 \(fixed\), 1"),
    (HEADER + dpie_block("A") + "limit A\n\tv_disp 1 100 300 0\n\tend\nlimit B\n\tv_disp 1 1 3 0\n\tend\n",
     "limit block number 2 has no potentiel"),
    (HEADER.replace("reference 3", "reference 0"), "'reference 0'"),
    (HEADER.replace("\twX", "\twX").replace("\tomegaX 0.7\n", "\tomegaX 0.7\n\twX -0.9\n"), "wX = -0.9"),
    (HEADER + dpie_block("A").replace("\tcut_radius 20.0\n", ""), "needs 'cut_radius'"),
    (HEADER + "potentiel S\n\tprofil 1\n\tv_disp 300.0\n\tz_lens 0.3\n\tend\nlimit S\n\tv_disp 1 -100 400 0\n\tend\n",
     r":17: v_disp prior \(-100.0, 400.0\) reaches a negative velocity dispersion"),
])
def test_malformed_files_raise_clear_errors(tmp_path, text, match):
    with pytest.raises(LenstoolError, match=match):
        par_records(write(tmp_path, text + "fini\n"))


def test_profiles_sis_nfw_shear_and_pie(tmp_path):
    text = HEADER + (
        "potentiel sis\n\tprofil 1\n\tx_centre 1.0\n\ty_centre 2.0\n\tv_disp 300.0\n\tz_lens 0.3\n\tend\n"
        "potentiel halo\n\tprofil 12\n\tx_centre 0.5\n\ty_centre -0.5\n\tscale_radius_kpc 300.0\n"
        "\tr200_kpc 1800.0\n\tz_lens 0.3\n\tend\n"
        "potentiel halo2\n\tprofil 12\n\tconcentration 5.0\n\tm200 1e15\n\tz_lens 0.3\n\tend\n"
        "potentiel shear\n\tprofil 14\n\tgamma 0.05\n\tangle_pos 30.0\n\tz_lens 0.3\n\tend\n"
        "potentiel pie\n\tprofil 8\n\tellipticite 0.3\n\tangle_pos 20\n\tcore_radius 0.5\n\tv_disp 250\n"
        "\tz_lens 0.3\n\tend\nfini\n")
    model = read_par(write(tmp_path, text))
    rows = {r.galaxy: r for r in (*model.host_halo, *model.main_galaxies)}
    assert rows["sis"].profile == "SIE" and (rows["sis"].q, rows["sis"].r_core) == (1.0, 0.0)
    assert rows["sis"].theta_e == pytest.approx(4 * math.pi * (300.0 / C_KMS) ** 2 * 180 / math.pi * 3600,
                                                rel=IMPORT_REL)
    halo = rows["halo"]
    cosmo = FlatLambdaCDM(H0=70.0, Om0=0.3)
    rho_crit = cosmo.critical_density(0.3).to_value(u.Msun / u.kpc**3)
    assert halo.m200 == pytest.approx(200 * rho_crit * 4 / 3 * math.pi * 1800.0**3, rel=IMPORT_REL)
    assert halo.concentration == pytest.approx(6.0, rel=1e-14) and halo.q is None
    assert (rows["halo2"].m200, rows["halo2"].concentration) == (1e15, 5.0)
    assert [r.galaxy for r in model.host_halo] == ["halo", "halo2"]
    assert (rows["shear"].profile, rows["shear"].gamma, rows["shear"].angle) == ("ExternalShear", 0.05, 30.0)
    # PIEMD kappa = (b0/2)/sqrt(rc^2 + x'^2/(1+e)^2 + y'^2/(1-e)^2), e = (1-q)/(1+q), b0 = 6 pi (sigma/c)^2,
    # must equal the SIE kappa of the imported row everywhere
    from clusterlens.profiles import sie

    pie = rows["pie"]
    rng = np.random.default_rng(7)
    x, y = rng.uniform(-5, 5, 200), rng.uniform(-5, 5, 200)
    q = q_of(0.3)
    eps = (1 - q) / (1 + q)
    t = math.radians(20.0)
    xp, yp = x * math.cos(t) + y * math.sin(t), -x * math.sin(t) + y * math.cos(t)
    b0 = 6 * math.pi * (250.0 / C_KMS) ** 2 * 648000 / math.pi
    kappa_lenstool = 0.5 * b0 / np.sqrt(0.25 + xp**2 / (1 + eps) ** 2 + yp**2 / (1 - eps) ** 2)
    kappa = sie.convergence(x, y, pie.x, pie.y, pie.theta_e, pie.r_core, pie.q, pie.angle)
    assert np.allclose(kappa, kappa_lenstool, rtol=4 * IMPORT_REL)  # theta_e and q each rounded on import


def test_velocity_dispersion_priors_follow_the_profile_they_came_from(tmp_path):
    """A v_disp prior becomes a theta_e prior by the potential's own conversion: 4 pi (sigma/c)^2 for a
    profile-1 SIS, 6 pi (sigma/c)^2 / s with s = (1+q)/(2 sqrt q) for a profile-8 PIEMD (its b0 / s)."""
    text = HEADER + (
        "potentiel sis\n\tprofil 1\n\tv_disp 300.0\n\tz_lens 0.3\n\tend\nlimit sis\n\tv_disp 1 200 400 0\n\tend\n"
        "potentiel pie\n\tprofil 8\n\tellipticite 0.3\n\tcore_radius 0.5\n\tv_disp 250\n\tz_lens 0.3\n\tend\n"
        "limit pie\n\tv_disp 1 200 300 0\n\tend\nfini\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LenstoolWarning)
        model = read_par(write(tmp_path, text))
    priors = {p.galaxy: p for p in model.priors}
    arcsec = 648000 / math.pi
    assert (priors["sis"].lower, priors["sis"].upper) == pytest.approx(
        (4 * math.pi * (200 / C_KMS) ** 2 * arcsec, 4 * math.pi * (400 / C_KMS) ** 2 * arcsec), rel=IMPORT_REL)
    q = q_of(0.3)
    s = (1 + q) / (2 * math.sqrt(q))
    assert (priors["pie"].lower, priors["pie"].upper) == pytest.approx(
        (6 * math.pi * (200 / C_KMS) ** 2 * arcsec / s, 6 * math.pi * (300 / C_KMS) ** 2 * arcsec / s), rel=IMPORT_REL)
    # the row's own theta_e lies inside its prior, by the same conversion
    pie = next(r for r in model.main_galaxies if r.galaxy == "pie")
    assert priors["pie"].lower < pie.theta_e < priors["pie"].upper


def test_wcs_centres_wrap_ra_across_zero(tmp_path):
    """x_centre_wcs at RA 359.9995 with the reference at RA 0.001 is 0.0015 deg to the West (+x), not a turn away;
    a larger RA is East (-x)."""
    header = HEADER.replace("reference 3 10.0 -20.0", "reference 3 0.001 -30.0")

    def wcs_block(name, ra, dec):
        return dpie_block(name).replace("\tx_centre 0.0\n\ty_centre 1.0\n",
                                        f"\tx_centre_wcs {ra}\n\ty_centre_wcs {dec}\n")

    text = header + wcs_block("west", 359.9995, -30.0) + wcs_block("east", 0.0015, -29.999) + "fini\n"
    rows = {r.galaxy: r for r in read_par(write(tmp_path, text)).main_galaxies}
    cos_dec0 = math.cos(math.radians(-30.0))
    assert rows["west"].x == pytest.approx(0.0015 * cos_dec0 * 3600.0, rel=1e-9) and rows["west"].y == 0.0
    assert rows["west"].x == pytest.approx(4.677, abs=1e-3)
    assert rows["east"].x < 0.0 and rows["east"].x == pytest.approx(-0.0005 * cos_dec0 * 3600.0, rel=IMPORT_REL)
    assert rows["east"].y == pytest.approx(3.6, rel=IMPORT_REL)


def test_z_m_limit_redshifts_and_priors(tmp_path):
    catalogue = ("#REFERENCE 0 10.0 -20.0\n"
                 "4.1 10.001 -20.001 0.1 0.1 0 0.0 25\n4.2 10.002 -19.999 0.1 0.1 0 0.0 25\n"
                 "7.1 9.999 -20.002 0.1 0.1 0 3.1 25\n7.2 9.998 -20.000 0.1 0.1 0 3.1 25\n"
                 "8a 10.0005 -20.0 0.1 0.1 0 1.5 25\n8b 10.0 -20.0005 0.1 0.1 0 1.5 25\n")
    write(tmp_path, catalogue, "arcs.cat")
    image = ("image\n\tmultfile 1 arcs.cat\n\tsigposArcsec 0.3\n\tz_m_limit 1 4.1 1 1.0 3.0 0.1\n"
             "\tz_m_limit 1 7.1 0 2.5 0 0\n\tz_m_limit 0 8a 1 5 6 0.1\n\tend\n")
    model = read_par(write(tmp_path, HEADER + image + dpie_block("A") + "fini\n"))
    z = {s.name: s.redshift for s in model.source_points}
    assert (z["7"], z["8"]) == (2.5, 1.5)  # fixed z_m_limit, catalogue (inactive line)
    # free: Lenstool samples D_LS/D_S; the header's dlsds 0.812 (not its printed z 2.170) is the best value
    cosmo = FlatLambdaCDM(H0=70.0, Om0=0.3)
    ratio = cosmo.angular_diameter_distance(0.3, z["4"]) / cosmo.angular_diameter_distance(z["4"])
    assert ratio.to_value(u.dimensionless_unscaled) == pytest.approx(0.812, rel=IMPORT_REL) and z["4"] != 2.17
    (prior,) = model.priors
    assert (prior.family, prior.galaxy, prior.parameter, prior.lower, prior.upper) == \
        ("source_point", "4", "redshift", 1.0, 3.0)
    x = {p.image: (p.x, p.y) for p in model.point_datasets}
    assert x["8a"] == (pytest.approx(-0.0005 * math.cos(math.radians(-20.0)) * 3600), pytest.approx(0.0, abs=1e-9))
    assert {p.sigma for p in model.point_datasets} == {0.3}


def test_catalogue_reference_codes(tmp_path):
    """#REFERENCE 3 with another centre, and 1 (sexagesimal): through absolute RA/Dec to the runmode frame."""
    ra1, dec1 = 10.01, -20.02
    catalogue = (f"#REFERENCE 3 {ra1} {dec1}\n1.1 3.0 4.0 0.1 0.1 0 2.0 25\n1.2 -3.0 -4.0 0.1 0.1 0 2.0 25\n"
                 "#REFERENCE 1 00:40:00.0 -20:00:00.0\n2.1 1.0 1.0 0.1 0.1 0 2.5 25\n2.2 0.0 2.0 0.1 0.1 0 2.5 25\n")
    write(tmp_path, catalogue, "arcs.cat")
    model = read_par(write(tmp_path, HEADER + dpie_block("A") + "fini\n"), images=tmp_path / "arcs.cat",
                     position_sigma=0.2)
    points = {p.image: p for p in model.point_datasets}
    ra = ra1 + 3.0 / (-3600 * math.cos(math.radians(dec1)))
    dec = dec1 + 4.0 / 3600
    assert points["1.1"].x == pytest.approx(-(ra - 10.0) * math.cos(math.radians(-20.0)) * 3600, rel=IMPORT_REL)
    assert points["1.1"].y == pytest.approx((dec + 20.0) * 3600, rel=IMPORT_REL)
    assert (points["2.1"].x, points["2.1"].y) == pytest.approx((1.0, 1.0), rel=IMPORT_REL)


# ----------------------------------------------------------------------------------- elliptical NFW (profile 12)
def enfw_block(name="halo", ellipticity="\tellipticite 0.3\n"):
    return (f"potentiel {name}\n\tprofil 12\n\tx_centre 1.5\n\ty_centre -2.0\n{ellipticity}\tangle_pos 25.0\n"
            "\tconcentration 5.0\n\tm200 1e15\n\tz_lens 0.3\n\tend\n")


def lenstool_nfw_numbers(m200, concentration, z_lens):
    """kappa_s and r_s [arcsec] at D_LS/D_S = 1 of Lenstool's (m200, c), from astropy alone: r200 where the
    mean density is 200 rho_crit, r_s = r200/c, kappa_s = rho_s r_s / (c^2 / (4 pi G D_L))."""
    from astropy import constants

    cosmo = FlatLambdaCDM(H0=70.0, Om0=0.3)
    rho_crit = cosmo.critical_density(z_lens).to_value(u.Msun / u.Mpc**3)
    r200 = (3 * m200 / (4 * math.pi * 200 * rho_crit)) ** (1 / 3)
    r_s = r200 / concentration
    rho_s = 200 / 3 * rho_crit * concentration**3 / (math.log(1 + concentration) - concentration / (1 + concentration))
    d_l = cosmo.angular_diameter_distance(z_lens).to_value(u.Mpc)
    sigma_crit = (constants.c**2 / (4 * math.pi * constants.G * d_l * u.Mpc)).to_value(u.Msun / u.Mpc**2)
    return rho_s * r_s / sigma_crit, r_s / d_l * 648000 / math.pi


def test_elliptical_nfw_imports_as_pseudo_elliptical_nfw_and_lenses_as_lenstool(tmp_path):
    model = read_par(write(tmp_path, HEADER + enfw_block() + dpie_block("gal") + "fini\n"))
    (halo,) = model.host_halo
    assert (halo.profile, halo.x, halo.y, halo.epsilon, halo.angle, halo.m200, halo.concentration) == \
        ("PseudoEllipticalNFW", 1.5, -2.0, 0.3, 25.0, 1e15, 5.0)
    # Lenstool lenses profile 12 with epsilon = ellipticite in the frame of angle_pos (profiles.enfw docstring)
    from clusterlens.profiles import enfw

    kappa_s, r_s = lenstool_nfw_numbers(1e15, 5.0, 0.3)
    rng = np.random.default_rng(11)
    x, y = rng.uniform(-40, 40, 50), rng.uniform(-40, 40, 50)
    only_halo = model.with_rows("main_lens_mass", [])
    z_source = 2.0
    ax, ay = only_halo.deflections(x, y, z_source)
    ratio = only_halo.distance_ratio(z_source)
    ex, ey = enfw.deflection(x, y, 1.5, -2.0, kappa_s, r_s, 0.3, 25.0)
    np.testing.assert_allclose(ax, ratio * ex, rtol=1e-10)
    np.testing.assert_allclose(ay, ratio * ey, rtol=1e-10)
    # and as lenstronomy's NFW_ELLIPSE_POTENTIAL for those numbers (e1 + i e2 = c exp(2i angle), 2c/(1+c^2) = eps)
    lens_model = pytest.importorskip("lenstronomy.LensModel.lens_model")
    c = 0.3 / (1 + math.sqrt(1 - 0.3**2))
    kwargs = {"Rs": r_s, "alpha_Rs": 4 * kappa_s * r_s * (1 - math.log(2)), "e1": c * math.cos(math.radians(50)),
              "e2": c * math.sin(math.radians(50)), "center_x": 1.5, "center_y": -2.0}
    lx, ly = lens_model.LensModel(["NFW_ELLIPSE_POTENTIAL"]).alpha(x, y, [kwargs])
    np.testing.assert_allclose(ax, ratio * lx, rtol=1e-6)
    np.testing.assert_allclose(ay, ratio * ly, rtol=1e-6)


def test_profile_12_ellipticity_picks_the_profile_and_ellip_pot_gives_three_times_it(tmp_path):
    text = HEADER + enfw_block("round", "\tellipticite 0.0\n") + enfw_block("pot", "\tellip_pot 0.1\n") + "fini\n"
    rows = {r.galaxy: r for r in read_par(write(tmp_path, text)).host_halo}
    assert rows["round"].profile == "NFW" and rows["round"].q is None
    assert rows["pot"].profile == "PseudoEllipticalNFW" and rows["pot"].epsilon == pytest.approx(0.3, rel=1e-15)
    with pytest.raises(LenstoolError, match=r"model.par:15: potentiel bad: ellipticite 1.2 out of range"):
        par_records(write(tmp_path, HEADER + enfw_block("bad", "\tellipticite 1.2\n") + "fini\n"))


def test_limit_on_an_elliptical_nfw_ellipticite_is_a_prior_on_epsilon(tmp_path):
    limit = "limit halo\n\tellipticite 1 0.1 0.5 0.0\n\tangle_pos 3 25.0 5.0 0.0\n\tm200 1 5e14 2e15 0.0\n\tend\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error", LenstoolWarning)  # epsilon is the Lenstool number itself: no conversion
        model = read_par(write(tmp_path, HEADER + enfw_block() + limit + "fini\n"))
    priors = {p.parameter: p for p in model.priors}
    assert set(priors) == {"epsilon", "angle", "m200"} and {p.family for p in model.priors} == {"host_halo"}
    assert (priors["epsilon"].prior, priors["epsilon"].lower, priors["epsilon"].upper) == ("uniform", 0.1, 0.5)
    assert (priors["angle"].mean, priors["angle"].sigma) == (25.0, 5.0)
    bad = limit.replace("0.1 0.5", "0.1 1.5")
    with pytest.raises(LenstoolError, match="reaches epsilon >= 1"):
        par_records(write(tmp_path, HEADER + enfw_block() + bad + "fini\n"))


# ------------------------------------------------------------------- Lenstool parity: keywords and meanings
def cosmology_par(tmp_path, lines):
    text = HEADER.split("cosmologie")[0] + "cosmologie\n" + "".join(f"\t{line}\n" for line in lines) + "\tend\n"
    return write(tmp_path, text + dpie_block("A") + "fini\n")


@pytest.mark.parametrize("lines, expected, warns", [
    (["H0 70.0", "omega 0.3", "lambda 0.7"], {"H0": 70.0, "Om0": 0.3}, 0),            # the older keywords
    (["H0 70.0", "omegaM 0.3", "omegaX 0.6"], {"H0": 70.0, "Om0": 0.3, "Ode0": 0.6}, 0),
    (["H0 70.0", "omegaM 0.3", "omegaX 0.6", "omegaK 0."], {"H0": 70.0, "Om0": 0.3}, 0),  # omegaK 0: flat
    (["H0 70.0", "omegaM 0.3", "wX -1", "w0 -1.0", "wa 0", "n 0"], {"H0": 70.0, "Om0": 0.3, "Ode0": 0.0}, 1),
    (["omegaM 0.3", "omegaK 0"], {"H0": 50.0, "Om0": 0.3}, 1),                          # Lenstool's default H0
])
def test_cosmologie_keywords_and_defaults_as_lenstool(tmp_path, lines, expected, warns):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = par_records(cosmology_par(tmp_path, lines)).dataset["cosmology"]
    assert spec == expected
    assert len([w for w in caught if "cosmologie" in str(w.message)]) == warns


@pytest.mark.parametrize("line", ["wX -0.9", "q -0.8", "w1 0.1", "delta 0.2"])
def test_cosmologie_dark_energy_is_refused(tmp_path, line):
    with pytest.raises(LenstoolError, match="dark energy"):
        par_records(cosmology_par(tmp_path, ["H0 70", "omegaM 0.3", "omegaX 0.7", line]))


@pytest.mark.parametrize("text, expected", [
    ("150.0", (150, 0.0, None)),          # C's %d stops at the point: flag 150, then %lf reads ".0"
    ("0.150000", (0, 0.15, None)),
    ("3 158. 27.  250.", (3, 158.0, 27.0)),
    ("1 10.0 300.0", (1, 10.0, 300.0)),
    ("0 4.000000", (0, 4.0, None)),
    ("-1 2e1 .5x", (-1, 20.0, 0.5)),
])
def test_potfile_values_are_scanned_as_c_scanf_reads_flag_value1_value2(text, expected):
    from clusterlens.lenstool.parfile import Entry
    from clusterlens.lenstool.potfiles import scan_flag_values

    assert scan_flag_values(Entry("corekpc", tuple(text.split()), 3), "p") == expected


def potfile_model(tmp_path, lines, members="m1 3.0 4.0 1.0 0.8 10.0 19.0 0\nm2 -3.0 1.0 1.0 1.0 0.0 20.0 0\n"):
    write(tmp_path, "#REFERENCE 3 10.0 -20.0\n" + members, "members.cat")
    block = ("potfile\n\tfilein 1 members.cat\n\tzlens 0.3\n\ttype 81\n\tmag0 19.0\n\tsigma 0 150.0\n"
             "\tcutkpc 0 40.0\n" + "".join(f"\t{line}\n" for line in lines) + "\tend\n")
    return write(tmp_path, HEADER + dpie_block("A") + block + "fini\n")


def test_potfile_core_and_corekpc_with_lenstools_meaning(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        flagged = read_par(potfile_model(tmp_path, ["corekpc 150.0"]))      # flag 150, value .0
        kpc = read_par(potfile_model(tmp_path, ["corekpc 0 2.0"]))           # flag 0, 2 kpc
        both = read_par(potfile_model(tmp_path, ["core 0.5", "corekpc 0 2.0"]))  # 'core' wins, value .5
        free = read_par(potfile_model(tmp_path, ["core 1 0.1 0.5"]))
        normal = read_par(potfile_model(tmp_path, ["corekpc 3 1.0 0.2"]))
    messages = [str(w.message) for w in caught]
    assert flagged.tiers[0].relation.r_core_ref == 0.0
    assert sum("flag 150, value 0.0" in m for m in messages) == 1
    assert kpc.tiers[0].relation.r_core_ref == pytest.approx(2.0 / KPC_PER_ARCSEC_03, rel=IMPORT_REL)
    assert both.tiers[0].relation.r_core_ref == 0.5 and any("'core' is used" in m for m in messages)
    (prior,) = free.priors
    assert (prior.parameter, prior.prior, prior.lower, prior.upper) == ("r_core_ref", "uniform", 0.1, 0.5)
    assert free.tiers[0].relation.r_core_ref == 0.1  # Lenstool starts a free parameter at value1
    (prior,) = normal.priors
    assert (prior.prior, prior.mean, prior.sigma) == ("normal", pytest.approx(1.0 / KPC_PER_ARCSEC_03),
                                                      pytest.approx(0.2 / KPC_PER_ARCSEC_03))


def test_potfile_defaults_and_missing_values(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = read_par(potfile_model(tmp_path, ["core 0 0.1"]))            # no slope, vdslope: 4 and 4
    relation = model.tiers[0].relation
    assert (relation.sigma_slope, relation.r_cut_slope, relation.r_core_slope) == (0.25, 0.5, 0.5)
    assert sum("Lenstool's default 4.0" in str(w.message) for w in caught) == 2
    with pytest.raises(LenstoolError, match="needs 'core' or 'corekpc' with a value"):
        read_par(potfile_model(tmp_path, ["corekpc 2"]))                    # flag 2 and no value
    with pytest.raises(LenstoolError, match="flag 1 needs two values"):
        read_par(potfile_model(tmp_path, ["core 1 0.1"]))


def test_repeated_member_ids_keep_every_row_with_unique_names_and_one_warning(tmp_path):
    members = ("m1 3.0 4.0 1.0 0.8 10.0 19.0 0\nm1 -3.0 1.0 1.0 1.0 0.0 20.0 0\nA 1.0 1.0 1.0 1.0 0.0 21.0 0\n"
               "m1 2.0 2.0 1.0 1.0 0.0 21.5 0\nm1_2 5.0 5.0 1.0 1.0 0.0 22.0 0\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = read_par(potfile_model(tmp_path, ["core 0 0.1"], members))
    names = [m.galaxy for m in model.tiers[0].members]
    assert names == ["m1", "m1_2", "A_2", "m1_3", "m1_2_2"]  # A is the potentiel's name
    assert [m.mag for m in model.tiers[0].members] == [19.0, 20.0, 21.0, 21.5, 22.0]
    messages = [str(w.message) for w in caught if "repeat a lens name" in str(w.message)]
    assert len(messages) == 1 and "4 member id(s)" in messages[0] and "m1 (members.cat:3) -> m1_2" in messages[0]


KPC_PER_ARCSEC_03 = FlatLambdaCDM(H0=70.0, Om0=0.3).angular_diameter_distance(0.3).to_value(u.kpc) * math.pi / 648000


def sis_images(theta_e_scaled, beta):
    """The two images of a singular isothermal sphere at the origin for a source at beta (arcsec)."""
    unit = np.asarray(beta) / np.hypot(*beta)
    return unit * (np.hypot(*beta) + theta_e_scaled), -unit * (theta_e_scaled - np.hypot(*beta))


@pytest.mark.parametrize("forme", [-2, -1, 0])
def test_sources_are_source_plane_positions_and_forme_goes_to_fit(tmp_path, forme):
    """SIS (profile 1: theta_e = 4 pi (sigma/c)^2): the exact images of a source back-trace to it."""
    from clusterlens.units import sky_positions

    theta_e = 4.0 * math.pi * (300.0 / C_KMS) ** 2 * 206264.80624709636
    cosmo = FlatLambdaCDM(H0=70.0, Om0=0.3)
    scale = (cosmo.angular_diameter_distance(0.3, 2.0) / cosmo.angular_diameter_distance(2.0)).value
    beta = (0.4, -0.25)
    lines = ["#REFERENCE 0 10.0 -20.0"]
    for k, (x, y) in enumerate(sis_images(theta_e * scale, beta)):
        ra, dec = sky_positions(np.array([x]), np.array([y]), 10.0, -20.0)
        lines.append(f"1.{k + 1} {float(ra[0])!r} {float(dec[0])!r} 0.1 0.1 0 2.0 25")
    write(tmp_path, "\n".join(lines) + "\n", "arcs.cat")
    sis = "potentiel sis\n\tprofil 1\n\tv_disp 300.0\n\tz_lens 0.3\n\tend\n"
    image = f"image\n\tmultfile 1 arcs.cat\n\tforme {forme}\n\tsigpos 0.09\n\tend\n"
    model = read_par(write(tmp_path, HEADER + image + sis + "fini\n"))
    (source,) = model.source_points
    assert (source.x, source.y) == (pytest.approx(beta[0], abs=1e-9), pytest.approx(beta[1], abs=1e-9))
    assert (model.dataset.fit.likelihood, model.dataset.fit.forme) == ("lenstool", forme)
    assert [p.sigma for p in model.point_datasets] == [pytest.approx(0.3, rel=1e-15)] * 2  # sigpos: a variance


def test_values_from_a_result_file_follow_lenstools_clump_names(tmp_path):
    """Lenstool names the k-th clump O{k+1} in its result, whatever the optimisation file's label."""
    opt = (HEADER + dpie_block("cluster", x=1.0) + "limit cluster\n\tv_disp 1 100.0 400.0 0.1\n\tend\n"
           + dpie_block("bcg", x=2.0) + "fini\n")
    second = dpie_block("O2", x=-5.0).replace("v_disp 200.0", "v_disp 250.0")
    first = dpie_block("O1", x=-4.0).replace("v_disp 200.0", "v_disp 321.0")
    result = "#Chi2pos: 3.0\n" + HEADER.split("runmode")[1].join(["runmode", ""]) + second + first + "fini\n"
    model = quiet(read_par, write(tmp_path, opt), values=write(tmp_path, result, "best.par"))
    rows = {r.galaxy: r for r in model.main_galaxies}
    assert (rows["cluster"].x, rows["cluster"].sigma) == (-4.0, 321.0)
    assert (rows["bcg"].x, rows["bcg"].sigma) == (-5.0, 250.0)
    (prior,) = model.priors
    assert (prior.galaxy, prior.parameter, prior.lower, prior.upper) == ("cluster", "sigma", 100.0, 400.0)
    other = write(tmp_path, result.replace("profil 81", "profil 1").replace("ellipticite 0.2", "ellipticite 0"),
                  "other.par")
    with pytest.raises(LenstoolError, match="is a SIE, but potentiel cluster of the optimisation file"):
        quiet(read_par, write(tmp_path, opt), values=other)
