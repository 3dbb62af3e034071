"""Writes metrics as JSON and as a markdown table (configuration x metric, mean ± spread over seeds).

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


def _cell(stat, precision):
  mean, std, n = stat
  if n == 0:
    return '–'
  return f'{mean:.{precision}f}' if n == 1 else f'{mean:.{precision}f} ± {std:.{precision}f}'


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
