"""Converts StarGAN v2's FAN landmark network (the official `wing.ckpt`) into the .npz that dss_jax loads.

  pip install -e .[torch]   # torch only for reading the .ckpt file; training never imports it
  bash download.sh wing     # in a clone of the official StarGAN v2 repository: expr/checkpoints/wing.ckpt
                            # and expr/checkpoints/celeba_lm_mean.npz (the latter is read as it is)
  python -m dss_jax.tools.import_fan --ckpt=expr/checkpoints/wing.ckpt --out=checkpoints/fan.npz
  python -m dss_jax.main --config=configs/celeba_hq.py:stargan_v2 --config.fan_path=checkpoints/fan.npz ...

Accepted files: `wing.ckpt` ({'state_dict': ...}, the AdaptiveWingLoss format), a StarGAN v2
checkpoint with a 'fan' entry (the CelebA-HQ `100000_nets_ema.ckpt`), or a bare FAN state dict.
`convert` is strict: every parameter and running statistic of our FAN (dss_jax/models/fan.py) must
come from its official key with the official shape, and every official key must be used, except
`num_batches_tracked` and the further hourglass stacks of the 4-stack AdaptiveWingLoss model (m1..,
top_m_1.., conv_last1.., bn_end1.., l1.., bl*, al*), which StarGAN v2's FAN does not have and its
loader drops too; anything else is a ValueError naming the key.

Layout: conv weights (out, in, kh, kw) -> (kh, kw, in, out); BatchNorm weight -> scale, running_mean /
running_var -> the 'batch_stats' collection's mean / var; `downsample.0` / `downsample.2` (BN, conv1x1)
-> downsample_bn / downsample_conv.
"""

import re

import numpy as np
from absl import app, flags, logging
from flax import traverse_util

from dss_jax.models import fan as fan_lib

TORCH_MISSING = ('Reading the FAN checkpoint needs PyTorch, which is an optional extra of dss_jax: install it with '
                 '`pip install -e .[torch]` (CPU wheels are enough).')
# Keys of the official file that StarGAN v2's one-stack FAN does not use (its loader drops them as well).
DROPPED = (r'.*\.num_batches_tracked', r'(m|top_m_|conv_last|bn_end|l)[1-9]\d*\..*', r'(bl|al)\d+\..*')
_LEAF = {('params', 'kernel'): 'weight', ('params', 'bias'): 'bias', ('params', 'scale'): 'weight',
         ('batch_stats', 'mean'): 'running_mean', ('batch_stats', 'var'): 'running_var'}
_MODULE = {'downsample_bn': 'downsample.0', 'downsample_conv': 'downsample.2'}


def official_key(path):
  """Our variable path ('params', 'conv2', 'downsample_conv', 'kernel') -> 'conv2.downsample.2.weight'."""
  collection, *modules, leaf = path
  return '.'.join([*(_MODULE.get(m, m) for m in modules), _LEAF[collection, leaf]])


def convert(state_dict):
  """Official FAN state dict {key: array (official layout)} -> our variables {'params', 'batch_stats'} (numpy).

  Raises ValueError naming the key when one is missing, has another shape or is not known.
  """
  expected = traverse_util.flatten_dict(fan_lib.abstract_variables())
  flat, used = {}, set()
  for path, leaf in expected.items():
    key = official_key(path)
    if key not in state_dict:
      raise ValueError(f"The FAN checkpoint has no key '{key}' (needed for {'/'.join(path)}). It is not StarGAN v2's "
                       'FAN (wing.ckpt from `download.sh wing`, or the fan of a CelebA-HQ checkpoint).')
    value = np.asarray(state_dict[key], np.float32)
    if value.ndim == 4:
      value = value.transpose(2, 3, 1, 0)  # (out, in, kh, kw) -> (kh, kw, in, out).
    if value.shape != tuple(leaf.shape):
      raise ValueError(f"Shape mismatch: the FAN checkpoint's '{key}' gives {value.shape} in our layout, but "
                       f"{'/'.join(path)} needs {tuple(leaf.shape)}. It is not StarGAN v2's FAN (98 landmarks, "
                       'one hourglass of depth 4, 256 features).')
    flat[path] = value
    used.add(key)
  left = sorted(k for k in state_dict if k not in used)
  unknown = [k for k in left if not any(re.fullmatch(p, k) for p in DROPPED)]
  if unknown:
    shown = ', '.join(f"'{k}'" for k in unknown[:8]) + (f' and {len(unknown) - 8} more' if len(unknown) > 8 else '')
    raise ValueError(f'The FAN checkpoint has keys our FAN has no place for: {shown}. It is not StarGAN v2\'s FAN '
                     '(wing.ckpt from `download.sh wing`).')
  stacks = [k for k in left if not k.endswith('num_batches_tracked')]
  if stacks:
    logging.info('Dropped %d tensors of further hourglass stacks (StarGAN v2 uses the first stack only).', len(stacks))
  return traverse_util.unflatten_dict(flat)


def _state_dict(raw, path):
  """The FAN state dict inside whatever the file holds (see the module docstring)."""
  if isinstance(raw, dict) and isinstance(raw.get('state_dict'), dict):
    raw = raw['state_dict']
  elif isinstance(raw, dict) and isinstance(raw.get('fan'), dict):
    raw = raw['fan']
  if not isinstance(raw, dict) or not raw or not all(hasattr(v, 'shape') for v in raw.values()):
    raise ValueError(f'{path} holds no FAN state dict: expected wing.ckpt ({{"state_dict": ...}}), a StarGAN v2 '
                     'checkpoint with a "fan" entry, or a bare state dict.')
  if all(k.startswith('module.') for k in raw):  # Saved from inside DataParallel.
    raw = {k[len('module.'):]: v for k, v in raw.items()}
  return raw


def load_torch_checkpoint(path, allow_pickle=False):
  """Reads the official file -> the FAN state dict {key: float32 numpy array} (needs torch)."""
  try:
    import torch
  except ImportError as e:
    raise ImportError(TORCH_MISSING) from e
  try:
    raw = torch.load(path, map_location='cpu', weights_only=not allow_pickle)
  except FileNotFoundError as e:
    raise FileNotFoundError(f'No checkpoint file at {path}. ' + fan_lib.HOW_TO_GET) from e
  except Exception as e:  # noqa: BLE001 - torch raises UnpicklingError / RuntimeError for non-tensor content.
    if allow_pickle:
      raise
    raise ValueError(f'{path} holds Python objects besides tensors, which torch only loads with pickle ({e}). If '
                     'the file is the official download, rerun with --allow_pickle.') from e
  return {k: v.detach().cpu().float().numpy() for k, v in _state_dict(raw, path).items()}


def import_fan(ckpt, out, allow_pickle=False):
  """wing.ckpt -> `out` (.npz for config.fan_path); returns the variables."""
  variables = convert(load_torch_checkpoint(ckpt, allow_pickle))
  fan_lib.save_variables(variables, out)
  logging.info('Wrote the FAN (%d parameters) to %s: set --config.fan_path=%s', fan_lib.param_count(variables), out,
               out)
  return variables


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  import_fan(FLAGS.ckpt, FLAGS.out, FLAGS.allow_pickle)


if __name__ == '__main__':
  FLAGS = flags.FLAGS
  flags.DEFINE_string('ckpt', None, 'Official wing.ckpt (or a StarGAN v2 CelebA-HQ checkpoint holding "fan").')
  flags.DEFINE_string('out', None, 'Output .npz, the value of config.fan_path.')
  flags.DEFINE_bool('allow_pickle', False, 'Let torch unpickle Python objects in --ckpt (only for trusted files).')
  flags.mark_flags_as_required(['ckpt', 'out'])
  logging.set_verbosity(logging.INFO)
  app.run(main)
