"""Errors for users, shared by several modules: each message says what was wrong and how to fix it.

`main.py` prints any of them as one line (no traceback). They subclass the builtin a caller would
catch anyway (FileNotFoundError, ValueError), so `except FileNotFoundError` keeps working.

- `DatasetNotFoundError`: the dataset's files are not where the config says (image folders, AFHQ archives).
- `DomainCountError`: the dataset has another number of domains than config.num_domains.
- `MetricWeightsNotFoundError`: the local weight file of FID (Inception-v3) or LPIPS is missing
  (`MetricWeightsNotFoundError.missing` builds the message with the command that makes the file).
- `FlowRequiredError`: an operation needs the invertible DSS flow, but the model has StarGAN v2's MLP mapping.

No TensorFlow, no JAX: any module may import this one.
"""


class DatasetNotFoundError(FileNotFoundError):
  """The dataset's files are not where the config says; the message says where to put them."""


class DomainCountError(ValueError):
  """The number of domains of the dataset differs from config.num_domains."""


_HOW_TO_MAKE_WEIGHTS = (
    'Make it once on a machine with torch and torchvision installed:\n'
    '  python scripts/convert_torchvision_weights.py --what={what} --out={out}\n'
    'then copy the file here and set {key}. See README.md ("Metrics"). '
    'The other metrics (LPIPS, identifiability benchmark) run without it.'
)


class MetricWeightsNotFoundError(FileNotFoundError):
  """The local weights file a metric needs (Inception-v3 for FID, AlexNet + LPIPS for LPIPS) is missing."""

  @classmethod
  def missing(cls, path, what: str, key: str) -> 'MetricWeightsNotFoundError':
    """The error for a missing weights file `path` of network `what` ('inception'|'lpips'), config key `key`."""
    where = f'the file {path!r} does not exist' if path else 'no path is set'
    out = path or f'{what}_torchvision.npz'
    return cls(f'{"FID" if what == "inception" else "LPIPS"} needs local {what} weights, but {where} '
               f'(config key {key}).\n' + _HOW_TO_MAKE_WEIGHTS.format(what=what, out=out, key=f'--config.{key}={out}'))


class FlowRequiredError(ValueError):
  """An operation needs the invertible DSS flow mapping, but the model uses StarGAN v2's MLP."""


__all__ = ['DatasetNotFoundError', 'DomainCountError', 'FlowRequiredError', 'MetricWeightsNotFoundError']
