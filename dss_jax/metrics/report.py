"""Writes metrics as JSON and as markdown: every table of dss_jax is made here.

- `write_report` / `markdown_table`: configuration x metric, mean ± spread over seeds (benchmarks).
- `write_evaluation` / `evaluation_table`: one evaluation (`--mode=eval`): metric | model | reference points.

Typical use (one dict of nested metrics per seed and configuration):

  results = {'dss': [metrics_seed0, metrics_seed1], 'stargan_v2': [metrics_seed0, metrics_seed1]}
  write_report(results, workdir, name='benchmark', columns=['mcc/mean', 'dci/disentanglement'])

Nested dicts are flattened with '/' ('mcc/per_domain/0'); arrays become one entry per element
('mcc/per_factor/1'). Spread is the sample standard deviation over seeds (ddof 1), as StarGAN v2's
"mean ± std over 10 seeds"; a single seed shows the value alone.
"""

import json
import math
import os

import numpy as np
from absl import logging


def to_jsonable(obj):
  """numpy scalars / arrays, tuples and non-string keys -> plain JSON types; non-finite floats -> None."""
  if isinstance(obj, dict):
    return {str(k): to_jsonable(v) for k, v in obj.items()}
  if isinstance(obj, (list, tuple)):
    return [to_jsonable(v) for v in obj]
  if isinstance(obj, np.ndarray):
    return to_jsonable(obj.tolist())
  if isinstance(obj, np.generic):
    return to_jsonable(obj.item())
  if isinstance(obj, float) and not math.isfinite(obj):
    return None
  return obj


def write_json(metrics, path):
  """Writes metrics (any nesting of dicts, lists, numpy values) to path as indented JSON; returns path."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, 'w') as f:
    json.dump(to_jsonable(metrics), f, indent=2, sort_keys=False)
    f.write('\n')
  return path


def flatten(metrics, prefix=''):
  """Nested metrics -> {'a/b/c': float} for every numeric scalar or array element (others are skipped)."""
  out = {}
  if isinstance(metrics, dict):
    for k, v in metrics.items():
      out.update(flatten(v, f'{prefix}{k}/'))
  elif isinstance(metrics, (list, tuple)):
    for i, v in enumerate(metrics):
      out.update(flatten(v, f'{prefix}{i}/'))
  elif isinstance(metrics, np.ndarray):
    for idx, v in np.ndenumerate(metrics):
      out.update(flatten(v, prefix + ''.join(f'{i}/' for i in idx)))
  elif isinstance(metrics, (bool, np.bool_)):
    pass
  elif isinstance(metrics, (int, float, np.integer, np.floating)):
    out[prefix.rstrip('/')] = float(metrics)
  return out


def aggregate(per_seed):
  """List of per-seed metric dicts -> {name: (mean, std, n)} over the seeds that have the metric (NaN ignored)."""
  flat = [flatten(m) for m in per_seed]
  names = list(dict.fromkeys(k for f in flat for k in f))
  out = {}
  for name in names:
    values = np.array([f[name] for f in flat if name in f and math.isfinite(f[name])])
    if len(values) == 0:
      out[name] = (float('nan'), float('nan'), 0)
    else:
      out[name] = (float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0, len(values))
  return out


def _f(v, precision=3):
  """One number with `precision` decimals; '–' for None or a non-finite value."""
  return '–' if v is None or (isinstance(v, float) and not np.isfinite(v)) else f'{v:.{precision}f}'


def _cell(stat, precision):
  mean, std, n = stat
  if n == 0:
    return '–'
  return _f(mean, precision) if n == 1 else f'{_f(mean, precision)} ± {_f(std, precision)}'


def markdown_table(results, columns=None, precision=3, row_title='configuration'):
  """results: {configuration: [per-seed metric dicts] or one dict} -> markdown table string.

  Rows are configurations, columns the flattened metric names (`columns`, or every name found, in the
  order first seen); cells 'mean ± std' over seeds, '–' where a configuration lacks the metric.
  """
  stats = {name: aggregate(runs if isinstance(runs, (list, tuple)) else [runs]) for name, runs in results.items()}
  if columns is None:
    columns = list(dict.fromkeys(c for s in stats.values() for c in s))
  seeds = {name: max((s[2] for s in st.values()), default=0) for name, st in stats.items()}
  lines = ['| ' + ' | '.join([row_title, 'seeds', *columns]) + ' |', '|' + '---|' * (len(columns) + 2)]
  for name, st in stats.items():
    cells = [_cell(st.get(c, (0.0, 0.0, 0)), precision) for c in columns]
    lines.append('| ' + ' | '.join([str(name), str(seeds[name]), *cells]) + ' |')
  return '\n'.join(lines) + '\n'


def write_report(results, directory, name='metrics', columns=None, precision=3, title=None):
  """Writes {directory}/{name}.json (all per-seed values and the aggregates) and {name}.md (the table).

  Returns (json_path, markdown_path).
  """
  runs = {k: (v if isinstance(v, (list, tuple)) else [v]) for k, v in results.items()}
  summary = {k: {m: {'mean': s[0], 'std': s[1], 'n': s[2]} for m, s in aggregate(v).items()} for k, v in runs.items()}
  json_path = write_json({'per_seed': runs, 'summary': summary}, os.path.join(directory, f'{name}.json'))
  md_path = os.path.join(directory, f'{name}.md')
  with open(md_path, 'w') as f:
    if title:
      f.write(f'# {title}\n\n')
    f.write(markdown_table(runs, columns, precision))
  return json_path, md_path


# ------------------------------------------------------------------------------------------ one evaluation


def evaluation_table(metrics: dict) -> str:
  """One evaluation (`--mode=eval`, evaluate.run) as markdown: metric | model | reference points (floors,
  trivial answers, ceilings)."""
  lines = [f'# Evaluation at step {metrics.get("step")}', '', '| metric | model | reference points |', '|---|---|---|']
  row = lambda name, value, ref='': lines.append(f'| {name} | {value} | {ref} |')
  if 'mcc' in metrics:
    mr = metrics['mcc_random_encoder']
    row('MCC (mean over domains, 1 = style factors recovered)', _f(metrics['mcc']['mean']),
        f'random encoder {_f(mr["mean"])}')
    for u, v in metrics['mcc']['per_domain'].items():
      row(f'MCC domain {u}', _f(v), f'random encoder {_f(mr["per_domain"][u])}')
    for k in ('disentanglement', 'completeness', 'informativeness'):
      row(f'DCI {k} ({metrics["dci"]["regressor"]})', _f(metrics['dci'][k]),
          f'random encoder {_f(metrics["dci_random_encoder"][k])}')
    cf = metrics['counterfactual']
    for key, label in (('l1', 'L1 whole image (lower better)'), ('l1_object', 'L1 object region'),
                       ('psnr', 'PSNR whole image (dB)'), ('psnr_object', 'PSNR object region (dB)'),
                       ('iou', 'object-mask IoU')):
      row(f'counterfactual {label}', _f(cf['model'][key]),
          f'copy source {_f(cf["copy_source"][key])}, copy reference {_f(cf["copy_reference"][key])}, '
          f'flat reference background {_f(cf["flat_reference_background"][key])}')
    q = metrics['latent_quality']
    row('latent-guided target-domain accuracy (oracle)', _f(q['domain_accuracy']),
        f'Bayes ceiling {_f(q["bayes_domain_accuracy"])}, oracle on real images {_f(q["oracle_real_domain_accuracy"])}'
        f', chance {_f(1 / len(metrics["mcc"]["per_domain"]))}')
    row('latent-guided shape kept (accuracy)', _f(q['shape_accuracy']), '1 = content kept')
    row('latent-guided content correlation x / y / size',
        ' / '.join(_f(q['content_corr'][k]) for k in ('x', 'y', 'size')), '1 = content kept')
    row('latent-guided rotation agreement', _f(q['rotation_agreement']), '1 = kept, 0 = random')
    row('latent-guided style Wasserstein (mean)', _f(q['style_wasserstein_mean']), '0 = true p(s | u)')
    trivial = lambda key, fn: ', '.join(  # noqa: E731
        f'{name} {fn(metrics[f"{key}_{suffix}"])}' for suffix, name in (('untrained', 'untrained model'),
                                                                       ('copy_source', 'copy source'))
        if f'{key}_{suffix}' in metrics)
    per_factor = lambda values: ' / '.join(_f(v) for v in values)  # noqa: E731
    if 'z_effect' in metrics:
      row('z-effect: std over z of the output style for a FIXED source, over the real spread, per factor',
          per_factor(metrics['z_effect']['per_factor']),
          '1 = as varied as the data, 0 = z ignored; target >= 0.7; ' + trivial('z_effect', lambda m: per_factor(
              m['per_factor'])))
    if 'style_spread_ratio' in q:
      row('latent-guided style spread over the real spread, per factor, pooled over sources and z (cannot detect '
          'collapse)', per_factor(q['style_spread_ratio']), trivial('latent_quality', lambda m: per_factor(
              m['style_spread_ratio'])))
    if 'latent_quality_copy_source' in metrics:
      row('latent-guided shape / size r / rotation, trivial models', '',
          trivial('latent_quality', lambda m: f'{_f(m["shape_accuracy"])} / {_f(m["content_corr"]["size"])} / '
                  f'{_f(m["rotation_agreement"])}'))
      row('latent-guided style Wasserstein, trivial models', '',
          trivial('latent_quality', lambda m: _f(m['style_wasserstein_mean'])))
    if 'reference_style' in metrics:
      row('reference-guided: Spearman of the output style with the reference style, per factor',
          per_factor(metrics['reference_style']['spearman']), 'within a domain; target >= 0.8; '
          + trivial('reference_style', lambda m: per_factor(m['spearman'])))
    u = metrics['unification']
    row('unification gap: Fréchet (mean)', _f(u['frechet_mean']), '0 = same mean and covariance')
    if 'frechet_relative_mean' in u:
      row('unification gap: Fréchet / trace of the reference covariance (mean)', _f(u['frechet_relative_mean']),
          'scale-free; 0 = same mean and covariance')
    row('unification gap: classifier accuracy (mean)', _f(u['accuracy_mean']), '0.5 = indistinguishable')
    row('smoothness (lower = smoother)', _f(metrics['smoothness']['mean']),
        f'random encoder {_f(metrics["smoothness_random_encoder"]["mean"])}')
  if 'latent_mcc' in metrics:
    row('latent MCC: F(z, u) components vs the style the oracle reads from G(x, F(z, u))',
        _f(metrics['latent_mcc']['mean']), f'untrained model {_f(metrics["latent_mcc_untrained"]["mean"])}')
  if 'edit' in metrics:
    e, eu = metrics['edit'], metrics['edit_untrained']
    row(f'edit purity: +-1 std of one style component ({e["space"]} space), largest factor change over the sum',
        _f(e['purity']), f'untrained model {_f(eu["purity"])}, a random direction of the same model '
        f'{_f(e.get("purity_model_random_direction", float("nan")))}, a random direction of the true factors '
        f'{_f(e["purity_random_direction"])}, 1 = one factor alone')
    row('edit content drift: content change over style change (summed over the edits)', _f(e['content_drift']),
        f'untrained model {_f(eu["content_drift"])}, 0 = content untouched')
  fl = metrics.get('fid_lpips', {})
  for mode in ('latent', 'reference'):
    for name in ('FID', 'LPIPS'):
      if f'{name}_{mode}' in fl:
        row(f'{name} {mode} (mean over {len(fl[f"{name}_{mode}"]) - 1} tasks)', _f(fl[f'{name}_{mode}']['mean'], 4),
            'StarGAN v2 AFHQ: FID 16.18 / 19.78, LPIPS 0.450 / 0.432 (latent / reference)')
  for message in fl.get('skipped', []):
    lines.append('')
    lines.append(f'Skipped: {message.splitlines()[0]}')
  return '\n'.join(lines) + '\n'


def evaluation_paths(workdir: str, step: int | None) -> tuple[str, str]:
  """(<workdir>/metrics_step<N>.json, .md): where the evaluation of step N is written."""
  stem = os.path.join(workdir, f'metrics_step{step or 0}')
  return stem + '.json', stem + '.md'


def write_evaluation(metrics: dict, workdir: str) -> tuple[str, str]:
  """<workdir>/metrics_step<N>.json (every number) and .md (the headline table); returns both paths."""
  json_path, md_path = evaluation_paths(workdir, metrics.get('step'))
  write_json(metrics, json_path)
  with open(md_path, 'w') as f:
    f.write(evaluation_table(metrics))
  logging.info('Wrote %s and %s', json_path, md_path)
  return json_path, md_path
