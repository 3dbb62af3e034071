"""Editing one style component (Translator.traverse_styles / traverse / component_effects), on random networks."""

import flow_numerics
import jax
import numpy as np
import pytest
from conftest import tiny_config

from dss_jax import inference, models, state
from dss_jax.errors import FlowRequiredError


def _translator(config, perturb=0.3):
  """A Translator with random weights; the flow's conditioner is perturbed away from its identity init."""
  nets = models.build(config)
  params = state.ema_trees(state.group(jax.jit(nets.init)(jax.random.key(3))))
  keys = iter(jax.random.split(jax.random.key(4), 64))
  params['style']['mapping'] = jax.tree_util.tree_map(
      lambda p: p + perturb * jax.random.normal(next(keys), p.shape), params['style']['mapping'])
  return inference.Translator(config, params)


@pytest.fixture(scope='module')
def dss():
  return _translator(tiny_config())


@pytest.fixture(scope='module')
def sg2():
  return _translator(tiny_config('stargan_v2'))


@pytest.fixture(scope='module')
def sources():
  return np.random.default_rng(0).uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)


def test_moving_z_i_changes_only_s_i(dss, sources):
  refs = np.random.default_rng(1).uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
  for base in ({}, {'reference': refs}, {'z': dss.sample_z(3, seed=5)}):
    styles = dss.traverse_styles(2, 1, [-2.0, 0.0, 1.5], n=3, **base)  # [3 values, 3 codes, style_dim]
    assert styles.shape == (3, 3, dss.style_dim)
    others = np.delete(styles, 1, axis=-1)
    np.testing.assert_allclose(others, np.broadcast_to(others[:1], others.shape), rtol=0, atol=1e-6)
    assert np.all(np.abs(np.diff(styles[:, :, 1], axis=0)) > 1e-3), 'the edited component must move'
  # The edit is the value asked for, in the flow's Gaussian coordinate, up to float32's round-trip error
  # at that z (tests/flow_numerics.py: a few eps times the flow's condition there, not a fixed 1e-4).
  z = dss.style_to_z(styles.reshape(-1, dss.style_dim), 2)
  tol = flow_numerics.round_trip_tolerance(dss.nets.mapping, dss.params['style']['mapping'], z, np.full(len(z), 2))
  z, tol = z.reshape(styles.shape), tol.reshape(styles.shape)
  asked = np.array([-2.0, 0.0, 1.5])[:, None].repeat(3, 1)
  assert np.all(np.abs(z[:, :, 1] - asked) <= tol[:, :, 1]), (z[:, :, 1] - asked, tol[:, :, 1])
  images = dss.traverse(sources, 2, 1, [-1.0, 1.0], reference=refs[:1])
  assert images.shape == (2, 3, 32, 32, 3) and np.abs(images[1] - images[0]).max() > 0
  effects = dss.component_effects(sources, 2)
  assert effects.shape == (dss.style_dim,) and np.all(effects >= 0) and effects.max() > 0


def test_stargan_v2_edits_the_code_and_says_so(sg2, sources):
  styles = sg2.traverse_styles(0, 2, [-1.0, 1.0], n=2)
  mean, std = sg2._component_stats(0)
  np.testing.assert_allclose(styles[:, 0, 2], mean[2] + np.array([-1.0, 1.0]) * std[2], rtol=1e-5)
  np.testing.assert_array_equal(np.delete(styles[0], 2, -1), np.delete(styles[1], 2, -1))
  with pytest.raises(FlowRequiredError, match="no inverse: use space='style'"):
    sg2.traverse_styles(0, 0, [1.0], space='z')
  assert sg2.traverse(sources, 0, 0, [0.0, 1.0]).shape == (2, 3, 32, 32, 3)


def test_bad_requests_get_one_sentence(dss):
  with pytest.raises(ValueError, match=r'component 9 is out of range: the style code has 4 components \(0..3\)'):
    dss.traverse_styles(0, 9, [1.0])
  with pytest.raises(ValueError, match='at most one of'):
    dss.traverse_styles(0, 0, [1.0], z=dss.sample_z(1), style=np.zeros(4))
  with pytest.raises(ValueError, match="space must be 'z' or 'style'"):
    dss.traverse_styles(0, 0, [1.0], space='w')
