"""Generator G(x, s) = decoder(E_c(x), s): StarGAN v2's generator split into its two halves.

E_c (`Generator.encode`) is from_rgb + downsampling ResBlks + 2 bottleneck ResBlks with instance
norm; the decoder (`Generator.decode`) mirrors it with AdaIN ResBlks that inject the style code s.
x: [B, H, W, 3] in [-1, 1], s: [B, style_dim]; output unbounded (no tanh, as the reference).

w_hpf > 0 (the CelebA-HQ variant) adds one stage, removes the decoder shortcuts and enables the
high-pass skip path: encoder features at 32, 64 and 128 px are multiplied by landmark masks
(`masks = (coarse, fine)`, each [B, H, W, 1] in [0, 1]), high-pass filtered and added to the
decoder. The masks come from StarGAN v2's pretrained FAN landmark network (models/fan.py; `Networks`
computes them from G's input when config.fan_path is set): when `masks` is None the path is skipped,
and the generator is the plain encoder-decoder.
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from dss_jax.models import layers

HPF_SIZES = (32, 64, 128)  # Spatial sizes at which the high-pass skip path is used.


class Generator(nn.Module):
  img_size: int
  style_dim: int = 64
  dim_in: int = 64
  max_conv_dim: int = 512
  w_hpf: float = 0.0
  dtype: layers.Dtype = jnp.float32

  def setup(self):
    repeat_num = int(math.log2(self.img_size)) - 4 + (1 if self.w_hpf > 0 else 0)
    if repeat_num < 1:
      raise ValueError(f'img_size must be at least 32 (got {self.img_size}).')
    self.from_rgb = layers.conv(self.dim_in, 3, dtype=self.dtype)
    encode, decode = [], []
    dim_in = self.dim_in
    for _ in range(repeat_num):
      dim_out = min(dim_in * 2, self.max_conv_dim)
      encode.append(layers.ResBlk(dim_out, normalize=True, downsample=True, dtype=self.dtype))
      decode.insert(0, layers.AdainResBlk(dim_in, self.w_hpf, upsample=True, dtype=self.dtype))
      dim_in = dim_out
    for _ in range(2):  # Bottleneck blocks.
      encode.append(layers.ResBlk(dim_out, normalize=True, dtype=self.dtype))
      decode.insert(0, layers.AdainResBlk(dim_out, self.w_hpf, dtype=self.dtype))
    self.encode_blocks = encode
    self.decode_blocks = decode
    self.to_rgb_norm = layers.InstanceNorm(self.dtype)
    self.to_rgb_conv = layers.conv(3, 1, dtype=self.dtype)

  def encode(self, x):
    """Content encoder E_c: x [B, H, W, 3] -> (content [B, h, w, C], cache for the high-pass path)."""
    x = self.from_rgb(x.astype(self.dtype))
    cache = {}
    for block in self.encode_blocks:
      if self.w_hpf > 0 and x.shape[1] in HPF_SIZES:
        cache[x.shape[1]] = x
      x = block(x)
    return x, cache

  def decode(self, content, s, cache=None, masks=None):
    """Decoder: content, s [B, style_dim] -> image [B, H, W, 3] (float32)."""
    x = content
    s = s.astype(self.dtype)
    for block in self.decode_blocks:
      x = block(x, s)
      size = x.shape[1]
      if masks is not None and self.w_hpf > 0 and size in HPF_SIZES:
        mask = masks[0] if size == 32 else masks[1]
        # Bilinear, half-pixel centres, no antialiasing: PyTorch interpolate(align_corners=False).
        mask = jax.image.resize(mask, (mask.shape[0], size, size, 1), 'bilinear', antialias=False)
        x = x + layers.high_pass(mask.astype(x.dtype) * cache[size], self.w_hpf)
    x = layers.leaky_relu(self.to_rgb_norm(x))
    return self.to_rgb_conv(x).astype(jnp.float32)

  def __call__(self, x, s, masks=None):
    content, cache = self.encode(x)
    return self.decode(content, s, cache, masks)
