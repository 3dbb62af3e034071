"""Networks: exact StarGAN v2 parameter counts, shapes and dtypes, E_c + decoder == G."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dss_jax import models, summary


@pytest.mark.parametrize('config_name, expected', [
    ('afhq', dict(generator=33_892_995, mapping=3_259_072, style_encoder=20_949_760, discriminator=20_852_803)),
    # The official generator has 43,467,395: 172,032 of those are decoder shortcuts it never uses.
    ('celeba_hq', dict(generator=43_295_363, mapping=2_438_272, style_encoder=20_916_928,
                       discriminator=20_852_290)),
])
def test_stargan_v2_param_counts_match_official(config_name, expected):
  import importlib
  config = importlib.import_module(f'configs.{config_name}').get_config('stargan_v2')
  counts = summary.param_counts(config)
  assert {k: counts[k] for k in expected} == expected


def test_dss_config_differs_only_in_mapping():
  from configs import afhq
  dss, sg2 = summary.param_counts(afhq.get_config()), summary.param_counts(afhq.get_config('stargan_v2'))
  assert dss['mapping'] != sg2['mapping']
  for name in ('generator', 'style_encoder', 'discriminator'):
    assert dss[name] == sg2[name]


def test_unknown_config_argument_is_a_clear_error():
  from configs import afhq
  with pytest.raises(ValueError, match='stargan_v2'):
    afhq.get_config('stargan_v3')


def test_init_is_he_normal_with_zero_bias(params):
  kernel = params['style_encoder']['trunk']['block_0']['conv2']['kernel']
  fan_in = np.prod(kernel.shape[:-1])
  assert abs(float(jnp.std(kernel)) - np.sqrt(2.0 / fan_in)) < 0.25 * np.sqrt(2.0 / fan_in)
  # Untruncated: a normal sample this size has values beyond 2 sigma (jax's he_normal truncates there).
  assert float(jnp.max(jnp.abs(kernel))) > 2 * np.sqrt(2.0 / fan_in)
  assert not jnp.any(params['style_encoder']['trunk']['block_0']['conv2']['bias'])


def test_shapes_and_dtypes(config, nets, params):
  b, size = 3, config.img_size
  x = jax.random.normal(jax.random.key(1), (b, size, size, 3))
  y = jnp.array([0, 1, 2])
  s = jax.random.normal(jax.random.key(2), (b, config.style_dim))
  z = jax.random.normal(jax.random.key(3), (b, models.latent_dim(config)))
  out = nets.generator.apply({'params': params['generator']}, x, s)
  assert out.shape == (b, size, size, 3) and out.dtype == jnp.float32
  assert nets.mapping.apply({'params': params['mapping']}, z, y).shape == (b, config.style_dim)
  assert nets.style_encoder.apply({'params': params['style_encoder']}, x, y).shape == (b, config.style_dim)
  assert nets.discriminator.apply({'params': params['discriminator']}, x, y).shape == (b,)
  assert nets.style_discriminator.apply({'params': params['style_discriminator']}, s, y).shape == (b,)


def test_content_encoder_plus_decoder_is_the_generator(config, nets, params):
  x = jax.random.normal(jax.random.key(1), (2, config.img_size, config.img_size, 3))
  s = jax.random.normal(jax.random.key(2), (2, config.style_dim))
  g = {'params': params['generator']}
  content, cache = nets.generator.apply(g, x, method=models.Generator.encode)
  assert content.shape[1] == config.img_size // 2  # One stage at 32 px (log2(32) - 4).
  split = nets.generator.apply(g, content, s, cache, method=models.Generator.decode)
  np.testing.assert_allclose(split, nets.generator.apply(g, x, s), rtol=1e-6, atol=1e-6)


def test_heads_are_per_domain(config, nets, params):
  x = jnp.tile(jax.random.normal(jax.random.key(1), (1, config.img_size, config.img_size, 3)), (2, 1, 1, 1))
  codes = nets.style_encoder.apply({'params': params['style_encoder']}, x, jnp.array([0, 1]))
  assert not np.allclose(codes[0], codes[1])
  logits = nets.discriminator.apply({'params': params['discriminator']}, x, jnp.array([0, 1]))
  assert not np.allclose(logits[0], logits[1])


def test_bfloat16_activations_keep_float32_params_and_outputs(config):
  cfg = config.copy_and_resolve_references()
  cfg.dtype = 'bfloat16'
  nets = models.build(cfg)
  p = jax.eval_shape(nets.init, jax.random.key(0))
  assert all(leaf.dtype == jnp.float32 for leaf in jax.tree_util.tree_leaves(p))
  x = jax.ShapeDtypeStruct((1, cfg.img_size, cfg.img_size, 3), jnp.float32)
  out = jax.eval_shape(nets.generator.apply, {'params': p['generator']}, x, jnp.zeros((1, cfg.style_dim)))
  assert out.dtype == jnp.float32


class TestHighPassVariant:
  """w_hpf > 0: one more stage, no decoder shortcuts, a mask path that is skipped without masks."""

  @pytest.fixture(scope='class')
  def hpf(self):
    gen = models.Generator(img_size=64, style_dim=4, dim_in=8, max_conv_dim=16, w_hpf=1.0)
    x = jax.random.normal(jax.random.key(0), (2, 64, 64, 3))
    s = jax.random.normal(jax.random.key(1), (2, 4))
    return gen, gen.init(jax.random.key(2), x, s), x, s

  def test_structure(self, hpf):
    gen, variables, x, s = hpf
    content, cache = gen.apply(variables, x, method=models.Generator.encode)
    assert content.shape[1] == 64 // 2**3  # log2(64) - 4 + 1 = 3 stages.
    assert set(cache) == {32, 64}  # Features cached before the blocks that see 64 and 32 px.
    decoder_keys = [k for k in variables['params'] if k.startswith('decode_blocks')]
    assert decoder_keys and all('conv1x1' not in variables['params'][k] for k in decoder_keys)

  def test_masks_change_the_output_and_none_skips_the_path(self, hpf):
    gen, variables, x, s = hpf
    plain = gen.apply(variables, x, s)
    ones = jnp.ones((2, 64, 64, 1))
    masked = gen.apply(variables, x, s, masks=(ones, ones))
    zeros = gen.apply(variables, x, s, masks=(0 * ones, 0 * ones))
    np.testing.assert_allclose(zeros, plain, atol=1e-6)
    assert not np.allclose(masked, plain, atol=1e-3)


def test_summary_prints_every_network(capsys, config):
  summary.print_summary(config)
  out = capsys.readouterr().out
  for name in summary.NAMES + ('total',):
    assert f'{name}: ' in out
