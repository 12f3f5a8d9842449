"""Population draws: each distribution kind and generator against its law (KS at fixed seeds), seeds that
make realisation i alone, and population.csv errors located by file, line and column."""
import numpy as np
import pytest
from scipy import integrate, stats

from clusterlens.errors import ModelError
from clusterlens.population import draw_records, load_population, sample
from clusterlens.population import generators as gen
from clusterlens.population.distributions import Distribution, draw
from population_models import make_tiny_population

KS_P = 1e-3


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_population(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def labels(tiny):
    return sample(tiny, n=300)


def test_sampled_labels_follow_each_distribution_kind(labels):
    law = {"host_halo.halo.m200": stats.loguniform(4e14, 2e15),
           "main_lens_mass.BCG.sigma": stats.truncnorm((200 - 300) / 80, (400 - 300) / 80, loc=300, scale=80),
           "main_lens_mass.BCG.x": stats.norm(0, 0.3),
           "scaling_relations.members.sigma_ref": stats.uniform(100, 100)}
    for column, distribution in law.items():
        assert stats.kstest(labels[column], distribution.cdf).pvalue > KS_P, column
    choices = labels["source_light.pop_src1.sersic_index"].value_counts()
    assert set(choices.index) == {1.0, 1.5, 4.0}
    assert stats.chisquare(choices.to_numpy()).pvalue > KS_P


def test_truncnormal_far_in_a_tail_stays_inside_its_bounds():
    row = Distribution(family="f", galaxy="g", parameter="p", distribution="truncnormal", lower=5.0, upper=6.0,
                       mean=0.0, sigma=1.0)
    values = draw(row, np.random.default_rng(1), 2000)
    assert values.min() >= 5.0 and values.max() <= 6.0
    law = stats.truncnorm(5.0, 6.0)
    assert stats.kstest(values, law.cdf).pvalue > KS_P


def test_schechter_magnitudes_follow_the_luminosity_function():
    # alpha = 0: dN/dL ~ exp(-L), so L = 10^(0.4 (m* - m)) is a truncated exponential (closed-form CDF)
    mags = gen.schechter_magnitudes(np.random.default_rng(2), 3000, 20.0, 0.0, 18.0, 23.0)
    lum = 10 ** (0.4 * (20.0 - mags))
    lo, hi = 10 ** (0.4 * (20.0 - 23.0)), 10 ** (0.4 * (20.0 - 18.0))
    cdf = lambda x: (np.exp(-lo) - np.exp(-np.asarray(x))) / (np.exp(-lo) - np.exp(-hi))  # noqa: E731
    assert stats.kstest(lum, cdf).pvalue > KS_P
    assert np.all(np.diff(mags) >= 0)


def test_member_radii_follow_the_cored_isothermal_profile():
    radius = gen.cored_isothermal_radii(np.random.default_rng(3), 3000, 10.0, 60.0)
    # N(<R) ~ integral of 2 pi R Sigma(R) dR with Sigma ~ (R^2 + rc^2)^-1/2, integrated numerically
    total = integrate.quad(lambda r: r / np.hypot(r, 10.0), 0, 60.0)[0]
    cdf = np.vectorize(lambda x: integrate.quad(lambda r: r / np.hypot(r, 10.0), 0, x)[0] / total)
    assert stats.kstest(radius, cdf).pvalue > KS_P


def test_source_redshifts_follow_the_smail_distribution():
    z = gen.smail_redshifts(np.random.default_rng(4), 3000, 0.8, 1.0, 5.0)
    density = lambda x: x**2 * np.exp(-((x / 0.8) ** 1.5))  # noqa: E731
    total = integrate.quad(density, 1.0, 5.0)[0]
    cdf = np.vectorize(lambda x: integrate.quad(density, 1.0, x)[0] / total)
    assert z.min() >= 1.0 and z.max() <= 5.0
    assert stats.kstest(z, cdf).pvalue > KS_P


def test_member_counts_are_poisson_and_sources_lie_behind_the_lens(labels):
    assert abs(labels["n_members"].mean() - 8.0) < 4 * np.sqrt(8.0 / 300)
    assert labels["source_light.pop_src1.redshift"].min() >= 1.0


def test_realisation_i_is_drawn_the_same_alone_or_among_others(tiny):
    population = load_population(tiny)
    alone = draw_records(population, 5)
    assert sample(population, n=6).iloc[5].to_dict() == {"realisation": 5, **alone[1]}
    assert draw_records(population, 5) == alone
    assert draw_records(population, 4)[1] != alone[1]


def test_a_drawn_source_position_moves_its_light_and_its_point_together(tiny):
    population = load_population(tiny)
    records, labels = draw_records(population, 0)
    light, point = records["source_light"][0], records["source_point"][0]
    assert (light["x"], light["y"], light["redshift"]) == (point["x"], point["y"], point["redshift"])
    assert records["main_lens_light"][0]["x"] == records["main_lens_mass"][0]["x"] == labels["main_lens_mass.BCG.x"]


def test_population_csv_problems_name_file_line_and_column(tmp_path):
    bad = ("family,galaxy,parameter,distribution,lower,upper,mean,sigma,values\n"
           "host_halo,halo,m200,loguniform,-1,2e15,,,\n"
           "host_halo,nobody,m200,uniform,1,2,,,\n"
           "host_halo,halo,profile,uniform,1,2,,,\n"
           "main_lens_mass,BCG,redshift,uniform,0.2,0.4,,,\n"
           "source_light,*,q,choice,,,,,0.5;x\n")
    folder = make_tiny_population(tmp_path / "model", csv=bad)
    with pytest.raises(ModelError) as err:
        load_population(folder)
    assert [(p.line, p.column) for p in err.value.problems] == [(2, "lower"), (6, "values")]
    (folder / "population.csv").write_text(bad.replace("loguniform,-1", "loguniform,1").replace("0.5;x", "0.5;1"))
    with pytest.raises(ModelError) as err:
        load_population(folder)
    assert [(p.line, p.column) for p in err.value.problems] == [(3, "galaxy"), (4, "parameter"), (5, "parameter")]
    assert all(p.file.endswith("population.csv") for p in err.value.problems)
