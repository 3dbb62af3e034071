"""The two discriminators: StarGAN v2's multi-task image discriminator D(x, u) and DSS's style
discriminator D_s(s, u). Both have one real/fake logit per domain and return the logit of each
sample's domain u.

D shares the style encoder's trunk (`encoders.Trunk`). D_s is a small MLP over style codes; in L_uni
it labels latent codes F(z, u) real and reference codes E(x, u) fake.
"""

import flax.linen as nn
import jax.numpy as jnp

from dss_jax.models import layers
from dss_jax.models.encoders import Trunk


class Discriminator(nn.Module):
  """D(x, u): x [B, H, W, 3], y [B] int -> real/fake logit [B] (float32) of domain y."""
  img_size: int
  num_domains: int
  dim_in: int = 64
  max_conv_dim: int = 512
  dtype: layers.Dtype = jnp.float32

  @nn.compact
  def __call__(self, x, y):
    h = Trunk(self.img_size, self.dim_in, self.max_conv_dim, self.dtype, name='trunk')(x)
    # The reference's final conv1x1 on a 1x1 map is a Dense.
    logits = layers.dense(self.num_domains, dtype=self.dtype, name='logits')(h).astype(jnp.float32)
    return layers.gather_domain(logits, y)


class StyleDiscriminator(nn.Module):
  """D_s(s, u): MLP over style codes s [B, style_dim], one logit per domain -> [B] logit of domain y."""
  num_domains: int
  hidden: int = 256
  depth: int = 2

  @nn.compact
  def __call__(self, s, y):
    h = s.astype(jnp.float32)
    for i in range(self.depth):
      h = layers.leaky_relu(layers.dense(self.hidden, name=f'hidden_{i}')(h))
    return layers.gather_domain(layers.dense(self.num_domains, name='logits')(h), y)
