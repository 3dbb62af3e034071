"""The five networks of DSS, built from a config: see `build` and `init_params`."""

from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from dss_jax.models.encoders import Discriminator, StyleEncoder
from dss_jax.models.generator import Generator
from dss_jax.models.mapping import FlowMapping, MappingNetwork, StyleDiscriminator

__all__ = ['Discriminator', 'FlowMapping', 'Generator', 'MappingNetwork', 'Models', 'StyleDiscriminator',
           'StyleEncoder', 'build', 'init_params', 'latent_dim', 'param_count']


class Models(NamedTuple):
  generator: nn.Module
  mapping: nn.Module
  style_encoder: nn.Module
  discriminator: nn.Module
  style_discriminator: nn.Module


def _dim_in(config):
  return config.dim_in if config.dim_in > 0 else 2**14 // config.img_size


def latent_dim(config):
  """Size of z: style_dim for the flow (a bijection), latent_dim for the StarGAN v2 MLP."""
  return config.style_dim if config.mapping == 'flow' else config.latent_dim


def build(config) -> Models:
  """The networks of `config` (Flax modules: pure init/apply)."""
  dtype = jnp.dtype(config.dtype)
  k, dim_in = config.num_domains, _dim_in(config)
  if config.mapping == 'flow':
    f = config.flow
    mapping = FlowMapping(k, config.style_dim, f.num_layers, f.num_bins, f.range, f.cond_width, f.cond_depth)
  elif config.mapping == 'mlp':
    mapping = MappingNetwork(k, config.style_dim, config.mapping_hidden)
  else:
    raise ValueError(f"config.mapping must be 'flow' or 'mlp', not {config.mapping!r}.")
  return Models(
      generator=Generator(config.img_size, config.style_dim, dim_in, config.max_conv_dim, config.w_hpf, dtype),
      mapping=mapping,
      style_encoder=StyleEncoder(config.img_size, k, config.style_dim, dim_in, config.max_conv_dim, dtype),
      discriminator=Discriminator(config.img_size, k, dim_in, config.max_conv_dim, dtype),
      style_discriminator=StyleDiscriminator(k, config.style_disc_hidden, config.style_disc_depth),
  )


def init_params(models: Models, config, rng):
  """Initial parameters: a dict network name -> parameter tree (float32)."""
  x = jnp.zeros((1, config.img_size, config.img_size, 3), jnp.float32)
  y = jnp.zeros((1,), jnp.int32)
  s = jnp.zeros((1, config.style_dim), jnp.float32)
  z = jnp.zeros((1, latent_dim(config)), jnp.float32)
  keys = jax.random.split(rng, 5)
  return {
      'generator': models.generator.init(keys[0], x, s)['params'],
      'mapping': models.mapping.init(keys[1], z, y)['params'],
      'style_encoder': models.style_encoder.init(keys[2], x, y)['params'],
      'discriminator': models.discriminator.init(keys[3], x, y)['params'],
      'style_discriminator': models.style_discriminator.init(keys[4], s, y)['params'],
  }


def param_count(tree) -> int:
  return sum(x.size for x in jax.tree_util.tree_leaves(tree))
