"""Mapping networks: z -> style code s of domain u.

`FlowMapping` is DSS's: theta_u = MLP(one_hot(u)) parameterises a stack of component-wise
rational-quadratic splines (Durkan et al. 2019, `distrax.RationalQuadraticSpline`) followed by a
per-domain elementwise affine map. Every component s_i depends only on z_i and u (no permutation,
coupling or dense layer on z), so components independent in z stay independent given u. The
conditioner's last layer is zero-initialised: the flow starts as the identity, the same map for
every domain (`affine_init` > 0 adds a per-domain random shift and log-scale, so that the latent
codes carry their domain from step 0, as StarGAN v2's randomly initialised heads do). It is a bijection
with a tractable density, so `inverse` (reference code -> z) and `log_prob` (log p(s | u)) exist.

Precision: in float32 the round trip F^-1(F(z)) returns z within a few eps times the flow's condition
K(z) = sum over the chain's values h of max(|h|, 1) / (dh/dz); a trained flow with derivatives near 1e-3
has K in the thousands (round-trip errors ~1e-4). distrax's quadratic-root inverse is at that float32 limit
(a Newton step does not improve it): scripts/flow_precision.py, tests/flow_numerics.py.

`MappingNetwork` is StarGAN v2's: 4 shared Linear+ReLU layers, then per domain 3 Linear+ReLU and a
Linear to style_dim.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from dss_jax.models import layers


class FlowMapping(nn.Module):
  """s = f(z; theta_u), z and s [B, style_dim], y [B] int."""
  num_domains: int
  style_dim: int = 64
  num_layers: int = 4
  num_bins: int = 8
  range: float = 4.0
  cond_width: int = 256
  cond_depth: int = 2
  affine_init: float = 0.0

  def setup(self):
    self.cond_hidden = [layers.dense(self.cond_width) for _ in range(self.cond_depth)]
    num_params = self.num_layers * self.style_dim * (3 * self.num_bins + 1) + 2 * self.style_dim
    self.cond_out = nn.Dense(num_params, kernel_init=nn.initializers.zeros, bias_init=nn.initializers.zeros)
    if self.affine_init > 0:  # Per-domain random shift and log-scale: domain information from step 0.
      self.domain_affine = self.param('domain_affine', nn.initializers.normal(self.affine_init),
                                      (self.num_domains, 2 * self.style_dim))

  def theta(self, y):
    """theta_u = MLP(one_hot(u)): y [B] -> [B, num_params]."""
    one_hot = jax.nn.one_hot(y, self.num_domains)
    h = one_hot
    for layer in self.cond_hidden:
      h = nn.relu(layer(h))
    theta = self.cond_out(h)
    if self.affine_init > 0:
      theta = theta.at[:, -2 * self.style_dim:].add(one_hot @ self.domain_affine)
    return theta

  def layers(self, y):
    """The elementwise bijectors of domain y in the order they apply to z: splines 0..L-1, then the affine map
    (distrax, event ndims 0). distrax is imported here: through TFP it imports TensorFlow, which only training
    needs."""
    import distrax
    theta = self.theta(y)
    d, n = self.style_dim, 3 * self.num_bins + 1
    splines = theta[:, :self.num_layers * d * n].reshape((-1, self.num_layers, d, n))
    shift, log_scale = theta[:, -2 * d:-d], theta[:, -d:]
    stack = [distrax.RationalQuadraticSpline(splines[:, i], range_min=-self.range, range_max=self.range,
                                             boundary_slopes='identity') for i in range(self.num_layers)]
    return stack + [distrax.ScalarAffine(shift=shift, log_scale=log_scale)]

  def bijector(self, y):
    """The component-wise bijection of domain y (a distrax.Bijector), event ndims 1 (log-dets summed over
    components)."""
    import distrax
    # distrax.Chain applies its last element first: splines 0..L-1, then the affine map.
    return distrax.Block(distrax.Chain(self.layers(y)[::-1]), ndims=1)

  def __call__(self, z, y):
    return self.bijector(y).forward(z)

  def forward_and_log_det(self, z, y):
    """-> (s [B, D], log|det ds/dz| [B])."""
    return self.bijector(y).forward_and_log_det(z)

  def inverse(self, s, y):
    """z = f^-1(s; theta_u): reference codes to the Gaussian space."""
    return self.bijector(y).inverse(s)

  def inverse_and_log_det(self, s, y):
    return self.bijector(y).inverse_and_log_det(s)

  def log_prob(self, s, y):
    """log p(s | u) = log N(f^-1(s); 0, I) + log|det dz/ds|: [B]."""
    z, log_det = self.inverse_and_log_det(s, y)
    return jax.scipy.stats.norm.logpdf(z).sum(-1) + log_det


class MappingNetwork(nn.Module):
  """StarGAN v2's F(z, y): z [B, latent_dim], y [B] int -> s [B, style_dim]."""
  num_domains: int
  style_dim: int = 64
  hidden: int = 512

  @nn.compact
  def __call__(self, z, y):
    h = z
    for i in range(4):
      h = nn.relu(layers.dense(self.hidden, name=f'shared_{i}')(h))
    heads = []
    for k in range(self.num_domains):
      g = h
      for i in range(3):
        g = nn.relu(layers.dense(self.hidden, name=f'unshared_{k}_{i}')(g))
      heads.append(layers.dense(self.style_dim, name=f'unshared_{k}_3')(g))
    return layers.gather_domain(jnp.stack(heads, axis=1), y)
