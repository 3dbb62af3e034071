"""The five networks of DSS as one object, `Networks`, built from a config by `build`.

`Networks` holds the Flax modules (pure init/apply) and names what each does: `generate`,
`encode_content` / `decode`, `map` (F(z, u)) and, for the flow, `map_inverse` / `map_log_prob`,
`style` (E(x, u)), `discriminate` (D(x, u)), `discriminate_style` (D_s(s, u)). Every method takes the
parameter tree of its own network first. The training step, inference and evaluation call these
methods only, so they do not care whether the networks are convolutional or MLPs: a module that has
`__call__`, and for the generator `encode` / `decode`, fits.
"""

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from dss_jax.models import fan as fan_lib
from dss_jax.models.discriminators import Discriminator, StyleDiscriminator
from dss_jax.models.encoders import StyleEncoder
from dss_jax.models.generator import Generator
from dss_jax.models.mapping import FlowMapping, MappingNetwork

__all__ = ['NAMES', 'Discriminator', 'FlowMapping', 'Generator', 'MappingNetwork', 'Networks', 'StyleDiscriminator',
           'StyleEncoder', 'build', 'latent_dim', 'param_count']

# The networks, in the order their initial parameters are drawn.
NAMES = ('generator', 'mapping', 'style_encoder', 'discriminator', 'style_discriminator')


@dataclasses.dataclass(frozen=True)
class Networks:
  """The networks of one configuration (hashable: usable as a static argument of jit).

  x_shape: one input without the batch axis ([H, W, 3] for images); style_dim: size of s; z_dim: size
  of z (style_dim for the flow, a bijection); num_domains: K. Parameters are dicts network name -> tree (`init`).
  """
  generator: nn.Module
  mapping: nn.Module
  style_encoder: nn.Module
  discriminator: nn.Module
  style_discriminator: nn.Module
  x_shape: tuple[int, ...]
  style_dim: int
  z_dim: int
  num_domains: int
  # w_hpf > 0 with config.fan_path: the frozen FAN's landmark masks of G's input (fan.LandmarkMasks), used by
  # generate / encode_content + decode as StarGAN v2's solver does; None: the generator runs without masks.
  fan: Any = None

  @property
  def is_flow(self) -> bool:
    """Whether the mapping is DSS's invertible flow (it has `inverse` and `log_prob`)."""
    return isinstance(self.mapping, FlowMapping)

  def init(self, rng) -> dict:
    """Initial parameters: a dict network name -> parameter tree (float32)."""
    keys = jax.random.split(rng, len(NAMES))
    return {name: self.init_network(name, key) for name, key in zip(NAMES, keys)}

  def init_network(self, name: str, rng):
    """Initial parameters of one network (e.g. a fresh style encoder: the evaluation's floor)."""
    x = jnp.zeros((1, *self.x_shape), jnp.float32)
    y = jnp.zeros((1,), jnp.int32)
    s = jnp.zeros((1, self.style_dim), jnp.float32)
    z = jnp.zeros((1, self.z_dim), jnp.float32)
    inputs = {'generator': (x, s), 'mapping': (z, y), 'style_encoder': (x, y), 'discriminator': (x, y),
              'style_discriminator': (s, y)}
    return getattr(self, name).init(rng, *inputs[name])['params']

  # ---------------------------------------------------------------- generator G(x, s) = decode(E_c(x), s)
  def generate(self, p, x, s):
    """G(x, s): x [B, *x_shape], s [B, style_dim] -> [B, *x_shape] (with the FAN's masks of x, if any)."""
    if self.fan is not None:
      return self.generator.apply({'params': p}, x, s, self.fan(x))
    return self.generator.apply({'params': p}, x, s)

  def encode_content(self, p, x):
    """E_c(x) -> (content, cache for `decode`; with a FAN, the cache also holds x's masks)."""
    content, cache = self.generator.apply({'params': p}, x, method='encode')
    return content, (cache if self.fan is None else (cache, self.fan(x)))

  def decode(self, p, content, s, cache):
    if self.fan is not None:
      cache, masks = cache
      return self.generator.apply({'params': p}, content, s, cache, masks, method='decode')
    return self.generator.apply({'params': p}, content, s, cache, method='decode')

  # ---------------------------------------------------------------- style codes
  def map(self, p, z, y):
    """Latent-guided codes F(z, u): z [B, z_dim], y [B] int -> [B, style_dim]."""
    return self.mapping.apply({'params': p}, z, y)

  def map_inverse(self, p, s, y):
    """z = F^-1(s; u) (flow only)."""
    return self.mapping.apply({'params': p}, s, y, method='inverse')

  def map_log_prob(self, p, s, y):
    """log p(s | u) under the flow: [B] (flow only)."""
    return self.mapping.apply({'params': p}, s, y, method='log_prob')

  def style(self, p, x, y=None):
    """Reference-guided codes E(x, u): [B, style_dim]; y None: every domain's head, [B, K, style_dim]."""
    return self.style_encoder.apply({'params': p}, x, y)

  # ---------------------------------------------------------------- discriminators
  def discriminate(self, p, x, y):
    """D(x, u): real/fake logits [B]."""
    return self.discriminator.apply({'params': p}, x, y)

  def discriminate_style(self, p, s, y):
    """D_s(s, u): latent (real) / reference (fake) logits [B]."""
    return self.style_discriminator.apply({'params': p}, s, y)


def _dim_in(config):
  return config.dim_in if config.dim_in > 0 else 2**14 // config.img_size


def latent_dim(config):
  """Size of z: style_dim for the flow (a bijection), latent_dim for the StarGAN v2 MLP."""
  return config.style_dim if config.mapping == 'flow' else config.latent_dim


def build(config) -> Networks:
  """The networks of `config` (Flax modules: pure init/apply)."""
  dtype = jnp.dtype(config.dtype)
  k, dim_in = config.num_domains, _dim_in(config)
  if config.mapping == 'flow':
    f = config.flow
    mapping = FlowMapping(k, config.style_dim, f.num_layers, f.num_bins, f.range, f.cond_width, f.cond_depth,
                          f.get('affine_init', 0.0))
  elif config.mapping == 'mlp':
    mapping = MappingNetwork(k, config.style_dim, config.mapping_hidden)
  else:
    raise ValueError(f"config.mapping must be 'flow' or 'mlp', not {config.mapping!r}.")
  if config.dataset == 'vector':  # MLPs for vector data (datasets/vector.py); the same roles and methods.
    from dss_jax.models import vector
    v, h = config.vector, config.vector.hidden
    dim = v.n_style + v.n_content
    return Networks(generator=vector.VectorGenerator(dim, config.style_dim, h), mapping=mapping,
                    style_encoder=vector.VectorStyleEncoder(k, config.style_dim, h),
                    discriminator=vector.VectorDiscriminator(k, h),
                    style_discriminator=StyleDiscriminator(k, config.style_disc_hidden, config.style_disc_depth),
                    x_shape=(dim,), style_dim=config.style_dim, z_dim=latent_dim(config), num_domains=k)
  return Networks(
      generator=Generator(config.img_size, config.style_dim, dim_in, config.max_conv_dim, config.w_hpf, dtype),
      mapping=mapping,
      style_encoder=StyleEncoder(config.img_size, k, config.style_dim, dim_in, config.max_conv_dim, dtype),
      discriminator=Discriminator(config.img_size, k, dim_in, config.max_conv_dim, dtype),
      style_discriminator=StyleDiscriminator(k, config.style_disc_hidden, config.style_disc_depth),
      x_shape=(config.img_size, config.img_size, 3), style_dim=config.style_dim, z_dim=latent_dim(config),
      num_domains=k, fan=fan_lib.from_config(config),
  )


def param_count(tree) -> int:
  return sum(x.size for x in jax.tree_util.tree_leaves(tree))
