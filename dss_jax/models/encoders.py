"""Style encoder E(x, u) on StarGAN v2's trunk (shared with the image discriminator, `discriminators.py`).

Trunk: conv3x3 -> (log2(img_size) - 2) downsampling ResBlks without norm -> LReLU -> conv4x4
(valid, 4x4 -> 1x1) -> LReLU. E adds one linear head per domain (style codes [B, style_dim]) and
returns the head of each sample's domain u.
"""

import math

import flax.linen as nn
import jax.numpy as jnp

from dss_jax.models import layers


class Trunk(nn.Module):
  img_size: int
  dim_in: int = 64
  max_conv_dim: int = 512
  dtype: layers.Dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    x = layers.conv(self.dim_in, 3, dtype=self.dtype, name='conv_in')(x.astype(self.dtype))
    dim_out = dim_in = self.dim_in
    for i in range(int(math.log2(self.img_size)) - 2):
      dim_out = min(dim_in * 2, self.max_conv_dim)
      x = layers.ResBlk(dim_out, downsample=True, dtype=self.dtype, name=f'block_{i}')(x)
      dim_in = dim_out
    x = layers.conv(dim_out, 4, padding=0, dtype=self.dtype, name='conv_out')(layers.leaky_relu(x))
    return layers.leaky_relu(x).reshape((x.shape[0], -1))


class StyleEncoder(nn.Module):
  """E(x, u): x [B, H, W, 3], y [B] int -> s [B, style_dim] (float32); y=None: every head, [B, K, style_dim]."""
  img_size: int
  num_domains: int
  style_dim: int = 64
  dim_in: int = 64
  max_conv_dim: int = 512
  dtype: layers.Dtype = jnp.float32

  @nn.compact
  def __call__(self, x, y=None):
    h = Trunk(self.img_size, self.dim_in, self.max_conv_dim, self.dtype, name='trunk')(x)
    # K heads Linear(C -> style_dim) as one Dense(C -> K * style_dim): the same parameters.
    s = layers.dense(self.num_domains * self.style_dim, dtype=self.dtype, name='heads')(h)
    s = s.reshape((-1, self.num_domains, self.style_dim)).astype(jnp.float32)
    return s if y is None else layers.gather_domain(s, y)
