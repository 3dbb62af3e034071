"""The checks `python -m dss_jax.main` runs in its first second, before importing JAX or TensorFlow and
before writing anything: each mistake costs seconds, not a minute of imports and compiling, and is one sentence.

- `check_values(config)`: the config's values (positive sizes and intervals, the step's choices).
- `check_data(config)`: the dataset's layout and its domain count against config.num_domains (folder names
  only: no image is read).
- `check_writable(workdir)`: the workdir can be created and written (tried, not inferred from permission bits:
  /proc and /sys pass those for root and refuse every new file).
- `check_total_iters(config, step)`: a resume's total_iters is not below the step the workdir holds.
- `check_image(path)`: `--mode=sample --image` is a file PIL can read.
- `check_something_to_evaluate(config)`: `--mode=eval` outside the synthetic dataset measures FID and LPIPS
  only, so without both weight files there is nothing to evaluate: one sentence instead of an empty table.
- `domain_index(names, target)`, `floats(values, flag)`: the sample flags `--target`, `--traversal_values`, `--psi`;
  `psi_problem(psi)`: what is wrong with a truncation psi (the flag's and the inference API's check).

No JAX and no TensorFlow here (registry is cheap: it scans folder names).
"""

import numbers
import os

from dss_jax.errors import WEIGHT_FILES, BadInputError, MetricWeightsNotFoundError, WorkdirNotWritableError

# The training step's options (train_step.validate checks them through this module).
CHOICES = {'uni_target': ('encoder', 'both'), 'sty_space': ('s', 'z'), 'mapping': ('flow', 'mlp')}
# What the inference API (and --psi) accepts: a truncation psi in PSI_RANGE (1: none; 0: the domain's centre), a
# latent z within Z_LIMIT in every component (a standard normal is beyond 6 once in 10^9 draws).
PSI_RANGE = (-10.0, 10.0)
Z_LIMIT = 50.0
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
  """OSError as one sentence when `workdir` cannot be created or written; creates nothing when it cannot.
  Writing is tried (a nameless temporary file in the folder, or in its nearest existing parent, gone when
  closed): permission bits pass for root everywhere, and /proc, /sys or a read-only mount refuse anyway."""
  import tempfile
  path = os.path.abspath(workdir)
  existing = path
  while not os.path.exists(existing):
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    raise WorkdirNotWritableError(f'--workdir {workdir!r} cannot be made: {existing!r} is a file, not a folder.')
  what = 'is not writable' if existing == path else f'cannot be created ({existing!r} is not writable)'
  if not os.access(existing, os.W_OK | os.X_OK):
    raise WorkdirNotWritableError(f'--workdir {workdir!r} {what}; give a folder you can write to.')
  try:
    with tempfile.TemporaryFile(dir=existing):
      pass
  except OSError as e:
    what = 'cannot be written: it' if existing == path else f'cannot be created: {existing!r}'
    raise WorkdirNotWritableError(f'--workdir {workdir!r} {what} refuses new files ({e.strerror or e}); give a '
                                  'folder you can write to.') from None


def check_total_iters(config, step: int | None) -> None:
  """BadInputError when a resume asks for fewer steps in all (config.total_iters) than the workdir's latest
  checkpoint `step` already holds (None: a fresh run); total_iters equal to it is a finished run."""
  total = config.get('total_iters')
  if step is not None and isinstance(total, int) and 0 < total < step:
    raise BadInputError(f'config.total_iters is {total}, below step {step}, which the workdir already holds; give '
                        f'--config.total_iters={step} or more (the steps in all, not the steps to add), or a fresh '
                        '--workdir.')


def check_image(path: str) -> None:
  """BadInputError when `--image` is not an image file PIL can read (checked before the model is loaded)."""
  if not path:
    raise BadInputError('--image needs the path of an image file (e.g. --image=cat.jpg).')
  if not os.path.exists(path):
    raise BadInputError(f'--image {path!r} does not exist; give the path of an image file (PNG, JPEG, ...).')
  if not os.path.isfile(path):
    raise BadInputError(f'--image {path!r} is a folder, not an image file; for a folder of images use '
                        f'--src_dir={path}.')
  from PIL import Image, UnidentifiedImageError
  try:
    with Image.open(path) as image:
      image.verify()
  except UnidentifiedImageError:
    raise BadInputError(f'--image {path!r} is not an image file PIL can read; give a PNG, JPEG or other image '
                        'file.') from None
  except (OSError, SyntaxError, ValueError) as e:
    raise BadInputError(f'--image {path!r} cannot be read as an image (damaged or cut short: {e}); give a PNG, '
                        'JPEG or other image file.') from None


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
  if flag == 'psi':
    for psi in out:
      if problem := psi_problem(psi):
        raise BadInputError(f'--{problem}')
  return out


def psi_problem(psi) -> str | None:
  """None for a truncation psi in PSI_RANGE, else the sentence that says so (naming psi and the range)."""
  if isinstance(psi, numbers.Real) and not isinstance(psi, bool) and PSI_RANGE[0] <= psi <= PSI_RANGE[1]:
    return None  # (NaN fails both comparisons.)
  return (f'psi is {psi!r}, but it must be a finite number from {PSI_RANGE[0]:g} to {PSI_RANGE[1]:g} (1: no '
          "truncation, 0: the domain's centre; 0.5 to 1 is usual).")


__all__ = ['CHOICES', 'check_data', 'check_image', 'check_something_to_evaluate', 'check_total_iters', 'check_values',
           'check_writable', 'domain_index', 'floats', 'psi_problem']
