"""Imports the official StarGAN v2 PyTorch checkpoints into dss_jax parameter trees and Orbax checkpoints.

  pip install -e .[torch]   # torch only for reading the .ckpt files; nothing else imports it
  python -m dss_jax.tools.import_stargan_v2 --ckpt=expr/checkpoints/afhq/100000_nets_ema.ckpt \
      --config=configs/afhq.py:stargan_v2 --workdir=runs/afhq_sg2_official
  # Fine-tune StarGAN v2 into DSS: G, E (and D from --ckpt_nets) carried over, the flow fresh.
  python -m dss_jax.tools.import_stargan_v2 --ckpt=..._nets_ema.ckpt --ckpt_nets=..._nets.ckpt \
      --config=configs/afhq.py --workdir=runs/afhq_dss_from_sg2

The official files (STARGAN_V2_REFERENCE.md section 1.9) are `torch.save({name: state_dict})` with
names 'generator', 'mapping_network', 'style_encoder' (+ 'discriminator' in `*_nets.ckpt`, + 'fan'
when w_hpf > 0). `convert` is a pure function from those state dicts (numpy arrays) to our trees; it
is strict: every official key is used or deliberately dropped, every one of our parameters is filled
and every shape must match the config, otherwise a ValueError names the key.

Layout changes: conv weights (out, in, kh, kw) -> (kh, kw, in, out); Linear (out, in) -> (in, out);
InstanceNorm weight -> `scale`; the K style-encoder heads Linear(C -> S) -> one Dense(C -> K * S)
(heads concatenated along the output axis); D's final conv1x1(C -> K) on a 1x1 map -> Dense(C -> K).
Dropped: the generator's `hpf.filter` buffer (fixed, recomputed from config.w_hpf and checked
against it) and, when w_hpf > 0, the decoder 1x1 shortcut convs that the reference creates but never
uses; the FAN landmark network ('fan'), which dss_jax.tools.import_fan converts into config.fan_path.
"""

import math
import os
import re

import jax
import numpy as np
from absl import app, flags, logging
from flax import traverse_util
from ml_collections import config_flags

from dss_jax import console, errors

# Official state-dict name -> our network name.
NETWORKS = {'generator': 'generator', 'mapping_network': 'mapping', 'style_encoder': 'style_encoder',
            'discriminator': 'discriminator'}
IGNORED_NETWORKS = ('fan',)
TORCH_MISSING = ('Reading StarGAN v2 checkpoints needs PyTorch, which is an optional extra of dss_jax: '
                 'install it with `pip install -e .[torch]` (CPU wheels are enough).')


class CheckpointImportError(ValueError):
  """The checkpoint and the config describe different networks, or the file is not a StarGAN v2 checkpoint."""


class CheckpointFileNotFoundError(FileNotFoundError):
  """No checkpoint file at the given path."""


class TorchMissingError(ImportError):
  """Reading the .ckpt files needs the optional torch extra."""


def _expected_shapes(config):
  """Our parameter trees for `config`, flattened: {network: {path tuple: shape}} (no compute, no memory)."""
  from dss_jax import models  # Lazy: keeps `--help` fast.
  nets = models.build(config)
  shapes = jax.eval_shape(nets.init, jax.random.key(0))
  return {name: {path: tuple(leaf.shape) for path, leaf in traverse_util.flatten_dict(tree).items()}
          for name, tree in shapes.items() if name in NETWORKS.values()}


def _num_trunk_blocks(config):
  return int(math.log2(config.img_size)) - 2


# ------------------------------------------------------------------ name rules: our path -> official key

def _leaf_suffix(leaf):
  return {'kernel': 'weight', 'scale': 'weight', 'bias': 'bias'}[leaf]


def _generator_key(path):
  head, rest = path[0], list(path[1:-1])
  m = re.fullmatch(r'(encode|decode)_blocks_(\d+)', head)
  if m:
    prefix = f'{m.group(1)}.{m.group(2)}'
  else:
    prefix = {'from_rgb': 'from_rgb', 'to_rgb_norm': 'to_rgb.0', 'to_rgb_conv': 'to_rgb.2'}[head]
  return '.'.join([prefix, *rest, _leaf_suffix(path[-1])])


def _mapping_key(path):
  # Sequential(Linear, ReLU, Linear, ...): the Linears sit at even indices.
  if m := re.fullmatch(r'shared_(\d+)', path[0]):
    prefix = f'shared.{2 * int(m.group(1))}'
  else:
    m = re.fullmatch(r'unshared_(\d+)_(\d+)', path[0])
    prefix = f'unshared.{m.group(1)}.{2 * int(m.group(2))}'
  return f'{prefix}.{_leaf_suffix(path[-1])}'


def _trunk_key(path, seq, n_blocks):
  """trunk/{conv_in, block_i, conv_out}/... -> {seq}.{0, i+1, n+2}...: conv, n ResBlks, LReLU, conv4x4, LReLU."""
  head = path[1]
  if head == 'conv_in':
    index = 0
  elif head == 'conv_out':
    index = n_blocks + 2
  else:
    index = int(re.fullmatch(r'block_(\d+)', head).group(1)) + 1
  return '.'.join([seq, str(index), *path[2:-1], _leaf_suffix(path[-1])])


# ------------------------------------------------------------------ conversion

def _to_ours(value, shape):
  """Official layout -> ours for a tensor whose target shape is `shape`."""
  value = _np(value)
  if value.ndim == 4 and len(shape) == 4:
    return value.transpose(2, 3, 1, 0)  # (out, in, kh, kw) -> (kh, kw, in, out).
  if value.ndim == 2 and len(shape) == 2:
    return value.T  # Linear (out, in) -> Dense (in, out).
  return value


class _Reader:
  """Hands out one network's official tensors and remembers which were used."""

  def __init__(self, official_name, state_dict):
    self.name = official_name
    self.state = state_dict
    self.used = set()

  def take(self, key):
    if key not in self.state:
      raise CheckpointImportError(
          f"The checkpoint's '{self.name}' has no key '{key}', which the config needs. The checkpoint "
          'and the config describe different networks: check img_size, w_hpf and num_domains of the config '
          '(configs/afhq.py:stargan_v2 for the AFHQ release, configs/celeba_hq.py:stargan_v2 for CelebA-HQ).')
    self.used.add(key)
    return self.state[key]

  def check_all_used(self, ignored=()):
    left = sorted(k for k in self.state if k not in self.used and not any(re.fullmatch(p, k) for p in ignored))
    if left:
      shown = ', '.join(f"'{k}'" for k in left[:8]) + (f' and {len(left) - 8} more' if len(left) > 8 else '')
      raise CheckpointImportError(
          f"The checkpoint's '{self.name}' has keys the config has no place for: {shown}. The checkpoint is "
          'larger than the config (check img_size, w_hpf, num_domains), or it is not a StarGAN v2 checkpoint.')


def _fill(reader, our_name, expected, key_fn, special=None):
  """Builds one of our trees: every expected leaf from the official key that key_fn names."""
  special = special or {}
  flat = {}
  for path, shape in expected.items():
    if path in special:
      value, key = special[path](reader)
    else:
      key = key_fn(path)
      value = _to_ours(reader.take(key), shape)
    if value.shape != shape:
      raise CheckpointImportError(
          f"Shape mismatch: the checkpoint's '{reader.name}' key '{key}' gives {value.shape} in our layout, but "
          f"the config's {our_name}/{'/'.join(path)} has {shape}. Check img_size, dim_in, max_conv_dim, "
          'style_dim, latent_dim and mapping_hidden of the config against the checkpoint.')
    flat[path] = value
  return traverse_util.unflatten_dict(flat)


def _domain_count(name, state, config):
  """Number of domains of one official network, or None if it has no per-domain part."""
  if name in ('mapping_network', 'style_encoder'):
    heads = {int(m.group(1)) for k in state if (m := re.match(r'unshared\.(\d+)\.', k))}
    return len(heads) if heads else None
  if name == 'discriminator':
    key = f'main.{_num_trunk_blocks(config) + 4}.weight'
    return int(np.shape(state[key])[0]) if key in state else None
  return None


def _check_against_config(state_dicts, config):
  """Plain errors for the usual mistakes before any key-by-key work: wrong K, wrong w_hpf."""
  for name, state in state_dicts.items():
    k = _domain_count(name, state, config)
    if k is not None and k != config.num_domains:
      raise CheckpointImportError(
          f"The checkpoint's '{name}' has {k} domains, but config.num_domains is {config.num_domains}. Use the "
          'config of the dataset the checkpoint was trained on (AFHQ: 3 domains, CelebA-HQ: 2), or override '
          f'--config.num_domains={k}.')
  generator = state_dicts.get('generator', {})
  if 'hpf.filter' in generator:
    centre = float(np.asarray(generator['hpf.filter'], np.float64).reshape(-1, 3, 3)[0, 1, 1])
    w_hpf = 8.0 / centre  # The filter is [[-1,-1,-1],[-1,8,-1],[-1,-1,-1]] / w_hpf.
    if not np.isclose(w_hpf, config.w_hpf, rtol=1e-5):
      raise CheckpointImportError(
          f"The checkpoint's generator was trained with w_hpf={w_hpf:g} (its 'hpf.filter' buffer), but "
          f'config.w_hpf is {config.w_hpf:g}. Use configs/celeba_hq.py (w_hpf 1) or override --config.w_hpf.')
  elif generator and config.w_hpf > 0:
    raise CheckpointImportError(
        f"The checkpoint's generator has no 'hpf.filter' buffer, so it was trained with w_hpf=0, but config.w_hpf "
        f'is {config.w_hpf:g}. Use configs/afhq.py or override --config.w_hpf=0.')


def convert(state_dicts, config):
  """Official StarGAN v2 state dicts -> our parameter trees.

  state_dicts: {'generator'|'mapping_network'|'style_encoder'|'discriminator'|'fan': {key: array}}
    in the official layout (numpy or anything np.asarray accepts); any subset (the released
    `*_nets_ema.ckpt` has no discriminator).
  config: the target config; its networks must have the checkpoint's sizes.
  Returns {'generator', 'mapping', 'style_encoder', 'discriminator'}: Flax parameter trees (float32
  numpy) for the networks present. 'mapping' is left out when config.mapping is 'flow' (the DSS
  flow has no StarGAN v2 counterpart and stays freshly initialised).
  Raises ValueError naming the offending key on any mismatch.
  """
  unknown = sorted(set(state_dicts) - set(NETWORKS) - set(IGNORED_NETWORKS))
  if unknown:
    raise CheckpointImportError(f'Unknown networks {unknown} in the checkpoint; a StarGAN v2 checkpoint holds '
                     f'{sorted(NETWORKS)} (and fan).')
  if 'fan' in state_dicts:
    logging.info("Ignoring the checkpoint's 'fan' (FAN landmark network for the w_hpf masks) here: convert it with "
                 'python -m dss_jax.tools.import_fan --ckpt=<this file> --out=checkpoints/fan.npz and set '
                 '--config.fan_path=checkpoints/fan.npz.')
  state_dicts = {k: v for k, v in state_dicts.items() if k in NETWORKS}
  if config.mapping == 'flow' and 'mapping_network' in state_dicts:
    logging.info('config.mapping is "flow": skipping the official mapping network (an MLP); the DSS flow '
                 'stays freshly initialised.')
    state_dicts.pop('mapping_network')
  _check_against_config(state_dicts, config)
  expected = _expected_shapes(config)
  out = {}
  for official, ours in NETWORKS.items():
    if official in state_dicts:
      reader = _Reader(official, state_dicts[official])
      key_fn, special, ignored = _rules(official, config)
      out[ours] = _fill(reader, ours, expected[ours], key_fn, special)
      reader.check_all_used(ignored)
  return out


def _rules(official, config):
  """(our path -> official key, {our path: reader -> (value, key)} for the non 1:1 leaves, ignored key patterns)."""
  n_blocks = _num_trunk_blocks(config)
  if official == 'generator':
    # The fixed high-pass buffer and the decoder 1x1 shortcuts the reference creates but never uses.
    ignored = (r'hpf\.filter', r'decode\.\d+\.conv1x1\.weight') if config.w_hpf > 0 else ()
    return _generator_key, {}, ignored
  if official == 'mapping_network':
    return _mapping_key, {}, ()
  if official == 'style_encoder':
    special = {('heads', 'kernel'): lambda r: _heads(r, config.num_domains, 'weight'),
               ('heads', 'bias'): lambda r: _heads(r, config.num_domains, 'bias')}
    return lambda path: _trunk_key(path, 'shared', n_blocks), special, ()
  logits = f'main.{n_blocks + 4}'  # D's conv1x1(C -> K) on the 1x1 map.
  special = {('logits', 'kernel'): lambda r: (_np(r.take(f'{logits}.weight'))[:, :, 0, 0].T, f'{logits}.weight'),
             ('logits', 'bias'): lambda r: (_np(r.take(f'{logits}.bias')), f'{logits}.bias')}
  return lambda path: _trunk_key(path, 'main', n_blocks), special, ()


def _np(value):
  return np.asarray(value, np.float32)


def _heads(reader, num_domains, suffix):
  """The K Linear(C -> S) heads of E as one Dense(C -> K * S): concatenated along the output axis."""
  parts = [_np(reader.take(f'unshared.{k}.{suffix}')) for k in range(num_domains)]
  if suffix == 'weight':
    return np.concatenate([p.T for p in parts], axis=1), f'unshared.*.{suffix}'
  return np.concatenate(parts), f'unshared.*.{suffix}'


# ------------------------------------------------------------------ reading the .ckpt files

def load_torch_checkpoint(path):
  """Reads an official `*.ckpt` file -> {network name: {key: float32 numpy array}} (needs torch)."""
  try:
    import torch
  except ImportError as e:
    raise TorchMissingError(TORCH_MISSING) from e
  try:
    raw = torch.load(path, map_location='cpu', weights_only=True)
  except FileNotFoundError as e:
    raise CheckpointFileNotFoundError(f'No checkpoint file at {path}.') from e
  if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
    raise CheckpointImportError(f'{path} is not a StarGAN v2 checkpoint: expected a dict of state dicts, '
                     f'{{"generator": ..., "style_encoder": ...}}.')
  out = {}
  for name, state in raw.items():
    if state and all(k.startswith('module.') for k in state):  # Saved from inside DataParallel.
      state = {k[len('module.'):]: v for k, v in state.items()}
    out[name] = {k: v.detach().cpu().float().numpy() for k, v in state.items()}
  return out


# ------------------------------------------------------------------ writing a dss_jax workdir

def _put(fresh, imported):
  """Imported numpy tree -> arrays with the fresh tree's dtypes and shardings (same structure)."""
  if jax.tree_util.tree_structure(fresh) != jax.tree_util.tree_structure(imported):
    raise ValueError('Internal error: the imported tree does not have the structure of the training state.')
  return jax.tree_util.tree_map(lambda f, x: jax.device_put(np.asarray(x, f.dtype), f.sharding), fresh, imported)


def _require(converted, path, config):
  needed = ['generator', 'style_encoder'] + (['mapping'] if config.mapping == 'mlp' else [])
  missing = [n for n in needed if n not in converted]
  if missing:
    raise CheckpointImportError(f'{path} has no {missing}: pass an official *_nets_ema.ckpt (or *_nets.ckpt) file.')


def import_to_workdir(config, ckpt, workdir, ckpt_nets=None):
  """Writes a step-0 Orbax checkpoint of the whole training state into `workdir`; returns the state.

  ckpt (`*_nets_ema.ckpt`) fills the EMA copies and, unless ckpt_nets is given, the trained
  parameters too, of G, E and (config.mapping 'mlp') F. ckpt_nets (`*_nets.ckpt`) fills the trained
  parameters and D. What is not in the files stays freshly initialised (seeded by config.seed, as a
  new run): D without a `*_nets.ckpt`, the style discriminator D_s, the flow when config.mapping is
  'flow', and the optimizer states. Training in that workdir then fine-tunes from the import.
  """
  from dss_jax import checkpoint, train  # Lazy: the conversion itself needs neither.
  from dss_jax import workdir as workdir_lib

  ema = convert(load_torch_checkpoint(ckpt), config)
  _require(ema, ckpt, config)
  raw = None
  if ckpt_nets:
    raw = convert(load_torch_checkpoint(ckpt_nets), config)
    _require(raw, ckpt_nets, config)
  elif 'discriminator' in ema:
    logging.info('%s holds a discriminator: using it.', ckpt)
    raw = ema
  workdir = os.path.abspath(workdir)
  existing = workdir_lib.latest_step(workdir)
  if existing is not None:
    raise CheckpointImportError(f'{workdir} already holds checkpoints (step {existing}); import into a fresh '
                     '--workdir so that no run is overwritten.')
  checkpoint.check_config(workdir, config)

  init_rng, _ = jax.random.split(jax.random.key(config.seed))  # The key a fresh run initialises with.
  state = train.create_train_state(config, init_rng)
  params = jax.tree_util.tree_map(lambda x: x, state.params)  # Fresh dict containers, same leaves.
  ema_tree = jax.tree_util.tree_map(lambda x: x, state.ema)
  trained = raw if raw is not None else ema
  params['generator'] = _put(state.params['generator'], trained['generator'])
  ema_tree['generator'] = _put(state.ema['generator'], ema['generator'])
  for name in ('style_encoder', 'mapping'):
    if name in ema:
      params['style'][name] = _put(state.params['style'][name], trained[name])
      ema_tree['style'][name] = _put(state.ema['style'][name], ema[name])
  if config.mapping == 'flow':
    logging.info('The DSS flow mapping starts fresh (identity at init): fine-tune to fit it.')
  if raw is not None and 'discriminator' in raw:
    params['discriminator']['discriminator'] = _put(state.params['discriminator']['discriminator'],
                                                    raw['discriminator'])
    logging.info('Discriminator imported from %s.', ckpt_nets or ckpt)
  else:
    logging.info('No discriminator in the files (the official release has only *_nets_ema.ckpt): D stays '
                 'freshly initialised; train it for a while before trusting fine-tuning.')
  logging.info('Fresh: the style discriminator D_s and all optimizer states; step 0.')
  state = state.replace(params=params, ema=ema_tree)
  mngr = checkpoint.manager(workdir, config.keep_checkpoints)
  checkpoint.save(mngr, state, force=True)
  mngr.close()  # Waits for the asynchronous save, then stops the manager's threads.
  logging.info('Wrote the imported state to %s.', checkpoint.checkpoint_dir(workdir))
  return state


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  console.import_tensorflow_quietly()  # No cuInit / oneDNN lines on a CPU machine.
  with errors.sentences_not_tracebacks():  # A wrong config or file: its sentence, no traceback.
    import_to_workdir(FLAGS.config, FLAGS.ckpt, FLAGS.workdir, FLAGS.ckpt_nets)


if __name__ == '__main__':
  # Flags are defined only when run as a program, so importing this module next to dss_jax.main (which
  # defines --config and --workdir too) never raises DuplicateFlagError.
  FLAGS = flags.FLAGS
  config_flags.DEFINE_config_file('config', None, 'Target config, e.g. configs/afhq.py:stargan_v2.', lock_config=True)
  flags.DEFINE_string('ckpt', None, 'Official *_nets_ema.ckpt (G, F, E EMA weights).')
  flags.DEFINE_string('ckpt_nets', None, 'Optional official *_nets.ckpt (trained G, F, E and the discriminator).')
  flags.DEFINE_string('workdir', None, 'Fresh dss_jax workdir to write the Orbax checkpoint into.')
  flags.mark_flags_as_required(['config', 'ckpt', 'workdir'])
  console.setup_logging()  # INFO, without library chatter or repeated warnings.
  app.run(main)
