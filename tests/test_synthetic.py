"""The synthetic ground-truth dataset: determinism, factor ranges, the theorem's assumptions, rendering."""

import numpy as np
import pytest

from dss_jax.datasets import synthetic


@pytest.fixture(scope='module')
def train():
  return synthetic.load_split(n_style=2, split='train')


def test_api_constants():
  assert synthetic.CONTENT_NAMES == ('shape', 'x', 'y', 'size', 'rotation')
  assert synthetic.STYLE_NAMES[:2] == ('hue', 'background')
  assert [synthetic.num_domains(n) for n in (1, 2, 3)] == [3, 5, 7]
  assert synthetic.domain_names(2, 'species') == list(synthetic.SHAPES)
  assert len(set(synthetic.domain_names(3, 'species'))) == 7
  with pytest.raises(ValueError, match='n_style must be 1, 2 or 3'):
    synthetic.num_domains(4)


def test_load_split_shapes_and_ranges(train):
  k = synthetic.num_domains(2)
  assert train['image'].shape == (k * 2000, 32, 32, 3) and train['image'].dtype == np.float32
  assert train['label'].dtype == np.int32 and np.array_equal(np.bincount(train['label']), [2000] * k)
  assert train['content'].shape == (k * 2000, 5) and train['style'].shape == (k * 2000, 2)
  assert -1.0 <= train['image'].min() and train['image'].max() <= 1.0
  shape, x, y, size, rot = train['content'].T
  assert np.array_equal(shape, shape.round()) and set(np.unique(shape)) == {0, 1, 2, 3, 4}
  for v, (lo, hi) in ((x, synthetic.POSITION_RANGE), (y, synthetic.POSITION_RANGE), (size, synthetic.SIZE_RANGE),
                      (rot, (0, 1))):
    assert lo <= v.min() and v.max() <= hi and v.max() - v.min() > 0.9 * (hi - lo)
  assert 0 < train['style'].min() and train['style'].max() < 1
  with pytest.raises(ValueError):  # cached arrays are read-only
    train['image'][0, 0, 0, 0] = 0.0


def test_content_distribution_shared_across_domains(train):
  # style_domains: every shape in every domain with the same frequency (within sampling noise).
  counts = np.stack([np.bincount(train['content'][train['label'] == d, 0].astype(int), minlength=5) for d in range(5)])
  assert np.all(np.abs(counts / 2000 - 0.2) < 0.05)


def test_determinism_and_split_independence():
  a = synthetic._load_split_cached.__wrapped__(2, 'style_domains', 'test', 20, 32, 0)
  b = synthetic.load_split(2, split='test', per_domain=20)
  assert a is not b and all(np.array_equal(a[key], b[key]) for key in a)
  other_seed = synthetic.load_split(2, split='test', per_domain=20, seed=1)
  train = synthetic.load_split(2, split='train', per_domain=20)
  assert not np.allclose(a['style'], other_seed['style']) and not np.allclose(a['style'], train['style'])


def test_species_variant_shape_is_the_domain():
  sp = synthetic.load_split(2, 'species', 'test', per_domain=30)
  sd = synthetic.load_split(2, 'style_domains', 'test', per_domain=30)
  assert np.array_equal(sp['content'][:, 0], sp['label'] % 5)
  # Same random numbers: positions, sizes, rotations and styles agree between the variants.
  assert np.array_equal(sp['content'][:, 1:], sd['content'][:, 1:]) and np.array_equal(sp['style'], sd['style'])


def test_style_matches_its_distribution_and_domains_differ(train):
  loc, scale = synthetic.style_distribution(2)
  assert loc.shape == scale.shape == (5, 2)
  for i in range(2):  # location and scale both differ between domains
    assert len(np.unique(loc[:, i])) == 5 and len(np.unique(scale[:, i])) == 5
  for d in range(5):
    s = train['style'][train['label'] == d].astype(np.float64)
    t = np.log(s / (1 - s))
    assert np.all(np.abs(t.mean(0) - loc[d]) < 5 * scale[d] / np.sqrt(len(t)))  # 5 standard errors
    np.testing.assert_allclose(t.std(0), scale[d], rtol=0.08)


def test_style_components_conditionally_independent(train):
  # Independent given the domain: the within-domain correlation is sampling noise (~1/sqrt(1500) = 0.026).
  for n_style, data in ((2, train), (3, synthetic.load_split(3, split='train', per_domain=1500))):
    for d in range(synthetic.num_domains(n_style)):
      corr = np.corrcoef(data['style'][data['label'] == d].T)
      off = corr[~np.eye(n_style, dtype=bool)]
      assert np.abs(off).max() < 0.1, (n_style, d, corr)


def test_style_log_prob_is_a_normalised_density():
  grid = np.linspace(1e-5, 1 - 1e-5, 200_001)
  for d in range(5):
    p = np.exp(synthetic.style_log_prob(np.stack([grid, grid], 1), np.full(grid.size, d), 2, per_component=True))
    np.testing.assert_allclose(np.trapezoid(p, grid, axis=0), [1, 1], atol=1e-3)


def _w(s, u, n_style, h=1e-4):
  """w(s, u) of the theorem: first and second derivatives of log p(s_i | u) w.r.t. s_i, stacked ([2n])."""
  lp = lambda x: synthetic.style_log_prob(x[None], [u], n_style, per_component=True)[0]
  f0, fp, fm = lp(s), lp(s + h), lp(s - h)  # component-wise density: one shift of every s_i at once
  return np.concatenate([(fp - fm) / (2 * h), (fp - 2 * f0 + fm) / h**2])


@pytest.mark.parametrize('n_style', [1, 2, 3])
def test_identifiability_condition(n_style):
  """The 2n vectors w(s, u_j) - w(s, u_0), j = 1..2n, are linearly independent (at many s)."""
  k = synthetic.num_domains(n_style)
  rng = np.random.default_rng(0)
  for s in rng.uniform(0.05, 0.95, (50, n_style)):
    w0 = _w(s, 0, n_style)
    m = np.stack([_w(s, u, n_style) - w0 for u in range(1, k)])  # [2n, 2n]
    sv = np.linalg.svd(m, compute_uv=False)
    assert sv.min() > 1e-6 * sv.max() and sv.min() > 1.0, (s, sv)  # full rank, far from numerical noise
  # The same check fails for domains that differ only in location (sanity check of the test itself).
  loc, _ = synthetic.style_distribution(n_style)
  s = np.full(n_style, 0.3)
  dw = lambda u: np.concatenate([-(np.log(s / (1 - s)) - loc[u]) / (s * (1 - s)), np.zeros(n_style)])
  assert np.linalg.svd(np.stack([dw(u) - dw(0) for u in range(1, k)]), compute_uv=False).min() < 1e-9


def test_render_reproduces_stored_images_exactly(train):
  idx = np.array([0, 7, 1999, 2000, 5555, 9999])
  again = synthetic.render(train['content'][idx], train['style'][idx], 32)
  assert np.array_equal(again, train['image'][idx])


def test_render_masks_antialiasing_and_smoothness():
  content = np.array([[s, 0.5, 0.5, 0.15, 0.1] for s in range(5)], np.float32)
  style = np.full((5, 3), 0.5, np.float32)
  images, masks = synthetic.render(content, style, 32, return_mask=True)
  assert images.shape == (5, 32, 32, 3) and masks.shape == (5, 32, 32)
  assert 0 <= masks.min() and masks.max() <= 1
  for m in masks:  # every shape has a full interior and soft (partial-coverage) edge pixels
    assert (m == 1).sum() > 10 and ((m > 0.05) & (m < 0.95)).sum() > 8
  # A small change of any continuous factor is a small change of the image (no hard pixel steps).
  for j, delta in ((1, 0.01), (2, 0.01), (3, 0.003), (4, 0.01)):
    moved = content.copy()
    moved[:, j] += delta
    assert np.abs(synthetic.render(moved, style, 32) - images).max() < 0.5, synthetic.CONTENT_NAMES[j]
  for j in range(3):
    restyled = style.copy()
    restyled[:, j] += 0.01
    assert 0 < np.abs(synthetic.render(content, restyled, 32) - images).max() < 0.1, synthetic.STYLE_NAMES[j]


def test_shape_coverage_matches_its_geometry():
  """The anti-aliased coverage of each shape sums to its area (a wrong signed distance gives another area),
  is the same at every rotation, and the ellipse (RENDER_VERSION 3) is elongated along its rotated axis."""
  r = 0.25 * 64  # radius in pixels at 64 px
  areas = {'circle': np.pi * r ** 2, 'square': (1.7 * r) ** 2, 'triangle': np.sqrt(3) / 4 * (2.1 * r) ** 2,
           'ellipse': np.pi * 1.1 * r * 0.55 * r, 'ring': np.pi * ((r) ** 2 - (0.36 * r) ** 2)}
  for s, name in enumerate(synthetic.SHAPES):
    content = np.array([[s, 0.5, 0.5, 0.25, rot] for rot in (0.0, 0.3, 0.7)], np.float32)
    _, masks = synthetic.render(content, np.full((3, 2), 0.5, np.float32), 64, return_mask=True)
    np.testing.assert_allclose(masks.sum((1, 2)), areas[name], rtol=0.02, err_msg=name)
  content = np.array([[3, 0.5, 0.5, 0.25, 0.0], [3, 0.5, 0.5, 0.25, 0.5]], np.float32)  # 0 and 90 degrees
  _, (flat, upright) = synthetic.render(content, np.full((2, 2), 0.5, np.float32), 64, return_mask=True)
  width = lambda m, axis: (m.sum(axis) > 0.5).sum()  # noqa: E731 - columns / rows the object covers
  assert width(flat, 0) > 1.7 * width(flat, 1) and width(upright, 1) > 1.7 * width(upright, 0)


def test_style_effects_are_monotonic():
  levels = np.linspace(0.05, 0.95, 10, dtype=np.float32)
  content = np.tile(np.array([[0, 0.5, 0.5, 0.15, 0.0]], np.float32), (10, 1))
  # background lightness: the corner pixel brightens monotonically.
  images = synthetic.render(content, np.stack([np.full(10, 0.5), levels], 1))
  assert np.all(np.diff(images[:, 0, 0].mean(-1)) > 0)
  # hue: the object's colour angle increases monotonically (no wrap-around).
  images = synthetic.render(content, np.stack([levels, np.full(10, 0.5)], 1))
  rgb = images[:, 16, 16]
  angle = np.unwrap(np.arctan2(np.sqrt(3) * (rgb[:, 1] - rgb[:, 2]), 2 * rgb[:, 0] - rgb[:, 1] - rgb[:, 2]))
  assert np.all(np.diff(angle) > 0)
  # stripes: the object's darkest pixel darkens as the stripe contrast grows.
  images, masks = synthetic.render(content, np.stack([np.full(10, 0.5), np.full(10, 0.5), levels], 1),
                                   return_mask=True)
  darkest = [img[m == 1].mean(-1).min() for img, m in zip(images, masks)]
  assert np.all(np.diff(darkest) < 0)


def test_bad_arguments_raise_clear_errors():
  with pytest.raises(ValueError, match='domain labels must be in'):
    synthetic.sample_factors(np.random.default_rng(0), np.array([0, 5]), 2)
  with pytest.raises(ValueError, match='variant must be one of'):
    synthetic.load_split(variant='animals')
  with pytest.raises(ValueError, match='content must be'):
    synthetic.render(np.zeros((2, 4)), np.zeros((2, 2)))
