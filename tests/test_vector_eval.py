"""Benchmark v2's metrics on constructed models where the answer is known: each must pass the true model and
fail the trivial one it is meant to catch (dss_jax/metrics/vector_eval.py)."""

import numpy as np
import pytest

from dss_jax.datasets import vector
from dss_jax.metrics import vector_eval


@pytest.fixture(scope='module')
def data():
  return vector.make(n_style=2, n_content=2, seed=3)


class _OracleTranslator:
  """The true model as a flow: z = (s - loc) / scale per component, G(x, s) = mix(content(x), s)."""
  is_flow = True
  style_dim = 2

  def __init__(self, data):
    self.data = data

  def encode_style(self, x, y):
    return self.data.unmix(x)[1].astype(np.float32)

  def style_to_z(self, s, y):
    return (s - self.data.loc[y]) / self.data.scale[y]

  def style_from_z(self, z, y):
    y = np.broadcast_to(y, (len(z),))
    return (self.data.loc[y] + self.data.scale[y] * z).astype(np.float32)

  def generate(self, x, s):
    return self.data.mix(self.data.unmix(x)[0], s)

  def traverse(self, x, u, c, values, reference):
    y = np.full(len(reference), u)
    z = self.style_to_z(self.encode_style(reference, y), y)
    out = []
    for v in values:
      zv = z.copy()
      zv[:, c] = v
      out.append(self.generate(x, self.style_from_z(zv, y)))
    return np.stack(out)


def _oracle(data, translator=True):
  t = _OracleTranslator(data)
  return vector_eval.VectorModel(style=t.encode_style, map=t.style_from_z, generate=t.generate, z_dim=2,
                                 translator=t if translator else None)


def test_the_true_model_scores_as_the_truth(data):
  r = vector_eval.evaluate_vector(None, None, data, model=_oracle(data), num_per_domain=200)
  assert r['mcc'] == pytest.approx(1.0, abs=1e-6) and r['latent_mcc'] == pytest.approx(1.0, abs=1e-6)
  assert r['ref_spearman_min'] == pytest.approx(1.0, abs=1e-6)
  assert r['content_r2'] == pytest.approx(1.0, abs=1e-6)
  assert all(0.8 < v < 1.2 for v in r['z_effect_factor'])  # As varied as the data (25 z per source).
  assert r['style_w1'] < 0.15 and abs(r['uni_gap']) < 0.1
  # One component moves one factor alone; a random direction moves both.
  assert r['edit_purity'] == pytest.approx(1.0, abs=1e-4)
  assert 0.6 < r['edit_purity_random'] < 0.85 and r['edit_purity_gain'] > 0.15


def test_a_generator_that_ignores_z_fails_the_z_effect_but_not_the_pooled_spread(data):
  model = _oracle(data, translator=False)
  model.generate = lambda x, s: np.asarray(x, np.float32)  # copy the source: the style never follows s or z
  r = vector_eval.evaluate_vector(None, None, data, model=model, num_per_domain=200)
  assert r['z_effect_min'] < 1e-9  # Up to unmix's float64 round-off.
  assert min(r['latent_spread_factor']) > 0.5  # The pooled spread is fooled: the sources' styles vary.
  assert r['content_r2'] == pytest.approx(1.0, abs=1e-6)  # ...and so is content R^2 alone.
  assert abs(r['ref_spearman_min']) < 0.2  # Reference transfer is not.


def test_a_random_projection_encoder_scores_well_below_the_truth(data):
  model = _oracle(data, translator=False)
  proj = np.random.default_rng(0).standard_normal((data.dim, 2)).astype(np.float32)
  model.style = lambda x, u: np.asarray(x, np.float32) @ proj
  r = vector_eval.evaluate_vector(None, None, data, model=model, num_per_domain=200)
  assert r['mcc'] < 0.8


def test_settings_are_paired_by_seed():
  main, loc_only, few = (vector.make(seed=11), vector.make(seed=11, variant='location_only'),
                         vector.make(seed=11, num_domains=3))
  for other in (loc_only, few):
    for (w, b), (w2, b2) in zip(main.weights, other.weights):
      np.testing.assert_array_equal(w, w2)
      np.testing.assert_array_equal(b, b2)
  np.testing.assert_array_equal(main.loc, loc_only.loc)
  np.testing.assert_array_equal(main.loc[:3], few.loc)
  np.testing.assert_array_equal(main.scale[:3], few.scale)
  assert np.all(loc_only.scale == loc_only.scale[0, 0])
