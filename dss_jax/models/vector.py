"""MLP networks for vector data (`datasets/vector.py`): the same roles and methods as the image networks,
so the training step and `Networks` run them unchanged.

x: [B, dim]. The generator encodes x to a content vector and decodes it with the style code injected
by adaptive normalisation (per-sample feature normalisation, then a style-dependent scale and shift:
the vector analogue of StarGAN v2's AdaIN). The style encoder and the discriminator are MLP trunks
with one head per domain.
"""

import flax.linen as nn
import jax.numpy as jnp

from dss_jax.models import layers


def _normalize(h, eps=1e-5):
  mean = h.mean(-1, keepdims=True)
  return (h - mean) / jnp.sqrt(jnp.square(h - mean).mean(-1, keepdims=True) + eps)


def _mlp(h, width, depth, name):
  for i in range(depth):
    h = layers.leaky_relu(layers.dense(width, name=f'{name}_{i}')(h))
  return h


class VectorGenerator(nn.Module):
  dim: int
  style_dim: int
  hidden: int = 64
  depth: int = 2

  def setup(self):
    self.enc = [layers.dense(self.hidden) for _ in range(self.depth)]
    self.dec = [layers.dense(self.hidden) for _ in range(self.depth)]
    self.film = [layers.dense(2 * self.hidden) for _ in range(self.depth)]
    self.out = layers.dense(self.dim)

  def encode(self, x):
    h = x
    for layer in self.enc:
      h = layers.leaky_relu(layer(h))
    return h, None

  def decode(self, content, s, cache=None):
    h = content
    for layer, film in zip(self.dec, self.film):
      gamma, beta = jnp.split(film(s), 2, axis=-1)
      h = layers.leaky_relu((1 + gamma) * _normalize(layer(h)) + beta)
    return self.out(h)

  def __call__(self, x, s):
    content, cache = self.encode(x)
    return self.decode(content, s, cache)


class VectorStyleEncoder(nn.Module):
  """E(x, u): [B, dim] -> [B, style_dim]; y None: every head, [B, K, style_dim]."""
  num_domains: int
  style_dim: int
  hidden: int = 64
  depth: int = 2

  @nn.compact
  def __call__(self, x, y=None):
    h = _mlp(x, self.hidden, self.depth, 'trunk')
    s = layers.dense(self.num_domains * self.style_dim, name='heads')(h).reshape((-1, self.num_domains, self.style_dim))
    return s if y is None else layers.gather_domain(s, y)


class VectorDiscriminator(nn.Module):
  """D(x, u): [B, dim] -> logit [B] of domain y."""
  num_domains: int
  hidden: int = 64
  depth: int = 2

  @nn.compact
  def __call__(self, x, y):
    h = _mlp(x, self.hidden, self.depth, 'trunk')
    return layers.gather_domain(layers.dense(self.num_domains, name='logits')(h), y)
