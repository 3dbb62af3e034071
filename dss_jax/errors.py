"""Errors for users, shared by several modules: each message says what was wrong and how to fix it.

`main.py` prints any of them as one line (no traceback). They subclass the builtin a caller would
catch anyway (FileNotFoundError, ValueError), so `except FileNotFoundError` keeps working.

- `DatasetNotFoundError`: the dataset's files are not where the config says (image folders, AFHQ archives).
- `DomainCountError`: the dataset has another number of domains than config.num_domains.
- `MetricWeightsNotFoundError`: the local weight file of FID (Inception-v3) or LPIPS is missing
  (`MetricWeightsNotFoundError.missing` builds the message with the command that makes the file).
- `FlowRequiredError`: an operation needs the invertible DSS flow, but the model has StarGAN v2's MLP mapping.
- `InputError`: what a caller gave the Python API (images, domains, codes) is not what it must be (uint8 or
  out-of-range images, a fractional domain, an empty batch, NaN pixels, a wrong shape).
- `BadInputError`: a config value or a flag that cannot work (dss_jax/preflight.py's checks).
- `WorkdirNotWritableError`: --workdir cannot be created or written.
- `TrainingInterrupted`: SIGINT or SIGTERM stopped training at a step boundary, after saving that step; not an
  error: its line is printed as it is, and the exit status is 128 + the signal's number, as a shell's.

`sentences_not_tracebacks()` is the one place that turns them into that line (main.py and the tools).

No TensorFlow, no JAX: any module may import this one.
"""

import contextlib
import sys


class DatasetNotFoundError(FileNotFoundError):
  """The dataset's files are not where the config says; the message says where to put them."""


class DomainCountError(ValueError):
  """The number of domains of the dataset differs from config.num_domains."""


# The files README.md and docs/metrics.md tell users to make, and what each metric network is called.
WEIGHT_FILES = {'inception': 'weights/inception_torchvision.npz', 'lpips': 'weights/lpips_alex.npz'}
_METRIC = {'inception': ('FID', 'Inception-v3'), 'lpips': ('LPIPS', 'AlexNet + LPIPS')}


class MetricWeightsNotFoundError(FileNotFoundError):
  """The local weights file a metric needs (Inception-v3 for FID, AlexNet + LPIPS for LPIPS) is missing.

  Its first line is the sentence (what is missing, which flag); the next lines say how to make the file. What
  evaluation still measures without it depends on what else is missing: evaluate.skip_notes says it.
  """

  @classmethod
  def missing(cls, path, what: str, key: str) -> 'MetricWeightsNotFoundError':
    """The error for a missing weights file `path` of network `what` ('inception'|'lpips'), config key `key`."""
    metric, network = _METRIC[what]
    where = f'the file {path!r} does not exist' if path else f'--config.{key} is not set'
    out = path or WEIGHT_FILES[what]
    return cls(f'{metric} needs local {network} weights, but {where}.\n'
               f'Make {out} once on a machine with torch and torchvision installed:\n'
               f'  python scripts/convert_torchvision_weights.py --what={what} --out={out}\n'
               f'then copy it here and pass --config.{key}={out} (README.md, "Metrics").')


class FlowRequiredError(ValueError):
  """An operation needs the invertible DSS flow mapping, but the model uses StarGAN v2's MLP."""


class InputError(ValueError):
  """An input of the Python API (inference.Translator: images, domains, codes) is not what it must be."""


class BadInputError(ValueError):
  """A config value or a flag that cannot work; the message names it and what it may be."""


class WorkdirNotWritableError(PermissionError):
  """--workdir cannot be created or written."""


class TrainingInterrupted(Exception):
  """Training stopped on SIGINT or SIGTERM at a step boundary, with that step saved."""

  def __init__(self, step: int, signum: int):
    super().__init__(f'Interrupted at step {step}; saved; rerun the same command to resume.')
    self.step, self.signum = step, signum


@contextlib.contextmanager
def sentences_not_tracebacks():
  """Around a program's main: an error of ours (its class is defined in a dss_jax module, or in the dss_jax
  module run as the program: `__main__`) exits with `error: <its sentence>` and no traceback; errors of
  libraries, and bugs, keep their traceback."""
  try:
    yield
  except TrainingInterrupted as e:
    sys.stderr.write(f'{e}\n')
    sys.stderr.flush()
    raise SystemExit(128 + e.signum) from None
  except Exception as e:  # noqa: BLE001 - ours whatever builtin it subclasses (ValueError, OSError, RuntimeError...).
    if not type(e).__module__.startswith(('dss_jax', '__main__')):
      raise
    raise SystemExit(f'error: {e}') from None


__all__ = ['BadInputError', 'DatasetNotFoundError', 'DomainCountError', 'FlowRequiredError', 'InputError',
           'MetricWeightsNotFoundError', 'TrainingInterrupted', 'WEIGHT_FILES', 'WorkdirNotWritableError',
           'sentences_not_tracebacks']
