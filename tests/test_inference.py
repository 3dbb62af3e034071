"""The inference API on a tiny model trained once per session (shared with test_sample_eval.py)."""

import functools
import json
import os
import tempfile

import jax
import numpy as np
import pytest
from conftest import tiny_config

from dss_jax import checkpoint, errors, inference, models


@functools.lru_cache(maxsize=1)
def trained_workdir() -> str:
  """A workdir with a 2-step tiny synthetic run (checkpoint at step 2): trained once per test process."""
  from dss_jax import train
  workdir = os.path.join(tempfile.mkdtemp(prefix='dss_inference_'), 'run')
  config = tiny_config()
  config.total_iters = 2
  train.train_and_evaluate(config, workdir)
  return workdir


@pytest.fixture(scope='module')
def translator():
  return inference.Translator.from_workdir(trained_workdir())


@pytest.fixture(scope='module')
def images():
  from dss_jax.datasets import synthetic
  data = synthetic.load_split(2, 'style_domains', 'test', per_domain=4, size=32)
  return np.asarray(data['image']), np.asarray(data['label'])


def test_from_workdir_reads_config_and_latest_step(translator):
  assert translator.step == 2
  assert translator.domains == [f'domain{k}' for k in range(5)]
  assert translator.is_flow and translator.z_dim == translator.style_dim == 4


def test_translate_shapes_and_style_sources(translator, images):
  x, y = images
  out_z = translator.translate(x[:3], 'domain1', seed=1)
  assert out_z.shape == (3, 32, 32, 3) and np.all(np.isfinite(out_z))
  out_ref = translator.translate(x[:3], 2, reference=x[8:11])
  style = translator.encode_style(x[8:11], 2)
  np.testing.assert_allclose(translator.translate(x[:3], 2, style=style), out_ref, atol=1e-5)
  # One reference (or one style) for the whole batch broadcasts.
  assert translator.translate(x[:3], 2, reference=x[8]).shape == (3, 32, 32, 3)
  with pytest.raises(ValueError, match='at most one'):
    translator.translate(x[:3], 2, z=np.zeros((3, 4)), style=style)
  with pytest.raises(ValueError, match='Unknown domain'):
    translator.translate(x[:3], 'dog')


def test_encode_style_per_image_domains_and_batching(translator, images):
  x, y = images
  translator_small = inference.Translator(translator.config, translator.params, batch_size=3)
  per_image = translator_small.encode_style(x, y)  # 20 images in chunks of 3 (padded last chunk).
  assert per_image.shape == (20, 4)
  whole = np.stack([translator.encode_style(x[y == k], k) for k in range(5)]).reshape(20, 4)
  np.testing.assert_allclose(per_image, whole, atol=1e-5)


def test_reference_to_z_inverts_the_flow(translator, images):
  x, _ = images
  z = translator.sample_z(6, seed=3)
  s = translator.style_from_z(z, 'domain3')
  np.testing.assert_allclose(translator.style_to_z(s, 'domain3'), z, atol=1e-4)
  codes = translator.encode_style(x[:6], 3)
  np.testing.assert_allclose(translator.style_from_z(translator.reference_to_z(x[:6], 3), 3), codes, atol=1e-4)


def test_psi_zero_collapses_to_the_code_of_z_zero(translator):
  s = translator.sample_style('domain2', 5, psi=0.0, seed=7)
  np.testing.assert_allclose(s, np.repeat(translator.style_from_z(np.zeros((1, 4)), 2), 5, axis=0), atol=1e-6)
  assert np.std(translator.sample_style('domain2', 5, psi=1.0, seed=7), axis=0).max() > 0
  # Truncating reference codes in z space: psi = 1 keeps them, psi = 0 gives the same code.
  codes = translator.sample_style(2, 4, seed=1)
  np.testing.assert_allclose(translator.truncate(codes, 2, 1.0), codes, atol=1e-4)
  np.testing.assert_allclose(translator.truncate(codes, 2, 0.0), s[:4], atol=1e-5)


def test_interpolate_endpoints(translator):
  a, b = translator.sample_style(1, 2, seed=5)
  for space in ('z', 'style'):
    path = translator.interpolate(a, b, 5, domain=1, space=space)
    assert path.shape == (5, 4)
    np.testing.assert_allclose(path[0], a, atol=1e-4)
    np.testing.assert_allclose(path[-1], b, atol=1e-4)


def test_mismatched_config_gives_the_clear_error():
  config = tiny_config()
  config.style_dim = 8
  with pytest.raises(checkpoint.ConfigMismatchError, match='style_dim: 4 in the checkpoint, 8 now'):
    inference.Translator.from_workdir(trained_workdir(), config=config)


def test_checkpoint_folder_path_and_missing_step():
  workdir = trained_workdir()
  t = inference.Translator.from_workdir(os.path.join(workdir, 'checkpoints', '2'))
  assert t.step == 2
  with pytest.raises(FileNotFoundError, match='No checkpoint of step 7'):
    inference.Translator.from_workdir(workdir, step=7)
  with open(os.path.join(workdir, 'config.json')) as f:
    assert json.load(f)['style_dim'] == 4


def test_mlp_mapping_truncation_and_no_inverse():
  config = tiny_config('stargan_v2')
  nets = models.build(config)
  p = jax.jit(nets.init)(jax.random.key(1))
  t = inference.Translator(config, {'generator': p['generator'],
                                    'style': {'mapping': p['mapping'], 'style_encoder': p['style_encoder']}})
  s_avg = t.mean_style(1)
  np.testing.assert_allclose(t.sample_style(1, 3, psi=0.0), np.repeat(s_avg[None], 3, axis=0), atol=1e-6)
  s = t.sample_style(1, 3, seed=2)
  np.testing.assert_allclose(t.sample_style(1, 3, psi=0.5, seed=2), s_avg + 0.5 * (s - s_avg), atol=1e-5)
  # One truncation rule: sample_style and translate both go through latent_style.
  z, x = t.sample_z(3, seed=2), np.zeros((3, 32, 32, 3), np.float32)
  np.testing.assert_array_equal(t.latent_style(z, 1, psi=0.5), t.sample_style(1, 3, psi=0.5, seed=2))
  np.testing.assert_array_equal(t.translate(x, 1, z=z, psi=0.5), t.generate(x, t.latent_style(z, 1, psi=0.5)))
  with pytest.raises(inference.FlowRequiredError, match='MLP mapping'):
    t.reference_to_z(np.zeros((1, 32, 32, 3)), 0)


def test_from_state_uses_the_ema_copies(images):
  from dss_jax import train
  config = tiny_config()
  state = train.create_train_state(config, jax.random.key(0))
  t = inference.Translator.from_state(config, state)
  assert t.step == 0 and t.params is state.ema
  x, _ = images
  assert t.translate(x[:2], 'domain4', seed=0).shape == (2, 32, 32, 3)


def test_bad_inputs_get_one_sentence_before_any_network_runs(translator, images):
  """uint8 or out-of-range images, fractional domains, empty batches, NaN pixels, wrong shapes: errors.InputError
  (a ValueError) with one sentence that says what was seen, raised by host-side numpy before anything runs."""
  x, _ = images
  x = x[:3]
  refused = [
      (lambda: translator.translate(((x + 1) * 127.5).astype(np.uint8), 1),
       r'images are uint8 \(values \d+\.\.\d+\), but the API takes float images in \[-1, 1\]: convert them with '
       r'x.astype\(np.float32\) / 127.5 - 1\.'),
      (lambda: translator.translate((x + 1) * 127.5, 1),
       r'images have values [\d.]+\.\.[\d.]+, outside \[-1, 1\]: looks like 0\.\.255 pixel values; divide by '
       r'127\.5 and subtract 1\.'),
      (lambda: translator.translate(x, 1, reference=3 * x[:1]),
       r'reference images have values -\d\.\d+\.\.\d\.\d+, outside \[-1, 1\]: scale them to \[-1, 1\]\.'),
      (lambda: translator.translate(x, 1.7), r'Domain 1\.7 is not an integer: give a domain index \(0\.\.4\) or a name '
                                             r'\(domain0, domain1, domain2, domain3, domain4\)\.'),
      (lambda: translator.encode_style(x, [0, 1.5, 2]), r'Domain 1\.5 is not an integer'),
      (lambda: translator.translate(x[:0], 1),
       r'images is an empty batch \(shape \(0, 32, 32, 3\)\): give at least one'),
      (lambda: translator.style_from_z(np.zeros((0, 4)), 1), r'z is an empty batch'),
      (lambda: translator.translate(np.where(np.arange(3)[:, None, None, None] == 1, np.nan, x), 1),
       r'images 1 \(of 3, counted from 0\) contain NaN or infinite pixels: their outputs would be NaN; fix or '
       r'drop them\.'),
      (lambda: translator.translate(x, 1, reference=np.stack([x[0] * np.inf, x[1], x[2] * np.nan])),
       r'reference images 0 and 2 \(of 3, counted from 0\) contain NaN or infinite pixels'),
      (lambda: translator.translate(x, 1, z=np.full((3, 4), np.nan)), r'z 0, 1 and 2 \(of 3, counted from 0\) contain'),
      (lambda: translator.translate(x[0, :, :, 0], 1), r'images must be \[B, 32, 32, 3\] .* got \(32, 32\)\.'),
      (lambda: translator.translate(x, 1, style=np.zeros((3, 5))),
       r'style codes must be \[B, 4\] or \[4\]; got \(3, 5\)'),
      (lambda: translator.translate(np.full((1, 32, 32, 3), 'a'), 1), r'images must be a numeric array'),
      # z far beyond a standard normal gave a flat image silently; psi = NaN was reported as NaN in z.
      (lambda: translator.translate(x, 1, z=np.full((3, 4), 1e30)),
       r'z 0, 1 and 2 \(of 3, counted from 0\) reach \|z\| = 1e\+30, beyond 50, which a standard normal z never comes '
       r'near \(the outputs would be flat or saturated\): give z ~ N\(0, I\), e\.g\. sample_z\(n\)\.'),
      (lambda: translator.latent_style(np.array([[0, 0, 0, 0], [0, -60, 0, 0]]), 1), r'z 1 \(of 2, .*\|z\| = 60,'),
      (lambda: translator.traverse_styles(1, 0, [0, 1], z=np.full(4, 99.0)), r'z 0 \(of 1, .*\|z\| = 99,'),
      (lambda: translator.latent_style(np.full((2, 4), 1e30), 1, psi=0.5), r'z 0 and 1 \(of 2, .*\|z\| = 1e\+30'),
      (lambda: translator.translate(x, 1, psi=np.nan),
       r"psi is nan, but it must be a finite number from -10 to 10 \(1: no truncation, 0: the domain's centre; 0\.5 "
       r'to 1 is usual\)\.'),
      (lambda: translator.translate(x, 1, reference=x, psi=float('inf')), r'psi is inf, but it must be a finite'),
      (lambda: translator.sample_style(1, 2, psi=-11), r'psi is -11, but it must be'),
      (lambda: translator.truncate(np.zeros((1, 4)), 1, psi='0.5'), r"psi is '0\.5', but it must be a finite number"),
  ]
  for call, message in refused:
    with pytest.raises(errors.InputError, match=message) as info:
      call()
    assert isinstance(info.value, ValueError) and '\n' not in str(info.value)
  # What is fine stays fine: an integral float domain, and the unclipped overshoot of a generator's output.
  np.testing.assert_array_equal(translator.translate(x, 2.0, seed=1), translator.translate(x, 2, seed=1))
  assert translator.translate(np.clip(x * 1.1, -1.1, 1.1), 1, seed=1).shape == x.shape
  # z up to 50 and psi up to 10, together beyond 50 in the flow's Gaussian space (|psi * z| = 400).
  assert translator.translate(x, 1, z=np.full((3, 4), 40.0), psi=10).shape == x.shape
  assert np.isfinite(translator.sample_style(1, 2, psi=-10)).all()
  # style_from_z takes any finite z: evaluation gives it F^-1(E(x)) of references, far out for a poor encoder.
  assert translator.style_from_z(np.full((1, 4), 60.0), 1).shape == (1, 4)
