"""Vector data with known factors: the identifiability theorem's setting, small enough for many seeds.

x = mix([c, s]) where c ~ U(-sqrt 3, sqrt 3)^m (content, unit variance, the same in every domain; not
Gaussian, so no rotation mixes content components into one another or into style) and, given u, the
style components are independent Gaussians s_i | u ~ N(loc[u, i], scale[u, i]^2). `mix` is a fixed
random invertible nonlinear map (`MIX_LAYERS` layers of a well-conditioned square matrix, a bias and
a leaky ReLU), so `unmix` reads the true factors of any vector exactly: an oracle with no error.

Variants (`VARIANTS`) say how the domains differ:
  'full'           loc and scale both differ between domains: with K >= 2n+1 domains the theorem's
                   sufficient-variation condition holds (the positive case).
  'location_only'  every domain has the same scale, only loc differs: the second derivatives of
                   log p(s_i | u) are equal across domains, so the condition fails for any K (a
                   negative control), whatever the number of domains.
The number of domains is a parameter: K < 2n+1 is the other negative control.

  data = make(n_style=2, n_content=2, num_domains=5)
  batch = data.sample(rng, 64)          # dict(x, label, content, style)
  content, style = data.unmix(x)
"""

import dataclasses

import numpy as np

VARIANTS = ('full', 'location_only')
MIX_LAYERS = 2
LEAK = 0.5


def _leaky(h):
  return np.where(h > 0, h, LEAK * h)


def _leaky_inv(h):
  return np.where(h > 0, h, h / LEAK)


def _well_conditioned(rng, d):
  """A random d x d matrix with singular values in [0.7, 1.4]."""
  u, _ = np.linalg.qr(rng.standard_normal((d, d)))
  v, _ = np.linalg.qr(rng.standard_normal((d, d)))
  return (u * rng.uniform(0.7, 1.4, d)) @ v


@dataclasses.dataclass(frozen=True)
class VectorData:
  n_style: int
  n_content: int
  num_domains: int
  variant: str
  loc: np.ndarray  # [K, n_style]
  scale: np.ndarray  # [K, n_style]
  weights: tuple  # MIX_LAYERS x ([D, D] matrix, [D] bias)

  @property
  def dim(self) -> int:
    return self.n_style + self.n_content

  def mix(self, content, style):
    h = np.concatenate([content, style], axis=-1)
    for w, b in self.weights:
      h = _leaky(h @ w + b)
    return h.astype(np.float32)

  def unmix(self, x):
    """x [N, dim] -> (content [N, n_content], style [N, n_style]), exact for any x."""
    h = np.asarray(x, np.float64)
    for w, b in reversed(self.weights):
      h = np.linalg.solve(w.T, (_leaky_inv(h) - b).T).T
    return h[:, :self.n_content], h[:, self.n_content:]

  def sample_style(self, rng, labels):
    labels = np.asarray(labels)
    return self.loc[labels] + self.scale[labels] * rng.standard_normal((len(labels), self.n_style))

  def sample(self, rng, n: int, labels=None) -> dict:
    labels = rng.integers(0, self.num_domains, n) if labels is None else np.asarray(labels)
    content = rng.uniform(-np.sqrt(3), np.sqrt(3), (len(labels), self.n_content))
    style = self.sample_style(rng, labels)
    return {'x': self.mix(content, style), 'label': labels.astype(np.int32), 'content': content, 'style': style}

  def log_prob(self, style, labels):
    """log p(s | u), summed over components: [N]."""
    z = (style - self.loc[labels]) / self.scale[labels]
    return (-0.5 * z**2 - np.log(self.scale[labels]) - 0.5 * np.log(2 * np.pi)).sum(-1)

  def batches(self, batch_size: int, seed: int):
    """Endless training batches in the step's format: x_src, y_src (domain-balanced), x_ref, x_ref2 of y_trg."""
    rng = np.random.default_rng(seed)
    while True:
      src = self.sample(rng, batch_size)
      y_trg = rng.integers(0, self.num_domains, batch_size).astype(np.int32)
      yield {'x_src': src['x'], 'y_src': src['label'], 'x_ref': self.sample(rng, batch_size, y_trg)['x'],
             'x_ref2': self.sample(rng, batch_size, y_trg)['x'], 'y_trg': y_trg}


def make(n_style: int = 2, n_content: int = 2, num_domains: int | None = None, variant: str = 'full',
         seed: int = 0) -> VectorData:
  """The dataset of one seed (the mixing and the per-domain style distributions are fixed by it)."""
  if variant not in VARIANTS:
    raise ValueError(f'The vector data variant must be one of {VARIANTS}, not {variant!r}.')
  k = 2 * n_style + 1 if num_domains in (None, -1, 0) else int(num_domains)
  if k < 2:
    raise ValueError(f'The vector data needs at least 2 domains (got {k}).')
  # Settings are paired: one seed draws the same mixing and the same first domains whatever the variant and
  # K (a control changes only the condition it tests). Locations and scales are drawn for at least 2n+1
  # domains and cut to K; 'location_only' draws the scales too, then replaces them, so the mixing drawn
  # after them is the same.
  rng = np.random.default_rng(10_000 + seed)
  k_draw = max(k, 2 * n_style + 1)
  loc = rng.uniform(-1.5, 1.5, (k_draw, n_style))[:k]
  scale = np.exp(rng.uniform(np.log(0.25), np.log(1.0), (k_draw, n_style)))[:k]
  if variant == 'location_only':
    scale = np.full((k, n_style), 0.5)
  d = n_style + n_content
  weights = tuple((_well_conditioned(rng, d), rng.uniform(-0.3, 0.3, d)) for _ in range(MIX_LAYERS))
  return VectorData(n_style, n_content, k, variant, loc, scale, weights)


def from_config(config) -> VectorData:
  v = config.vector
  return make(v.n_style, v.n_content, config.num_domains, v.variant, v.data_seed)
