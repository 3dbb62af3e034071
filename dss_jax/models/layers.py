"""Building blocks shared by the StarGAN v2 networks (NHWC, images in [-1, 1]).

Facts from the reference (STARGAN_V2_REFERENCE.md section 1): pre-activation residual blocks,
LeakyReLU(0.2), 3x3 convs with bias, 1x1 shortcut convs without bias, 2x2 average pooling, nearest
x2 upsampling, instance norm with eps 1e-5 and biased variance, residual merge divided by sqrt(2).
"""

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

# He-normal (fan_in, untruncated) weights and zero biases, as the reference's he_init.
he_normal = nn.initializers.variance_scaling(2.0, 'fan_in', 'normal')
Dtype = Any


def leaky_relu(x):
  return nn.leaky_relu(x, negative_slope=0.2)


def conv(features, kernel, *, bias=True, padding=None, dtype=jnp.float32, name=None):
  """A conv with the reference's padding (k // 2, zero) and He init."""
  pad = kernel // 2 if padding is None else padding
  return nn.Conv(features, (kernel, kernel), padding=((pad, pad), (pad, pad)), use_bias=bias,
                 kernel_init=he_normal, bias_init=nn.initializers.zeros, dtype=dtype, name=name)


def dense(features, *, dtype=jnp.float32, name=None, kernel_init=he_normal):
  return nn.Dense(features, kernel_init=kernel_init, bias_init=nn.initializers.zeros, dtype=dtype, name=name)


def avg_pool2(x):
  return nn.avg_pool(x, (2, 2), strides=(2, 2))


def upsample2(x):
  """Nearest-neighbour x2: x [B, H, W, C] -> [B, 2H, 2W, C]."""
  return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def instance_norm(x, eps=1e-5):
  """Per-sample, per-channel normalisation over H, W (biased variance), statistics in float32."""
  x32 = x.astype(jnp.float32)
  mean = x32.mean(axis=(1, 2), keepdims=True)
  var = jnp.square(x32 - mean).mean(axis=(1, 2), keepdims=True)
  return ((x32 - mean) * jax.lax.rsqrt(var + eps)).astype(x.dtype)


class InstanceNorm(nn.Module):
  """Instance norm with learned scale (init 1) and bias (init 0): PyTorch InstanceNorm2d(affine=True)."""
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    c = x.shape[-1]
    scale = self.param('scale', nn.initializers.ones, (c,))
    bias = self.param('bias', nn.initializers.zeros, (c,))
    return instance_norm(x) * scale.astype(self.dtype) + bias.astype(self.dtype)


class ResBlk(nn.Module):
  """Pre-activation residual block of the generator encoder, style encoder and discriminator."""
  dim_out: int
  normalize: bool = False
  downsample: bool = False
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    dim_in = x.shape[-1]
    shortcut = x
    if dim_in != self.dim_out:
      shortcut = conv(self.dim_out, 1, bias=False, dtype=self.dtype, name='conv1x1')(shortcut)
    if self.downsample:
      shortcut = avg_pool2(shortcut)
    h = x
    if self.normalize:
      h = InstanceNorm(self.dtype, name='norm1')(h)
    h = conv(dim_in, 3, dtype=self.dtype, name='conv1')(leaky_relu(h))
    if self.downsample:
      h = avg_pool2(h)
    if self.normalize:
      h = InstanceNorm(self.dtype, name='norm2')(h)
    h = conv(self.dim_out, 3, dtype=self.dtype, name='conv2')(leaky_relu(h))
    return (shortcut + h) / math.sqrt(2)


class AdaIN(nn.Module):
  """(1 + gamma(s)) * IN(x) + beta(s), gamma and beta from one Dense(style -> 2C)."""
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x, s):
    c = x.shape[-1]
    h = dense(2 * c, dtype=self.dtype, name='fc')(s)[:, None, None, :]
    gamma, beta = h[..., :c], h[..., c:]
    return (1 + gamma) * instance_norm(x) + beta


class AdainResBlk(nn.Module):
  """Decoder block: AdaIN residual branch; shortcut only when w_hpf == 0 (as the reference)."""
  dim_out: int
  w_hpf: float = 0.0
  upsample: bool = False
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x, s):
    dim_in = x.shape[-1]
    h = leaky_relu(AdaIN(self.dtype, name='norm1')(x, s))
    if self.upsample:
      h = upsample2(h)
    h = conv(self.dim_out, 3, dtype=self.dtype, name='conv1')(h)
    h = leaky_relu(AdaIN(self.dtype, name='norm2')(h, s))
    h = conv(self.dim_out, 3, dtype=self.dtype, name='conv2')(h)
    if self.w_hpf > 0:
      # The reference creates a 1x1 shortcut here but never uses it; we do not create it.
      return h
    shortcut = upsample2(x) if self.upsample else x
    if dim_in != self.dim_out:
      shortcut = conv(self.dim_out, 1, bias=False, dtype=self.dtype, name='conv1x1')(shortcut)
    return (shortcut + h) / math.sqrt(2)


def high_pass(x, w_hpf):
  """Fixed depthwise 3x3 Laplacian-like filter [[-1,-1,-1],[-1,8,-1],[-1,-1,-1]] / w_hpf, zero padding."""
  c = x.shape[-1]
  kernel = jnp.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], x.dtype) / w_hpf
  kernel = jnp.tile(kernel[:, :, None, None], (1, 1, 1, c))  # HWIO with feature_group_count = C.
  return jax.lax.conv_general_dilated(x, kernel, (1, 1), ((1, 1), (1, 1)),
                                      dimension_numbers=('NHWC', 'HWIO', 'NHWC'), feature_group_count=c)


def gather_domain(values, y):
  """values [B, K, ...], y [B] int -> values[b, y[b]]: the head of each sample's domain."""
  return jnp.take_along_axis(values, y.reshape((-1,) + (1,) * (values.ndim - 1)), axis=1)[:, 0]
