"""The exact-likelihood estimator of vector data: the ceiling DSS is measured against (iFlow / iVAE style).

An invertible network h maps x [B, d] to a latent (content [B, m], style [B, n]); its density is

  log p(x | u) = log N(content; 0, I) + log p_F(style | u) + log |det dh/dx|

where p_F(. | u) is DSS's own component-wise, domain-conditional RQ-spline flow (`mapping.FlowMapping`,
with a random per-domain shift at init so domains differ from step 0) and the content prior is the same in
every domain. Trained by maximum likelihood, it is the estimator the identifiability theorem is about: if it
matches p(x | u) in every domain, its style components are the true ones up to permutation and component-wise
maps. It also translates: generate(x, s) = h^-1([content(x), s]) swaps a vector's style for s.

h is `num_blocks` blocks of (an invertible dense layer, then two affine-free coupling layers whose
element-wise transforms are rational-quadratic splines: a neural spline flow, Durkan et al. 2019), after a
fixed standardisation of x. The couplings' last layers are zero-initialised, so h starts as a random
rotation of the standardised data.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from dss_jax.models.mapping import FlowMapping


class SplineCoupling(nn.Module):
  """y[~mask] = spline(x[~mask]; MLP(x[mask])), y[mask] = x[mask]. mask: tuple of bools over the d features."""
  mask: tuple
  hidden: int = 64
  depth: int = 2
  num_bins: int = 8
  range: float = 5.0

  def setup(self):
    num_changed = len(self.mask) - sum(self.mask)
    self.hidden_layers = [nn.Dense(self.hidden) for _ in range(self.depth)]
    self.out = nn.Dense(num_changed * (3 * self.num_bins + 1), kernel_init=nn.initializers.zeros)

  def _spline(self, kept, num_changed):
    import distrax
    h = kept
    for layer in self.hidden_layers:
      h = nn.gelu(layer(h))
    params = self.out(h)
    return distrax.RationalQuadraticSpline(params.reshape(kept.shape[0], num_changed, -1), range_min=-self.range,
                                           range_max=self.range, boundary_slopes='identity')

  def _apply(self, x, inverse):
    idx_keep = [i for i, m in enumerate(self.mask) if m]
    idx_change = [i for i, m in enumerate(self.mask) if not m]
    spline = self._spline(x[:, idx_keep], len(idx_change))
    fn = spline.inverse_and_log_det if inverse else spline.forward_and_log_det
    changed, log_det = fn(x[:, idx_change])
    out = jnp.zeros_like(x).at[:, idx_keep].set(x[:, idx_keep]).at[:, idx_change].set(changed)
    return out, log_det.sum(-1)

  def __call__(self, x):
    return self._apply(x, inverse=False)

  def inverse(self, y):
    return self._apply(y, inverse=True)


class InvertibleDense(nn.Module):
  """y = x W + b with W [d, d] (orthogonal at init); log|det W| by slogdet (d is small)."""
  dim: int

  def setup(self):
    self.w = self.param('w', nn.initializers.orthogonal(), (self.dim, self.dim))
    self.b = self.param('b', nn.initializers.zeros, (self.dim,))

  def __call__(self, x):
    return x @ self.w + self.b, jnp.full(x.shape[:1], jnp.linalg.slogdet(self.w)[1])

  def inverse(self, y):
    return jnp.linalg.solve(self.w.T, (y - self.b).T).T, jnp.full(y.shape[:1], -jnp.linalg.slogdet(self.w)[1])


class LikelihoodModel(nn.Module):
  """x [B, d] -> latent [B, d] = (content [B, n_content], style [B, n_style]) and log p(x | u).

  shift, scale: the fixed standardisation of x (data statistics, [d] each), part of h."""
  n_content: int
  n_style: int
  num_domains: int
  shift: tuple
  scale: tuple
  num_blocks: int = 4
  hidden: int = 64
  num_bins: int = 8
  prior_layers: int = 2
  prior_affine_init: float = 0.5

  def setup(self):
    d = self.n_content + self.n_style
    half = tuple(i < d // 2 for i in range(d))
    other = tuple(not m for m in half)
    self.dense = [InvertibleDense(d) for _ in range(self.num_blocks)]
    self.couplings = [(SplineCoupling(half, self.hidden, num_bins=self.num_bins),
                       SplineCoupling(other, self.hidden, num_bins=self.num_bins)) for _ in range(self.num_blocks)]
    self.prior = FlowMapping(self.num_domains, self.n_style, self.prior_layers, self.num_bins, 5.0, self.hidden, 2,
                             self.prior_affine_init)

  def encode(self, x):
    """h(x) -> (latent [B, d], log|det dh/dx| [B])."""
    shift, scale = jnp.array(self.shift), jnp.array(self.scale)
    h = (x - shift) / scale
    log_det = jnp.full(x.shape[:1], -jnp.log(scale).sum())
    for dense, (c1, c2) in zip(self.dense, self.couplings):
      for layer in (dense, c1, c2):
        h, ld = layer(h)
        log_det = log_det + ld
    return h, log_det

  def decode(self, latent):
    """h^-1(latent) -> x [B, d]."""
    h = latent
    for dense, (c1, c2) in zip(self.dense[::-1], self.couplings[::-1]):
      for layer in (c2, c1, dense):
        h, _ = layer.inverse(h)
    return h * jnp.array(self.scale) + jnp.array(self.shift)

  def split(self, latent):
    return latent[:, :self.n_content], latent[:, self.n_content:]

  def log_prob(self, x, y):
    """log p(x | u): [B]."""
    latent, log_det = self.encode(x)
    content, style = self.split(latent)
    return jax.scipy.stats.norm.logpdf(content).sum(-1) + self.prior.log_prob(style, y) + log_det

  def style(self, x):
    return self.split(self.encode(x)[0])[1]

  def generate(self, x, s):
    """x with its style replaced by s: h^-1([content(x), s])."""
    content = self.split(self.encode(x)[0])[0]
    return self.decode(jnp.concatenate([content, s], axis=-1))

  def map(self, z, y):
    """The prior's sampler: style = F(z; u), z ~ N(0, I)."""
    return self.prior(z, y)

  def map_inverse(self, s, y):
    return self.prior.inverse(s, y)

  def __call__(self, x, y):
    return self.log_prob(x, y)
