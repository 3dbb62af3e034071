"""Evaluation on vector data (`datasets/vector.py`), where `unmix` reads every true factor exactly.

All figures are per target domain, then averaged; style figures also per factor:
  mcc            E(x, u) against x's true style (Spearman, best one-to-one matching): identifiability
  mcc_factor     the same, per true factor
  latent_mcc     F(z, u) against the style unmix reads from G(x, F(z, u)): is the latent path disentangled?
  uni_acc        held-out accuracy of an MLP classifier telling F(z, u) from E(x, u) (0.5 = unified),
  uni_floor      the same classifier on two halves of E(x, u) (sampling noise), uni_gap = acc - floor
  style_w1       1-D Wasserstein distance between the style of G(x, F(z, u)) and the true p(s | u), per
                 factor, in units of the true per-domain spread
  latent_spread  std over z of the style of G(x, F(z, u)) / the true per-domain std, per factor
  ref_spearman   within a domain, Spearman between the style of G(x, E(r, u)) and r's true style
  edit_purity    moving one code component by +-1 std (DSS: its z through the flow; StarGAN v2: the code,
                 which has no inverse) from a reference's style: the largest true-factor change over the sum
                 of all (in units of the per-domain spread; 1 = one factor moves alone, 1/n = spread evenly)
  edit_content   the content change of the same edits, over the style change (0 = content untouched)
  content_r2     held-out R^2 of a linear regression from the output's content to the source's content
                 (translation quality; content is isotropic, so it is kept up to a rotation at best)
"""

import jax
import numpy as np
import scipy.stats

from dss_jax.metrics import identifiability


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


def edit_purity(config, ema, data, *, num_per_domain=100, seed=0) -> dict:
  """`edit_purity` and `edit_content` (module docstring), averaged over domains, components and sources."""
  from dss_jax import inference
  t = inference.Translator(config, ema, domains=[str(k) for k in range(data.num_domains)])
  rng = np.random.default_rng(2000 + seed)
  purity, drift = [], []
  for u in range(data.num_domains):
    ref, src = data.sample(rng, num_per_domain, np.full(num_per_domain, u)), data.sample(rng, num_per_domain)
    for c in range(t.style_dim):
      out = t.traverse(src['x'], u, c, [-1.0, 1.0], reference=ref['x'])
      (c0, s0), (c1, s1) = data.unmix(out[0]), data.unmix(out[1])
      ds = np.abs(s1 - s0) / data.scale[u]
      purity.append(ds.max(-1) / np.maximum(ds.sum(-1), 1e-12))
      drift.append(np.abs(c1 - c0).sum(-1) / np.maximum(ds.sum(-1), 1e-12))
  return {'edit_purity': float(np.mean(purity)), 'edit_content': float(np.median(np.concatenate(drift)))}


def evaluate_vector(nets, ema, data, *, config=None, num_per_domain=400, seed=0) -> dict:
  """nets: models.Networks of a vector config; ema: {'generator', 'style'} parameters; data: VectorData;
  config: the run's config (for the edit metrics; skipped when None)."""
  gen, style = jax.jit(nets.generate), jax.jit(nets.style)
  fmap = jax.jit(nets.map)
  rng = np.random.default_rng(1000 + seed)
  k = data.num_domains
  labels = np.repeat(np.arange(k), num_per_domain).astype(np.int32)
  ref = data.sample(rng, len(labels), labels)
  src = data.sample(rng, len(labels))
  z = rng.standard_normal((len(labels), nets.z_dim)).astype(np.float32)
  p_gen, p_map, p_enc = ema['generator'], ema['style']['mapping'], ema['style']['style_encoder']

  codes = np.asarray(style(p_enc, ref['x'], labels))
  s_lat = np.asarray(fmap(p_map, z, labels))
  out_lat = np.asarray(gen(p_gen, src['x'], s_lat))
  out_ref = np.asarray(gen(p_gen, src['x'], codes))
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
  out['latent_spread_factor'] = spread.tolist()
  out['latent_spread_min'] = float(spread.min())
  rho = _per_domain_mean(lambda m: np.array([scipy.stats.spearmanr(st_ref[m, j], ref['style'][m, j])[0]
                                             for j in range(data.n_style)]), labels)
  out['ref_spearman_factor'], out['ref_spearman_min'] = rho.tolist(), float(rho.min())
  out['content_r2'] = float(np.mean([_linear_r2(c, src['content']) for c in (c_lat, c_ref)]))
  if config is not None:
    out.update(edit_purity(config, ema, data, seed=seed))
  return out
