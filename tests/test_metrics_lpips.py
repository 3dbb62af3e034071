"""LPIPS: arithmetic on hand-made features, AlexNet layout, weight conversion, the 45-pair diversity."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dss_jax.metrics import lpips


def test_lpips_from_features_hand_computed():
  # Layer 1: one image, 1 x 2 positions, 2 channels. Normalised: (0.6, 0.8), (1, 0) vs (0, 1), (0, 1).
  # Squared differences (0.36, 0.04), (1, 1); weights (1, 2): 0.44 and 3.0 -> spatial mean 1.72.
  f1 = [jnp.array([[[[3.0, 4.0], [1.0, 0.0]]]]), jnp.ones((1, 2, 2, 3))]
  f2 = [jnp.array([[[[0.0, 1.0], [0.0, 2.0]]]]), 5.0 * jnp.ones((1, 2, 2, 3))]  # Layer 2: same direction -> 0.
  w = [jnp.array([1.0, 2.0]), jnp.array([1.0, 1.0, 1.0])]
  out = lpips.lpips_from_features(f1, f2, w)
  assert out.shape == (1,)
  assert float(out[0]) == pytest.approx(1.72, rel=1e-6)


def test_normalize_and_scaling():
  x = jnp.array([[3.0, 4.0], [0.0, 0.0]])
  np.testing.assert_allclose(lpips.normalize_channels(x), [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)
  np.testing.assert_allclose(lpips.scale_input(jnp.array(lpips.SHIFT)), 0.0, atol=1e-7)
  np.testing.assert_allclose(lpips.scale_input(jnp.zeros(3)), [0.030 / 0.458, 0.088 / 0.448, 0.188 / 0.450],
                             rtol=1e-6)


@pytest.fixture(scope='module')
def params():
  return lpips.init_params(0)


def test_alexnet_layout(params):
  feats = lpips.AlexNetFeatures().apply({'params': params['alexnet']}, jnp.zeros((2, 64, 64, 3)))
  assert [f.shape[-1] for f in feats] == list(lpips.CHANNELS)
  assert [f.shape[1] for f in feats] == [15, 7, 3, 3, 3]  # torchvision alexnet.features at 64 px.
  n = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(params['alexnet']))
  assert n == 2_469_696  # torchvision alexnet.features parameters.


def test_lpips_distance_and_pairs(params):
  rng = np.random.default_rng(0)
  outs = jnp.asarray(rng.uniform(-1, 1, size=(4, 2, 64, 64, 3)).astype(np.float32))
  dist = jax.jit(lpips.lpips)
  d = dist(params, outs[0], outs[1])
  assert d.shape == (2,) and np.all(np.asarray(d) > 0)
  np.testing.assert_allclose(dist(params, outs[1], outs[0]), d, rtol=1e-5)
  np.testing.assert_allclose(dist(params, outs[0], outs[0]), 0.0, atol=1e-6)
  manual = np.mean([np.asarray(dist(params, outs[i], outs[j])) for i, j in itertools.combinations(range(4), 2)])
  assert lpips.mean_pairwise_lpips(params, outs) == pytest.approx(manual, rel=1e-5)
  assert lpips.mean_pairwise_lpips(params, jnp.repeat(outs[:1], 10, axis=0)) == pytest.approx(0.0, abs=1e-6)


def test_load_lpips_roundtrip_and_missing(tmp_path, params):
  state = lpips.flax_to_torch(params)
  assert state['features.0.weight'].shape == (64, 3, 11, 11) and state['lin4.weight'].shape == (1, 256, 1, 1)
  path = tmp_path / 'lpips.npz'
  np.savez(path, **state)
  loaded = lpips.load_lpips(str(path))
  jax.tree.map(np.testing.assert_array_equal, jax.tree.map(np.asarray, params), loaded)
  with pytest.raises(FileNotFoundError, match='lpips_path'):
    lpips.load_lpips(str(tmp_path / 'missing.npz'))
  del state['lin2.weight']
  np.savez(path, **state)
  with pytest.raises(ValueError, match='lin2'):
    lpips.load_lpips(str(path))
