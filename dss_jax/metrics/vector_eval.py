"""Evaluation on vector data (`datasets/vector.py`), where `unmix` reads every true factor exactly.

All figures are per target domain, then averaged; style figures also per factor:
  mcc            E(x, u) against x's true style (Spearman, best one-to-one matching): identifiability
  mcc_factor     the same, per true factor
  latent_mcc     F(z, u) against the style unmix reads from G(x, F(z, u)): is the latent path disentangled?
  uni_acc        held-out accuracy of an MLP classifier telling F(z, u) from E(x, u) (0.5 = unified),
  uni_floor      the same classifier on two halves of E(x, u) (sampling noise), uni_gap = acc - floor.
                 Caution: a model whose E and F collapse to one point together also scores ~0; read it
                 beside z_effect.
  style_w1       1-D Wasserstein distance between the style of G(x, F(z, u)) and the true p(s | u), per
                 factor, in units of the true per-domain spread
  z_effect       collapse, measured where it can fail: for a FIXED source x and target domain u, the std over
                 z of the style of G(x, F(z, u)), over the true per-domain std; per factor, then the mean over
                 sources and domains (1 = the outputs vary as much as the data, 0 = z is ignored). A generator
                 that copies its source scores exactly 0.
  latent_spread  pooled (labelled so: it cannot detect collapse): the std of the same outputs' style over
                 sources AND z together, over the true per-domain std. A generator that ignores z but keeps
                 the source's style scores the spread of the sources' styles, well above 0.
  ref_spearman   within a domain, Spearman between the style of G(x, E(r, u)) and r's true style
  edit_purity    moving one code component by +-1 std (DSS: its z through the flow; StarGAN v2: the code,
                 which has no inverse) from a reference's style: the largest true-factor change over the sum
                 of all (in units of the per-domain spread; 1 = one factor moves alone, 1/n = spread evenly)
  edit_purity_random  the same edit along a random unit direction of the same space (z for the flow, the
                 standardised code for the MLP) of the same model: what purity scores by chance
                 (about 0.72 for n = 2 independent factors)
  edit_purity_gain    edit_purity - edit_purity_random: what the components add over a random direction
  edit_content   the content change of the component edits, over the style change (0 = content untouched)
  content_r2     held-out R^2 of a linear regression from the output's content to the source's content
                 (translation quality; content is isotropic, so it is kept up to a rotation at best)

Trivial baselines (`trivial_model`) are scored by the same code: an untrained model, the untrained model with
a generator that copies its source, and the untrained model whose style encoder is a random linear
projection of the input. A metric on which a trivial baseline lands among the trained models says nothing.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import scipy.stats

from dss_jax.metrics import identifiability

TRIVIAL = ('untrained', 'copy_source', 'random_projection')


@dataclasses.dataclass
class VectorModel:
  """What an evaluation calls, numpy in and out: style(x, u) = E, map(z, u) = F, generate(x, s) = G.

  translator: an `inference.Translator` of the same parameters, for the edit metrics (None: no edits,
  as for a baseline whose parts are not networks)."""
  style: Callable
  map: Callable
  generate: Callable
  z_dim: int
  translator: Any = None


def model_from_params(nets, ema, config=None) -> VectorModel:
  """nets: models.Networks of a vector config; ema: {'generator', 'style'} parameters."""
  gen, style, fmap = jax.jit(nets.generate), jax.jit(nets.style), jax.jit(nets.map)
  p_gen, p_map, p_enc = ema['generator'], ema['style']['mapping'], ema['style']['style_encoder']
  translator = None
  if config is not None:
    from dss_jax import inference
    translator = inference.Translator(config, ema, domains=[str(k) for k in range(nets.num_domains)])
  return VectorModel(style=lambda x, u: np.asarray(style(p_enc, x, u)), map=lambda z, u: np.asarray(fmap(p_map, z, u)),
                     generate=lambda x, s: np.asarray(gen(p_gen, x, s)), z_dim=nets.z_dim, translator=translator)


def trivial_model(name, nets, untrained_ema, data, *, config=None, seed=0) -> VectorModel:
  """A trivial baseline of one seed: 'untrained' (the initial parameters), 'copy_source' (G(x, s) = x) or
  'random_projection' (E(x, u) = x R, R a fixed random [dim, style_dim] Gaussian matrix)."""
  if name not in TRIVIAL:
    raise ValueError(f'Unknown trivial baseline {name!r}; choose from {", ".join(TRIVIAL)}.')
  model = model_from_params(nets, untrained_ema, config if name == 'untrained' else None)
  if name == 'copy_source':
    model.generate = lambda x, s: np.asarray(x, np.float32)
  elif name == 'random_projection':
    proj = np.random.default_rng(3000 + seed).standard_normal((data.dim, nets.style_dim)).astype(np.float32)
    model.style = lambda x, u: np.asarray(x, np.float32) @ proj
  return model


def _per_domain_mean(fn, labels):
  per = [fn(labels == u) for u in np.unique(labels)]
  return np.mean(np.stack(per), axis=0)


def _linear_r2(inputs, targets):
  """R^2 on the second half of a least-squares fit (with intercept) on the first half."""
  n = len(inputs) // 2
  a = np.concatenate([inputs, np.ones((len(inputs), 1))], axis=1)
  coef, *_ = np.linalg.lstsq(a[:n], targets[:n], rcond=None)
  resid = targets[n:] - a[n:] @ coef
  return 1.0 - float(np.sum(resid**2) / np.sum((targets[n:] - targets[n:].mean(0))**2))


def _purity(data, u, out0, out1):
  """Per-source (largest true-style change / sum of changes, content change / style change) of an edit."""
  (c0, s0), (c1, s1) = data.unmix(out0), data.unmix(out1)
  ds = np.abs(s1 - s0) / data.scale[u]
  total = np.maximum(ds.sum(-1), 1e-12)
  return ds.max(-1) / total, np.abs(c1 - c0).sum(-1) / total


def direction_styles(t, s, y, direction):
  """The two codes of an edit along a unit `direction` [d] from codes s [B, d]: the start's coordinate along
  it set to -1 and +1, the rest kept; in z for the flow, in the standardised code (mean, std over F(z, u))
  for the MLP. direction = e_c is exactly `Translator.traverse_styles(u, c, [-1, 1])`."""
  if t.is_flow:
    w = t.style_to_z(s, y)
  else:
    mean, std = t._component_stats(y[0])
    w = (s - mean) / std
  w = w - np.outer(w @ direction, direction)
  ends = [w - direction, w + direction]
  if t.is_flow:
    return [t.style_from_z(e.astype(np.float32), y) for e in ends]
  return [(mean + std * e).astype(np.float32) for e in ends]


def edit_purity(translator, data, *, num_per_domain=100, seed=0) -> dict:
  """`edit_purity`, `edit_purity_random`, `edit_purity_gain` and `edit_content` (module docstring), averaged
  over domains, components (or random directions, one per component) and sources."""
  t = translator
  rng = np.random.default_rng(2000 + seed)
  dir_rng = np.random.default_rng(4000 + seed)
  purity, drift, purity_random = [], [], []
  for u in range(data.num_domains):
    ref, src = data.sample(rng, num_per_domain, np.full(num_per_domain, u)), data.sample(rng, num_per_domain)
    y = np.full(num_per_domain, u, np.int32)
    ref_style = t.encode_style(ref['x'], y)  # The start of every random-direction edit of this domain.
    for c in range(t.style_dim):
      out = t.traverse(src['x'], u, c, [-1.0, 1.0], reference=ref['x'])
      p, d = _purity(data, u, out[0], out[1])
      purity.append(p)
      drift.append(d)
      direction = dir_rng.standard_normal(t.style_dim)
      direction /= np.linalg.norm(direction)
      s0, s1 = direction_styles(t, ref_style, y, direction)
      purity_random.append(_purity(data, u, t.generate(src['x'], s0), t.generate(src['x'], s1))[0])
  out = {'edit_purity': float(np.mean(purity)), 'edit_purity_random': float(np.mean(purity_random)),
         'edit_content': float(np.median(np.concatenate(drift)))}
  out['edit_purity_gain'] = out['edit_purity'] - out['edit_purity_random']
  return out


def z_effect(model, data, *, num_sources=40, num_z=25, seed=0) -> np.ndarray:
  """Fixed-source collapse measure (module docstring): [n_style], per factor, mean over sources and domains."""
  rng = np.random.default_rng(5000 + seed)
  per_domain = []
  for u in range(data.num_domains):
    src = data.sample(rng, num_sources)['x']
    z = rng.standard_normal((num_z, model.z_dim)).astype(np.float32)
    s = model.map(z, np.full(num_z, u, np.int32))
    out = model.generate(np.repeat(src, num_z, axis=0), np.tile(s, (num_sources, 1)))
    style = data.unmix(out)[1].reshape(num_sources, num_z, data.n_style)
    per_domain.append((style.std(1) / data.scale[u]).mean(0))
  return np.mean(per_domain, axis=0)


def evaluate_vector(nets, ema, data, *, config=None, num_per_domain=400, seed=0, model=None) -> dict:
  """nets: models.Networks of a vector config; ema: {'generator', 'style'} parameters; data: VectorData;
  config: the run's config (for the edit metrics; skipped when None); model: a `VectorModel` to score
  instead of the parameters (a trivial baseline)."""
  model = model or model_from_params(nets, ema, config)
  rng = np.random.default_rng(1000 + seed)
  k = data.num_domains
  labels = np.repeat(np.arange(k), num_per_domain).astype(np.int32)
  ref = data.sample(rng, len(labels), labels)
  src = data.sample(rng, len(labels))
  z = rng.standard_normal((len(labels), model.z_dim)).astype(np.float32)

  codes = model.style(ref['x'], labels)
  s_lat = model.map(z, labels)
  out_lat = model.generate(src['x'], s_lat)
  out_ref = model.generate(src['x'], codes)
  c_lat, st_lat = data.unmix(out_lat)
  c_ref, st_ref = data.unmix(out_ref)
  true_std = data.scale[labels]

  def mcc_factors(truth, c):
    return lambda m: identifiability.mcc(truth[m], c[m])['per_factor']

  out = {}
  per_factor = _per_domain_mean(mcc_factors(ref['style'], codes), labels)
  out['mcc'], out['mcc_factor'] = float(per_factor.mean()), per_factor.tolist()
  out['latent_mcc'] = float(_per_domain_mean(mcc_factors(st_lat, s_lat), labels).mean())
  acc = [identifiability.two_sample_accuracy(s_lat[labels == u], codes[labels == u], 'mlp', seed=seed)
         for u in range(k)]
  half = num_per_domain // 2
  floor = [identifiability.two_sample_accuracy(codes[labels == u][:half], codes[labels == u][half:], 'mlp', seed=seed)
           for u in range(k)]
  out['uni_acc'], out['uni_floor'] = float(np.mean(acc)), float(np.mean(floor))
  out['uni_gap'] = out['uni_acc'] - out['uni_floor']
  def w1_factors(m):
    truth = data.sample_style(rng, labels[m])
    return np.array([scipy.stats.wasserstein_distance(st_lat[m, j], truth[:, j]) / data.scale[labels[m][0], j]
                     for j in range(data.n_style)])
  w1 = _per_domain_mean(w1_factors, labels)
  out['style_w1'], out['style_w1_factor'] = float(w1.mean()), w1.tolist()
  spread = _per_domain_mean(lambda m: st_lat[m].std(0) / true_std[m][0], labels)
  out['latent_spread_factor'] = spread.tolist()  # Pooled over sources and z: see the module docstring.
  out['latent_spread_min'] = float(spread.min())
  rho = _per_domain_mean(lambda m: np.array([scipy.stats.spearmanr(st_ref[m, j], ref['style'][m, j])[0]
                                             for j in range(data.n_style)]), labels)
  out['ref_spearman_factor'], out['ref_spearman_min'] = np.nan_to_num(rho).tolist(), float(np.nan_to_num(rho).min())
  out['content_r2'] = float(np.mean([_linear_r2(c, src['content']) for c in (c_lat, c_ref)]))
  effect = z_effect(model, data, seed=seed)
  out['z_effect_factor'], out['z_effect_min'] = effect.tolist(), float(effect.min())
  if model.translator is not None:
    out.update(edit_purity(model.translator, data, seed=seed))
  return out
