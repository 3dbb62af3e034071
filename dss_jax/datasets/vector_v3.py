"""Benchmark v3 data: vectors where the identifiability theorem's conditions hold with margin, and controls
that are exact symmetries.

Benchmark v2 (`datasets/vector.py`, kept unchanged as history) could not decide identifiability: an
exact-likelihood estimator recovered its style plane but not the components (K = 5 domains whose scales differ
by at most 4x, n = 2, where a randomly rotated true style already scores MCC 0.87). v3 follows the field's
generators (iVAE: many segments whose variances differ widely; iMSDA: deep leaky-ReLU mixing) and
../shared/docs/IDENTIFIABILITY.md:

  x = mix([c, s]),  c ~ N(0, I_m) (the same in every domain),  s_i | u ~ N(loc[u, i], scale[u, i]^2)

with n = 3 style components, m = 2 content components, K = 15 domains (2n+1 = 7 needed), locations
U(-2, 2), scales log-U(0.2, 2) (ratios up to 10 between domains), Gaussian content (the theorem assumes
positive densities with smooth log-densities, which v2's uniform content, of bounded support, is not; the
domains' variation alone separates style from content), and a mixing of `MIX_LAYERS` = 3 well-conditioned
square layers with leaky ReLU slope `LEAK` = 0.2 (v2: 2 layers, slope 0.5). `unmix` inverts the mixing
exactly, so every evaluation reads the true factors of any vector.

Settings (`SETTINGS`), paired: one seed draws the same mixing, and the same locations, in every setting, so a
control changes only the condition it tests:
  main            loc and scale vary across domains: the theorem's sufficient variation holds with margin.
  location_iso    every domain and component has the same scale; only the location moves. An exact symmetry:
                  any rotation R of the style plane maps N(loc_u, sigma^2 I) to N(R loc_u, sigma^2 I), again
                  component-wise independent given u, so no method can prefer the true axes. Its signature
                  is that restarts and seeds recover different rotations (a spread), not a low mean.
  single_domain   K = 1: no auxiliary variable. Once each latent component is standardised, any rotation of
                  the latent fits as well (ceiling only: a translation model needs two domains).

  data = make(seed=7001)                  # main
  batch = data.sample(rng, 64)            # dict(x, label, content, style)
  content, style = data.unmix(batch['x'])
"""

import dataclasses

import numpy as np

from dss_jax.datasets import vector

N_STYLE = 3
N_CONTENT = 2
NUM_DOMAINS = 15
MIX_LAYERS = 3
LEAK = 0.2
LOC_RANGE = 2.0
SCALE_RANGE = (0.2, 2.0)
ISO_SCALE = 0.6  # location_iso: every domain's and component's scale (the geometric middle of SCALE_RANGE).
SETTINGS = {'main': dict(num_domains=NUM_DOMAINS, iso=False), 'location_iso': dict(num_domains=NUM_DOMAINS, iso=True),
            'single_domain': dict(num_domains=1, iso=False)}


def _leaky(h):
  return np.where(h > 0, h, LEAK * h)


def _leaky_inv(h):
  return np.where(h > 0, h, h / LEAK)


@dataclasses.dataclass(frozen=True)
class VectorDataV3(vector.VectorData):
  """v2's `VectorData` (batches, log_prob, the step's batch format) with v3's content and mixing."""
  setting: str = 'main'

  def sample(self, rng, n: int, labels=None) -> dict:
    labels = rng.integers(0, self.num_domains, n) if labels is None else np.asarray(labels)
    content = rng.standard_normal((len(labels), self.n_content))
    style = self.sample_style(rng, labels)
    return {'x': self.mix(content, style), 'label': labels.astype(np.int32), 'content': content, 'style': style}

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

  def log_prob_x(self, x, labels):
    """The true log p(x | u) [N] (change of variables through the exact mixing): what a likelihood estimator
    should approach, and cannot beat on held-out data."""
    h = np.asarray(x, np.float64)
    log_det = np.zeros(len(h))
    for w, b in reversed(self.weights):
      log_det += np.where(h > 0, 0.0, -np.log(LEAK)).sum(-1)  # d leaky^-1 / dh
      h = _leaky_inv(h)
      h = np.linalg.solve(w.T, (h - b).T).T
      log_det -= np.linalg.slogdet(w)[1]
    content, style = h[:, :self.n_content], h[:, self.n_content:]
    log_c = (-0.5 * content**2 - 0.5 * np.log(2 * np.pi)).sum(-1)
    return log_c + self.log_prob(style, np.asarray(labels)) + log_det


def make(setting: str = 'main', seed: int = 0, num_domains: int | None = None) -> VectorDataV3:
  """The dataset of one seed and setting (`SETTINGS`); num_domains overrides the setting's K (main only)."""
  if setting not in SETTINGS:
    raise ValueError(f'The v3 vector setting must be one of {", ".join(SETTINGS)}, not {setting!r}.')
  spec = SETTINGS[setting]
  k = int(num_domains or spec['num_domains'])
  # Everything is drawn for NUM_DOMAINS domains in one order whatever the setting, then cut or replaced, so
  # that a seed's mixing is the same in every setting (the controls are paired with main).
  rng = np.random.default_rng(30_000 + seed)
  k_draw = max(k, NUM_DOMAINS)
  loc = rng.uniform(-LOC_RANGE, LOC_RANGE, (k_draw, N_STYLE))[:k]
  scale = np.exp(rng.uniform(*np.log(SCALE_RANGE), (k_draw, N_STYLE)))[:k]
  d = N_STYLE + N_CONTENT
  weights = tuple((vector._well_conditioned(rng, d), rng.uniform(-0.3, 0.3, d)) for _ in range(MIX_LAYERS))
  if spec['iso']:
    scale = np.full((k, N_STYLE), ISO_SCALE)
  if k == 1:
    loc = np.zeros((1, N_STYLE))
  return VectorDataV3(N_STYLE, N_CONTENT, k, 'full', loc, scale, weights, setting)
