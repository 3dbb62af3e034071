"""The checks `python -m dss_jax.main` runs in its first second, before importing JAX or TensorFlow and
before writing anything: each mistake costs seconds, not a minute of imports and compiling, and is one sentence.

- `check_values(config)`: the config's values (positive sizes and intervals, the step's choices).
- `check_data(config)`: the dataset's layout and its domain count against config.num_domains (folder names
  only: no image is read).
- `check_writable(workdir)`: the workdir can be created and written.
- `check_something_to_evaluate(config)`: `--mode=eval` outside the synthetic dataset measures FID and LPIPS
  only, so without both weight files there is nothing to evaluate: one sentence instead of an empty table.
- `domain_index(names, target)`, `floats(values, flag)`: the sample flags `--target`, `--traversal_values`, `--psi`.

No JAX and no TensorFlow here (registry is cheap: it scans folder names).
"""

import os

from dss_jax.errors import WEIGHT_FILES, BadInputError, MetricWeightsNotFoundError, WorkdirNotWritableError

# The training step's options (train_step.validate checks them through this module).
CHOICES = {'uni_target': ('encoder', 'both'), 'sty_space': ('s', 'z'), 'mapping': ('flow', 'mlp')}
POSITIVE_INTS = ('batch_size', 'total_iters', 'img_size', 'num_domains', 'log_every', 'sample_every',
                 'checkpoint_every', 'keep_checkpoints', 'val_batch_size', 'style_dim')
NON_NEGATIVE = ('lr', 'f_lr', 'eval_every', 'weight_decay', 'lambda_reg', 'lambda_sty', 'lambda_ds', 'lambda_cyc',
                'lambda_uni', 'lambda_smooth', 'profile_steps')


def check_values(config) -> None:
  """One sentence (BadInputError, a ValueError) for the first config value that cannot train."""
  for key in POSITIVE_INTS:
    value = config.get(key)
    if value is not None and (not isinstance(value, int) or value <= 0):
      raise BadInputError(f'config.{key} must be a positive whole number (got {value!r}).')
  for key in NON_NEGATIVE:
    value = config.get(key)
    if value is not None and not value >= 0:
      raise BadInputError(f'config.{key} must be 0 or more (got {value!r}).')
  if not 0 <= config.get('ema_decay', 0) < 1:
    raise BadInputError(f'config.ema_decay must be in [0, 1) (got {config.ema_decay!r}).')
  for key, allowed in CHOICES.items():
    if config.get(key) is not None and config[key] not in allowed:
      raise BadInputError(f'config.{key} must be one of {allowed} (got {config[key]!r}).')
  if config.get('lambda_flow_nll', 0) > 0 and config.mapping != 'flow':
    raise BadInputError('config.lambda_flow_nll needs the flow mapping (mapping="flow"): the MLP has no density.')
  if config.get('sty_space') == 'z' and config.mapping != 'flow':
    raise BadInputError("config.sty_space='z' needs the flow mapping (mapping=\"flow\"): the MLP has no inverse.")


def check_data(config) -> list[str]:
  """The dataset's domain names (DatasetNotFoundError when its files are not where the config says,
  DomainCountError when their number is not config.num_domains)."""
  from dss_jax.datasets import registry
  return registry.domain_names(config)


def check_writable(workdir: str) -> None:
  """OSError as one sentence when `workdir` cannot be created or written; creates nothing when it cannot."""
  path = os.path.abspath(workdir)
  existing = path
  while not os.path.exists(existing):
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    raise WorkdirNotWritableError(f'--workdir {workdir!r} cannot be made: {existing!r} is a file, not a folder.')
  if not os.access(existing, os.W_OK | os.X_OK):
    what = 'is not writable' if existing == path else f'cannot be created ({existing!r} is not writable)'
    raise WorkdirNotWritableError(f'--workdir {workdir!r} {what}; give a folder you can write to.')


def check_something_to_evaluate(config) -> None:
  """MetricWeightsNotFoundError when --mode=eval would measure nothing: a dataset without known factors (not
  'synthetic') and neither FID's nor LPIPS's weight file present."""
  if config.dataset == 'synthetic':
    return  # The identifiability benchmark runs without weight files.
  paths = {key: config.get(key, '') for key in ('inception_path', 'lpips_path')}
  if any(path and os.path.exists(path) for path in paths.values()):
    return
  given = [f'--config.{k}={p!r} does not exist' for k, p in paths.items() if p]
  why = '; '.join(given) if given else '--config.inception_path and --config.lpips_path are not set'
  raise MetricWeightsNotFoundError(
      f'--mode=eval on the {config.dataset!r} dataset measures FID and LPIPS, which need local weight files, and '
      f'{why}: there is nothing to evaluate.\nMake them once on a machine with torch and torchvision installed:\n'
      f'  python scripts/convert_torchvision_weights.py --what=inception --out={WEIGHT_FILES["inception"]}\n'
      f'  python scripts/convert_torchvision_weights.py --what=lpips --out={WEIGHT_FILES["lpips"]}\n'
      f'then pass --config.inception_path={WEIGHT_FILES["inception"]} --config.lpips_path={WEIGHT_FILES["lpips"]} '
      '(README.md, "Metrics").')


def domain_index(names: list[str], target: str) -> int:
  """--target (a domain name or index) -> its index; ValueError naming the domains otherwise."""
  if target in names:
    return names.index(target)
  if target.isdigit() and int(target) < len(names):
    return int(target)
  raise BadInputError(f'Unknown --target {target!r}; the model has {", ".join(names)} '
                      f'(or indices 0..{len(names) - 1}).')


def floats(values: list[str], flag: str) -> list[float]:
  """A list flag's values as numbers; ValueError naming the flag and the value that is not one."""
  out = []
  for v in values:
    try:
      out.append(float(v))
    except ValueError:
      raise BadInputError(f'--{flag} takes numbers separated by commas (e.g. --{flag}=-2,-1,0,1,2); {v!r} is not '
                       'a number.') from None
  if not out:
    raise BadInputError(f'--{flag} needs at least one number.')
  return out


__all__ = ['CHOICES', 'check_data', 'check_something_to_evaluate', 'check_values', 'check_writable', 'domain_index',
           'floats']
