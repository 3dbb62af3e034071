"""`--mode=eval`: StarGAN v2's FID/LPIPS protocol and, on the synthetic dataset, the identifiability benchmark.

  python -m dss_jax.main --config=configs/synthetic.py --workdir=runs/demo --mode=eval
  python -m dss_jax.main --config=configs/afhq.py --workdir=runs/afhq --mode=eval \
      --config.inception_path=weights/inception_torchvision.npz --config.lpips_path=weights/lpips_alex.npz

Writes <workdir>/metrics_step<N>.json (every number) and metrics_step<N>.md (a table: metric, the
model's value, and the reference points that give it meaning: floors, trivial answers, ceilings);
the FID/LPIPS part also goes to <workdir>/fid_lpips_step<N>.json. What each metric means:
README.md ("Metrics").

- `fid_lpips`: for mode in (latent, reference), every ordered pair of domains (K(K-1) tasks); each
  validation image of the source domain is translated `config.num_outs_per_domain` (10) times (fresh z,
  or the next target-domain validation images, cycling, so a validation folder smaller than the batch is
  fine: StarGAN v2 crashed there); FID of a task's outputs against all training images of the target
  domain; LPIPS = mean over the 45 pairs of the 10 outputs of a source, averaged over batches. Per task and
  mean. Needs config.inception_path / config.lpips_path: without a file, that metric is skipped with the
  message saying how to make it, and everything else runs.
- `evaluate_synthetic`: MCC (per domain, beside a randomly initialised style encoder), DCI, counterfactual
  error beside the trivial answers, oracle-read latent-guided quality beside the Bayes ceiling, the
  unification gap and smoothness.
"""

import os

import jax
import numpy as np
from absl import logging

from dss_jax import eval_data, inference
from dss_jax import images as imglib
from dss_jax import state as state_lib
from dss_jax.datasets import registry
from dss_jax.errors import WEIGHT_FILES, MetricWeightsNotFoundError
from dss_jax.metrics import fid as fid_lib
from dss_jax.metrics import identifiability, oracle, report

# ------------------------------------------------------------------------------------------ helpers


def _translator(config, model, workdir=None, checkpoint=None) -> inference.Translator:
  """A Translator from a Translator, a TrainState, or (None) the workdir's checkpoint."""
  if isinstance(model, inference.Translator):
    return model
  if model is not None:
    return inference.Translator.from_state(config, model)
  return inference.Translator.from_checkpoint_flag(workdir, checkpoint, config=config)


def _batches(config, split):
  """(images [b, H, W, 3] in [-1, 1], labels [b]) batches of a split, in a fixed order (synthetic: no TensorFlow)."""
  for batch in eval_data.eval_batches(config, split):
    yield batch['image'], batch['label']


def _split_by_domain(config, split):
  """{domain: uint8 images [N, H, W, 3]} of a split (uint8 keeps AFHQ's validation set small in memory)."""
  out = {}
  for x, labels in _batches(config, split):
    for u in np.unique(labels):
      out.setdefault(int(u), []).append(imglib.to_uint8(x[labels == u]))
  return {u: np.concatenate(v) for u, v in sorted(out.items())}


def _real_stats(config, feature_fn):
  """{domain: (mu, sigma)} of the features of every training image, streamed (AFHQ's train set is 15k images)."""
  feats = {}
  for x, labels in _batches(config, 'train'):
    f = np.asarray(feature_fn(np.asarray(x, np.float32)))
    for u in np.unique(labels):
      feats.setdefault(int(u), []).append(f[labels == u])
  return {u: fid_lib.gaussian_stats(np.concatenate(v)) for u, v in feats.items()}


# ------------------------------------------------------------------------------------------ FID / LPIPS


def _load_metric_networks(config):
  """(inception variables or None, lpips params or None, `skip_notes` for what is missing)."""
  from dss_jax.metrics import lpips as lpips_lib
  missing, inception, lpips_params = {}, None, None
  try:
    inception = fid_lib.load_inception(config.inception_path)
  except MetricWeightsNotFoundError as e:
    missing['FID'] = e
  try:
    lpips_params = lpips_lib.load_lpips(config.lpips_path)
  except MetricWeightsNotFoundError as e:
    missing['LPIPS'] = e
  return inception, lpips_params, skip_notes(missing, config.dataset == 'synthetic')


def skip_notes(missing: dict, benchmark: bool) -> list[str]:
  """One note per skipped metric ('FID' | 'LPIPS' -> its MetricWeightsNotFoundError): its first line says why it
  is skipped, whether the other one is skipped too, and what evaluation still measures, true in every
  combination (each note once said the other metric still ran when both were skipped); the next lines, how
  to make the file. benchmark: the identifiability benchmark runs too (synthetic dataset)."""
  runs = [m for m in ('FID', 'LPIPS') if m not in missing] + (['the identifiability benchmark'] if benchmark else [])
  notes = []
  for metric, error in missing.items():
    first, _, rest = str(error).partition('\n')
    also = [m for m in missing if m != metric]
    too = f' ({also[0]} is skipped too)' if also else ''
    still = (f'evaluation measures {" and ".join(runs)} without {" and ".join(missing)}' if runs
             else 'evaluation measures nothing')
    notes.append(f'{first.rstrip(".")}{too}; {still}.' + (f'\n{rest}' if rest else ''))
  return notes


def _reference_stream(rng, n):
  """Endless reference indices: one shuffled pass over the n target images after another (a fresh order each
  pass, so outputs differ even when the folder is smaller than the batch; StarGAN v2 crashed there)."""
  while True:
    yield from rng.permutation(n)


def _task_name(src: str, trg: str) -> str:
  """StarGAN v2's task names ('cat2dog'); '<src>_to_<trg>' when a name ends in a digit ('domain0_to_domain1')."""
  return f'{src}_to_{trg}' if src[-1:].isdigit() or trg[:1].isdigit() else f'{src}2{trg}'


def fid_lpips(config, model, workdir=None, modes=('latent', 'reference'), seed=None, *, feature_fn=None,
              lpips_fn=None, num_outs=None, checkpoint=None) -> dict:
  """StarGAN v2's evaluation protocol (module docstring). Returns
  {'FID_<mode>': {'<src>2<trg>': float, ..., 'mean'}, 'LPIPS_<mode>': {...}, 'skipped': [messages]}.

  feature_fn (images [N, H, W, 3] in [-1, 1] -> features [N, d]) and lpips_fn (outputs [M, B, H, W, 3] ->
  mean pairwise distance) default to the torchvision Inception-v3 and LPIPS networks of the config's
  weight files; give them to evaluate with other networks (tests use cheap stand-ins).
  """
  from dss_jax.metrics import lpips as lpips_lib
  t = _translator(config, model, workdir, checkpoint)
  seed = config.seed if seed is None else seed
  num_outs = num_outs or config.num_outs_per_domain
  skipped = []
  if feature_fn is None or lpips_fn is None:
    inception, lpips_params, skipped = _load_metric_networks(config)
    if skipped and not (config.inception_path or config.lpips_path):  # Not asked for: one line, no warning.
      logging.info('FID and LPIPS are skipped: they need weight files (--config.inception_path=%s, '
                   '--config.lpips_path=%s; README.md "Metrics" says how to make them)%s.', *WEIGHT_FILES.values(),
                   '; the identifiability benchmark is measured' if config.dataset == 'synthetic' else '')
    else:
      for message in skipped:
        logging.warning('%s', message)
    if feature_fn is None and inception is not None:
      feature_fn = lambda x: fid_lib.inception_features(inception, x, batch_size=config.val_batch_size)
    if lpips_fn is None and lpips_params is not None:
      lpips_fn = lambda outs: lpips_lib.mean_pairwise_lpips(lpips_params, outs)
  result = {'skipped': skipped}
  if feature_fn is None and lpips_fn is None:
    return result

  val = _split_by_domain(config, 'test')
  domains = sorted(val)
  # Real statistics: all training images of each domain, computed once for both modes.
  real_stats = _real_stats(config, feature_fn) if feature_fn is not None else {}
  b = config.val_batch_size
  for mode in modes:
    if mode not in ('latent', 'reference'):
      raise ValueError(f"eval modes are 'latent' and 'reference', not {mode!r}.")
    rng = np.random.default_rng(seed)
    fids, lpipss = {}, {}
    for src in domains:
      for trg in domains:
        if src == trg:
          continue
        task = _task_name(t.domains[src], t.domains[trg])
        x_src = val[src][rng.permutation(len(val[src]))]
        refs = _reference_stream(rng, len(val[trg]))
        fake_feats, batch_lpips = [], []
        for start in range(0, len(x_src), b):
          x = imglib.from_uint8(x_src[start:start + b])
          outs = []
          for _ in range(num_outs):
            if mode == 'latent':
              outs.append(t.translate(x, trg, z=rng.standard_normal((len(x), t.z_dim)).astype(np.float32)))
            else:  # The next target-domain references, cycling through the (maybe small) validation folder.
              idx = np.array([next(refs) for _ in range(len(x))])
              outs.append(t.translate(x, trg, reference=imglib.from_uint8(val[trg][idx])))
          outs = np.stack(outs)  # [M, B, H, W, 3], unclipped (LPIPS sees them so, as the reference).
          if lpips_fn is not None:
            batch_lpips.append(float(lpips_fn(outs)))
          if feature_fn is not None:
            fake_feats.append(feature_fn(np.clip(outs.reshape(-1, *outs.shape[2:]), -1.0, 1.0)))
        if feature_fn is not None:
          fids[task] = fid_lib.frechet_distance(*fid_lib.gaussian_stats(np.concatenate(fake_feats)), *real_stats[trg])
        if lpips_fn is not None:
          lpipss[task] = float(np.mean(batch_lpips))
        logging.info('%s %s: FID %s, LPIPS %s', mode, task, fids.get(task), lpipss.get(task))
    if feature_fn is not None:
      result[f'FID_{mode}'] = {**fids, 'mean': float(np.mean(list(fids.values())))}
    if lpips_fn is not None:
      result[f'LPIPS_{mode}'] = {**lpipss, 'mean': float(np.mean(list(lpipss.values())))}
  if workdir:
    step = t.step or 0
    report.write_json(result, os.path.join(workdir, f'fid_lpips_step{step}.json'))
  return result


# ------------------------------------------------------------------------------------------ identifiability


def _random_encoder(t: inference.Translator, seed: int) -> inference.Translator:
  """The same model with a freshly initialised style encoder (the MCC / DCI floor)."""
  enc = jax.jit(t.nets.init_network, static_argnums=0)('style_encoder', jax.random.key(seed + 1))
  params = {'generator': t.params['generator'], 'style': {**t.params['style'], 'style_encoder': enc}}
  return inference.Translator(t.config, params, domains=t.domains, step=t.step, batch_size=t.batch_size)


def _per_domain(fn, labels):
  per = {int(u): fn(labels == u) for u in np.unique(labels)}
  return per


def _dci_per_domain(style, codes, labels, regressor, seed):
  per = _per_domain(lambda m: identifiability.dci(style[m], codes[m], regressor=regressor, seed=seed), labels)
  keys = ('disentanglement', 'completeness', 'informativeness', 'nrmse')
  out = {k: float(np.mean([d[k] for d in per.values()])) for k in keys}
  out['per_domain'] = {u: {k: d[k] for k in keys} for u, d in per.items()}
  out['regressor'] = regressor
  return out


def _smoothness(t, x, y, seed):
  from dss_jax import losses
  aug = np.asarray(jax.jit(losses.geometric_augment)(jax.random.key(seed), x))
  codes, codes_aug = t.encode_style(x, y), t.encode_style(aug, y)
  per = _per_domain(lambda m: identifiability.smoothness(codes[m], codes_aug[m], seed=seed), y)
  return {'per_domain': per, 'mean': float(np.mean(list(per.values())))}


def _untrained(t: inference.Translator, seed: int) -> inference.Translator:
  """The same architecture with every network freshly initialised (the latent MCC floor)."""
  params = state_lib.ema_trees(state_lib.group(jax.jit(t.nets.init)(jax.random.key(seed + 2))))
  return inference.Translator(t.config, params, domains=t.domains, step=0, batch_size=t.batch_size)


def _reference_style(read, ref_style, ref_labels):
  """Within each target domain, Spearman between the style read from G(x, E(r, u)) and r's true style, per
  factor; averaged over domains (domains with fewer than 5 pairs are skipped)."""
  import scipy.stats
  per = [[scipy.stats.spearmanr(read[ref_labels == u, j], ref_style[ref_labels == u, j])[0]
          for j in range(ref_style.shape[1])] for u in np.unique(ref_labels) if np.sum(ref_labels == u) >= 5]
  rho = np.nanmean(np.array(per, np.float64), axis=0)
  return {'spearman': [float(r) for r in rho], 'spearman_min': float(np.min(rho))}


def _latent_mcc(t, orc, sources, z, labels):
  """MCC per target domain between the latent codes F(z, u) and the style the oracle reads from G(x, F(z, u))."""
  s = t.style_from_z(z, labels)
  read = oracle.oracle_predict(orc, np.clip(t.generate(sources, s), -1.0, 1.0))['style']
  return identifiability.mcc_per_domain(read, s, labels)


def z_effect(t, orc, x, y, style, *, num_sources=24, num_z=16, seed=0, copy_source=False) -> dict:
  """Collapse measured where it can fail: per target domain u, num_sources fixed sources (of other domains),
  each translated with the same num_z z's; the std over z of the style the oracle reads, over the real
  per-domain std, per factor; the mean over sources, then over domains (1 = as varied as the data, 0 = z
  ignored). copy_source: the trivial generator G(x, s) = x, which scores exactly 0 (the pooled
  `latent_quality.style_spread_ratio` gives it the spread of the sources' styles instead)."""
  rng = np.random.default_rng(6000 + seed)
  per = []
  for u in range(t.config.num_domains):
    src = x[rng.choice(np.nonzero(y != u)[0], num_sources)]
    z = rng.standard_normal((num_z, t.z_dim)).astype(np.float32)
    inputs = np.repeat(src, num_z, axis=0)
    out = inputs if copy_source else np.clip(t.translate(inputs, u, z=np.tile(z, (num_sources, 1))), -1.0, 1.0)
    read = oracle.oracle_predict(orc, out)['style'].reshape(num_sources, num_z, -1)
    per.append((read.std(1) / np.maximum(style[y == u].std(0), 1e-9)).mean(0))
  effect = np.mean(per, axis=0)
  return {'per_factor': [float(v) for v in effect], 'min': float(effect.min()), 'num_sources': num_sources,
          'num_z': num_z}


def edit_purity(t: inference.Translator, orc, x, y, style, *, num_per_domain=40, seed=0) -> dict:
  """Edit purity of the style components (the editing feature's metric), read by the oracle.

  Per target domain u: num_per_domain sources (any domain) and references of u; each style component is moved
  to -1 and +1 standard deviations of its distribution from the reference's style (`Translator.traverse`:
  DSS in z through the flow, StarGAN v2 in the code), and the oracle reads every true factor of both outputs.
  With |ds| the change of each true style factor (in units of its real per-domain std):
    purity         sum of max_i |ds_i| over sum of sum_i |ds_i| (over every edit: large edits weigh more, a
                   component that changes nothing weighs nothing); 1 = one factor moves alone, and a
                   random direction in the true style space gives `purity_random_direction`.
    content_drift  the content change the oracle reads (x, y and size in units of their range, + 1 when the
                   shape flips) over the style change, summed the same way; 0 = content untouched.
    component_effect  mean sum_i |ds_i| of each component's edit (which components matter).
    purity_model_random_direction  the same edits along a random unit direction of the same model's space (z
                   for the flow, the standardised code for the MLP): what purity scores by chance for this
                   model; purity_gain = purity - it (what the components add over a random direction).
    purity_random_direction  a random direction in the true style space (the chance level if the model's
                   space were the true one).
  """
  from dss_jax.datasets import synthetic
  rng = np.random.default_rng(3000 + seed)
  k = t.config.num_domains
  spans = np.array([synthetic.POSITION_RANGE[1] - synthetic.POSITION_RANGE[0]] * 2
                   + [synthetic.SIZE_RANGE[1] - synthetic.SIZE_RANGE[0]])
  from dss_jax.metrics import vector_eval
  largest = total = content = largest_rand = total_rand = 0.0
  effect = np.zeros(t.style_dim)
  dir_rng = np.random.default_rng(4000 + seed)  # Its own stream: the component edits stay as they were.
  for u in range(k):
    std = np.maximum(style[y == u].std(0), 1e-6)
    src = x[rng.integers(0, len(x), num_per_domain)]
    ref = x[rng.choice(np.nonzero(y == u)[0], num_per_domain)]
    yu = np.full(num_per_domain, u, np.int32)
    ref_style = t.encode_style(ref, yu)  # The start of every random-direction edit of this domain.
    for c in range(t.style_dim):
      out = np.clip(t.traverse(src, u, c, [-1.0, 1.0], reference=ref), -1.0, 1.0)
      r0, r1 = oracle.oracle_predict(orc, out[0]), oracle.oracle_predict(orc, out[1])
      ds = np.abs(r1['style'] - r0['style']) / std  # [N, n]
      dc = (np.abs(r1['content'][:, 1:4] - r0['content'][:, 1:4]) / spans).sum(-1) + (r1['shape'] != r0['shape'])
      largest, total, content = largest + ds.max(-1).sum(), total + ds.sum(), content + dc.sum()
      effect[c] += ds.sum(-1).mean() / k
      # The same edit along a random unit direction of the same space (z, or the standardised code).
      direction = dir_rng.standard_normal(t.style_dim)
      direction /= np.linalg.norm(direction)
      s0, s1 = vector_eval.direction_styles(t, ref_style, yu, direction)
      r0, r1 = (oracle.oracle_predict(orc, np.clip(t.generate(src, s), -1.0, 1.0)) for s in (s0, s1))
      ds = np.abs(r1['style'] - r0['style']) / std
      largest_rand, total_rand = largest_rand + ds.max(-1).sum(), total_rand + ds.sum()
  direction = np.abs(rng.standard_normal((10_000, style.shape[1])))
  purity, purity_model_random = largest / max(total, 1e-12), largest_rand / max(total_rand, 1e-12)
  return {'purity': float(purity), 'content_drift': float(content / max(total, 1e-12)),
          'component_effect': [float(v) for v in effect],
          'purity_random_direction': float(direction.max(-1).sum() / direction.sum()),
          'purity_model_random_direction': float(purity_model_random),
          'purity_gain': float(purity - purity_model_random),
          'space': 'z' if t.is_flow else 'style', 'num_per_domain': num_per_domain}


def evaluate_synthetic(config, model, workdir=None, *, seed=0, num_pairs=500, num_latent=500,
                       num_latent_mcc=1000, num_edit=40, oracle_per_domain=None, oracle_steps=None, oracle_dir=None,
                       dci_regressor='gbt', write=True) -> dict:
  """The identifiability benchmark on the synthetic test split (config.synthetic.test_per_domain per domain).

  model: an inference.Translator or a train_step.TrainState (its EMA weights). num_pairs: counterfactual
  (source, reference) pairs across domains; num_latent: latent-guided outputs read by the oracle. The
  oracle (oracle_per_domain training images per domain, oracle_steps steps; default: the config's
  synthetic.oracle_per_domain and synthetic.oracle_steps) is trained once and cached in oracle_dir (default
  <workdir>/oracle). num_latent_mcc: latent-guided outputs (split evenly over the
  target domains) for latent_mcc, the theorem's own quantity: do the components of the model's latent
  codes F(z, u) follow the true factors that the oracle reads from G(x, F(z, u))? Beside it,
  latent_mcc_untrained: the same with every network freshly initialised. With write and a workdir, writes
  metrics_step<N>.json / .md.
  Returns the nested dict of metrics (keys: mcc, mcc_random_encoder, dci, dci_random_encoder,
  counterfactual, latent_quality, unification, smoothness, smoothness_random_encoder, latent_mcc,
  latent_mcc_untrained, z_effect (collapse for a fixed source: `z_effect`), the must-show figures of the trivial
  models (z_effect_untrained / _copy_source, latent_quality_untrained / _copy_source, reference_style_untrained /
  _copy_source), edit, edit_untrained, settings). num_edit: sources per target domain of the edit-purity
  metric (`edit_purity`; 0 skips it).
  """
  from dss_jax.datasets import synthetic
  if config.dataset != 'synthetic':
    raise ValueError(f"The identifiability benchmark needs config.dataset='synthetic' (got {config.dataset!r}).")
  t = _translator(config, model)
  oracle_per_domain = oracle_per_domain or config.synthetic.get('oracle_per_domain', 2000)
  oracle_steps = oracle_steps or config.synthetic.get('oracle_steps', 1500)
  n_style, variant = config.synthetic.n_style, registry.synthetic_variant(config)
  data = registry.arrays(config, 'test')
  x, y = np.asarray(data['image']), np.asarray(data['label'])
  content, style = np.asarray(data['content']), np.asarray(data['style'])
  rng = np.random.default_rng(seed)
  out = {'step': t.step, 'dataset': f'synthetic/{variant}', 'mapping': config.mapping}

  # Style codes of the test images: MCC and DCI, beside a randomly initialised encoder.
  codes = t.encode_style(x, y)
  rand = _random_encoder(t, seed)
  codes_rand = rand.encode_style(x, y)
  out['mcc'] = identifiability.mcc_per_domain(style, codes, y)
  out['mcc_random_encoder'] = identifiability.mcc_per_domain(style, codes_rand, y)
  out['dci'] = _dci_per_domain(style, codes, y, dci_regressor, seed)
  out['dci_random_encoder'] = _dci_per_domain(style, codes_rand, y, dci_regressor, seed)

  # Counterfactuals: G(x_src, E(x_ref)) against render(content_src, style_ref), beside the trivial answers.
  src = rng.integers(0, len(x), num_pairs)
  ref = np.array([rng.choice(np.nonzero(y != y[i])[0]) for i in src])
  truth_content = content[src].copy()
  if variant == 'species':  # The target domain has its own shape.
    truth_content[:, 0] = content[ref, 0]
  truth, mask = synthetic.render(truth_content, style[ref], config.img_size, variant, return_mask=True)
  generated = np.clip(t.translate(x[src], y[ref], reference=x[ref]), -1.0, 1.0)
  out['counterfactual'] = identifiability.counterfactual_with_baselines(generated, x[src], x[ref], truth, mask)

  # Latent-guided outputs read by the oracle.
  orc = oracle.get_oracle(oracle_dir or os.path.join(workdir or '.', 'oracle'), n_style, variant, config.img_size,
                          per_domain=oracle_per_domain, steps=oracle_steps)
  # Reference-guided outputs should carry the reference's own style, not its domain's average.
  out['reference_style'] = _reference_style(oracle.oracle_predict(orc, generated)['style'], style[ref], y[ref])
  lsrc = rng.integers(0, len(x), num_latent)
  target = (y[lsrc] + rng.integers(1, config.num_domains, num_latent)) % config.num_domains  # Another domain.
  z = rng.standard_normal((num_latent, t.z_dim)).astype(np.float32)
  latent_out = np.clip(t.translate(x[lsrc], target, z=z), -1.0, 1.0)
  quality = oracle.latent_guided_quality(oracle.oracle_predict(orc, latent_out), target, content[lsrc], style, y)
  quality['oracle_real_domain_accuracy'] = float(np.mean(oracle.oracle_predict(orc, x)['domain'] == y))
  quality['bayes_domain_accuracy'] = (oracle.bayes_domain_accuracy(style, y, n_style) if variant == 'style_domains'
                                      else 1.0)
  out['latent_quality'] = quality

  # Unification gap: latent codes F(z, u) against reference codes E(x, u), as many per domain as test images.
  lat_labels = np.repeat(np.arange(config.num_domains), config.synthetic.test_per_domain)
  lat_codes = t.style_from_z(rng.standard_normal((len(lat_labels), t.z_dim)).astype(np.float32), lat_labels)
  out['unification'] = identifiability.unification_gap(lat_codes, codes, lat_labels, y, seed=seed)

  out['smoothness'] = _smoothness(t, x, y, seed)
  out['smoothness_random_encoder'] = _smoothness(rand, x, y, seed)

  # Latent MCC (its own generator, so that the numbers above do not depend on num_latent_mcc).
  lrng = np.random.default_rng(seed + 7)
  per = max(num_latent_mcc // config.num_domains, 10)
  mcc_labels = np.repeat(np.arange(config.num_domains), per)
  mcc_sources = x[lrng.integers(0, len(x), len(mcc_labels))]
  mcc_z = lrng.standard_normal((len(mcc_labels), t.z_dim)).astype(np.float32)
  out['latent_mcc'] = _latent_mcc(t, orc, mcc_sources, mcc_z, mcc_labels)
  untrained = _untrained(t, seed)
  out['latent_mcc_untrained'] = _latent_mcc(untrained, orc, mcc_sources, mcc_z, mcc_labels)

  # Collapse for a fixed source, and the must-show figures of the trivial models, scored by the same code: a
  # generator that copies its source (content kept perfectly, z and reference ignored) and the untrained model.
  out['z_effect'] = z_effect(t, orc, x, y, style, seed=seed)
  out['z_effect_untrained'] = z_effect(untrained, orc, x, y, style, seed=seed)
  out['z_effect_copy_source'] = z_effect(t, orc, x, y, style, seed=seed, copy_source=True)
  out['latent_quality_copy_source'] = oracle.latent_guided_quality(oracle.oracle_predict(orc, x[lsrc]), target,
                                                                   content[lsrc], style, y)
  out['reference_style_copy_source'] = _reference_style(oracle.oracle_predict(orc, x[src])['style'], style[ref],
                                                        y[ref])
  latent_untrained = np.clip(untrained.translate(x[lsrc], target, z=z), -1.0, 1.0)
  out['latent_quality_untrained'] = oracle.latent_guided_quality(oracle.oracle_predict(orc, latent_untrained),
                                                                 target, content[lsrc], style, y)
  ref_untrained = np.clip(untrained.translate(x[src], y[ref], reference=x[ref]), -1.0, 1.0)
  out['reference_style_untrained'] = _reference_style(oracle.oracle_predict(orc, ref_untrained)['style'], style[ref],
                                                      y[ref])
  if num_edit:  # Editing one style component: does it move one true factor alone?
    out['edit'] = edit_purity(t, orc, x, y, style, num_per_domain=num_edit, seed=seed)
    out['edit_untrained'] = edit_purity(untrained, orc, x, y, style, num_per_domain=num_edit, seed=seed)
  out['settings'] = {'test_images': len(x), 'num_pairs': num_pairs, 'num_latent': num_latent,
                     'num_latent_mcc': len(mcc_labels), 'num_edit': num_edit,
                     'oracle_per_domain': oracle_per_domain, 'oracle_steps': oracle_steps, 'seed': seed}
  if write and workdir:
    write_metrics(out, workdir)
  return out


# ------------------------------------------------------------------------------------------ report

# The headline table and its files are written by metrics/report.py, beside the other markdown tables.
markdown = report.evaluation_table
write_metrics = report.write_evaluation


def run(config, workdir, *, checkpoint=None, seed=None, modes=('latent', 'reference'), model=None,
        synthetic_kwargs=None, fid_kwargs=None) -> dict:
  """`--mode=eval`: the identifiability benchmark (synthetic dataset) and the FID/LPIPS protocol; writes
  metrics_step<N>.json / .md in the workdir and returns the metrics."""
  t = _translator(config, model, workdir, checkpoint)
  seed = config.seed if seed is None else seed
  parts = (['the synthetic identifiability benchmark'] if config.dataset == 'synthetic' else []) + ['FID and LPIPS']
  logging.info('Evaluating step %s: %s ...', t.step, ', then '.join(parts))
  metrics = {'step': t.step}
  if config.dataset == 'synthetic':
    metrics.update(evaluate_synthetic(config, t, workdir, seed=seed, write=False, **(synthetic_kwargs or {})))
  metrics['fid_lpips'] = fid_lpips(config, t, workdir, modes, seed, **(fid_kwargs or {}))
  write_metrics(metrics, workdir)
  return metrics


__all__ = ['evaluate_synthetic', 'fid_lpips', 'markdown', 'run', 'skip_notes', 'write_metrics']
