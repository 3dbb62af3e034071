"""FID: Fréchet distance against scipy and closed forms; Inception-v3 layout, weight conversion and loading."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from dss_jax.metrics import fid


def _random_cov(rng, d):
  a = rng.normal(size=(d, d))
  return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_matches_direct_scipy():
  rng = np.random.default_rng(0)
  d = 6
  mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
  s1, s2 = _random_cov(rng, d), _random_cov(rng, d)
  direct = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * np.real(scipy.linalg.sqrtm(s1 @ s2)))
  assert fid.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(direct, rel=1e-10)


def test_frechet_closed_forms():
  rng = np.random.default_rng(1)
  d = 5
  mu, s = rng.normal(size=d), _random_cov(rng, d)
  assert fid.frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-8)
  delta = rng.normal(size=d)
  assert fid.frechet_distance(mu, s, mu + delta, s) == pytest.approx(np.sum(delta ** 2), rel=1e-8)
  # Diagonal covariances: sum_i (sqrt(a_i) - sqrt(b_i))^2.
  a, b = rng.uniform(0.1, 2.0, d), rng.uniform(0.1, 2.0, d)
  expected = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2) + np.sum(delta ** 2)
  assert fid.frechet_distance(mu, np.diag(a), mu + delta, np.diag(b)) == pytest.approx(expected, rel=1e-8)


def test_gaussian_stats_and_fid_from_features():
  rng = np.random.default_rng(2)
  x = rng.normal(size=(20_000, 3)) * np.array([1.0, 2.0, 0.5]) + np.array([1.0, -1.0, 0.0])
  mu, sigma = fid.gaussian_stats(x)
  np.testing.assert_allclose(sigma, np.cov(x, rowvar=False))
  np.testing.assert_allclose(mu, [1.0, -1.0, 0.0], atol=0.05)
  y = rng.normal(size=(20_000, 3)) * np.array([1.0, 2.0, 0.5]) + np.array([1.0, -1.0, 0.0])
  assert fid.fid_from_features(x, y) < 0.01
  assert fid.fid_from_features(x, y + np.array([3.0, 0.0, 0.0])) == pytest.approx(9.0, rel=0.02)


@pytest.fixture(scope='module')
def inception_shapes():
  """Variable shapes of the full network (traced, not computed: cheap)."""
  return jax.eval_shape(fid.InceptionV3().init, jax.random.key(0), jnp.zeros((1, 75, 75, 3)))


def test_inception_layout_matches_torchvision(inception_shapes):
  n_params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(inception_shapes['params']))
  # torchvision inception_v3: 27,161,264 parameters, minus fc (2,049,000) and AuxLogits (3,326,696).
  assert n_params == 27_161_264 - 2_049_000 - 3_326_696
  out = jax.eval_shape(fid.InceptionV3().apply, inception_shapes, jnp.zeros((2, 299, 299, 3)))
  assert out.shape == (2, fid.FEATURE_DIM)


def test_load_inception_roundtrip(tmp_path, inception_shapes):
  rng = np.random.default_rng(0)
  variables = jax.tree.map(lambda s: rng.normal(size=s.shape).astype(np.float32), inception_shapes)
  state = fid.flax_to_torch(variables)
  assert state['Mixed_7c.branch_pool.conv.weight'].shape == (192, 2048, 1, 1)  # torch OIHW
  state['fc.weight'] = np.zeros((1000, 2048), np.float32)  # Ignored, as AuxLogits and num_batches_tracked.
  state['Conv2d_1a_3x3.bn.num_batches_tracked'] = np.zeros((), np.int64)
  path = tmp_path / 'inception.npz'
  np.savez(path, **state)
  loaded = fid.load_inception(str(path))
  jax.tree.map(np.testing.assert_array_equal, jax.tree.map(np.asarray, variables), loaded)


def test_missing_weights_message(tmp_path):
  for path in ('', str(tmp_path / 'nope.npz')):
    with pytest.raises(FileNotFoundError, match='convert_torchvision_weights.py'):
      fid.load_inception(path)
  with pytest.raises(fid.MetricWeightsNotFoundError, match='inception_path'):
    fid.load_inception('')


def test_basic_conv_uses_torch_layout():
  """A torch OIHW kernel converted by torch_to_flax computes torch's cross-correlation (+ BN, ReLU)."""
  rng = np.random.default_rng(0)
  w = rng.normal(size=(4, 3, 1, 3)).astype(np.float32)  # O, I, kh=1, kw=3; padding (0, 1).
  x = rng.normal(size=(1, 5, 6, 3)).astype(np.float32)
  state = {'b.conv.weight': w, 'b.bn.weight': np.full(4, 2.0, np.float32), 'b.bn.bias': np.full(4, 0.5, np.float32),
           'b.bn.running_mean': np.full(4, 0.1, np.float32), 'b.bn.running_var': np.full(4, 4.0, np.float32)}
  v = fid.torch_to_flax(state)
  v = {'params': v['params']['b'], 'batch_stats': v['batch_stats']['b']}
  y = np.asarray(fid.BasicConv2d(4, (1, 3), padding=(0, 1)).apply(v, x))
  xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
  conv = np.zeros((1, 5, 6, 4))
  for j in range(3):
    conv += np.einsum('bhwi,oi->bhwo', xp[:, :, j:j + 6], w[:, :, 0, j])
  expected = np.maximum((conv - 0.1) / np.sqrt(4.0 + 1e-3) * 2.0 + 0.5, 0.0)
  np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


def test_preprocess():
  x = jnp.zeros((2, 32, 32, 3))
  y = fid.preprocess(x)
  assert y.shape == (2, 299, 299, 3)
  np.testing.assert_allclose(y[0, 0, 0], (np.round(0.5 * 255) / 255 - np.array(fid.IMAGENET_MEAN))
                             / np.array(fid.IMAGENET_STD), rtol=1e-5)


def test_preprocess_resize_matches_pil():
  pil_image = pytest.importorskip('PIL.Image')
  rng = np.random.default_rng(0)
  img = rng.integers(0, 256, size=(48, 48, 3)).astype(np.uint8)
  ref = np.asarray(pil_image.fromarray(img).resize((299, 299), pil_image.BILINEAR), np.float32)
  ours = fid.preprocess(jnp.asarray(img[None], jnp.float32) / 127.5 - 1.0)[0]
  ours = (np.asarray(ours) * np.array(fid.IMAGENET_STD) + np.array(fid.IMAGENET_MEAN)) * 255.0
  assert np.max(np.abs(ours - ref)) <= 1.0 + 1e-3  # Within one 8-bit level of PIL.
  assert np.mean(np.abs(ours - ref)) < 0.3


def test_inception_features_batching(monkeypatch):
  """Batches (the last one padded to the compiled shape) come back in order, without the padding."""
  monkeypatch.setattr(fid, '_features', lambda variables, x: jnp.repeat(x[:, :1, 0, 0], fid.FEATURE_DIM, axis=1))
  images = np.arange(7, dtype=np.float32)[:, None, None, None] * np.ones((7, 4, 4, 3), np.float32)
  out = fid.inception_features(None, images, batch_size=3)
  assert out.shape == (7, fid.FEATURE_DIM)
  np.testing.assert_array_equal(out[:, 0], np.arange(7))
  assert fid.inception_features(None, images[:0]).shape == (0, fid.FEATURE_DIM)
