"""Orbax checkpoints of the whole training state, and the config they were written with.

Layout: <workdir>/checkpoints/<step>/ (Orbax writes to a temporary folder and renames it, so a
killed run never leaves a half-written checkpoint) and <workdir>/config.json (the run's config).
The state holds every parameter tree, every optimizer state, the EMA copies and the step: a run
resumes exactly, and fine-tuning has the discriminator and optimizer states.
"""

import json
import os

import jax
import orbax.checkpoint as ocp
from flax import serialization

# Keys that change parameter shapes: a checkpoint written under other values cannot be restored.
MODEL_KEYS = ('num_domains', 'img_size', 'dim_in', 'max_conv_dim', 'style_dim', 'w_hpf', 'mapping', 'latent_dim',
              'mapping_hidden', 'flow', 'style_disc_hidden', 'style_disc_depth')


class ConfigMismatchError(ValueError):
  """The workdir's checkpoint was written by a config with other network shapes."""


def checkpoint_dir(workdir: str) -> str:
  return os.path.join(os.path.abspath(workdir), 'checkpoints')


def manager(workdir: str, keep: int = 3) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
  return ocp.CheckpointManager(checkpoint_dir(workdir), options=options)


def _model_view(config_dict):
  view = {k: config_dict.get(k) for k in MODEL_KEYS}
  if view['mapping'] != 'mlp':  # latent_dim and mapping_hidden only shape the MLP mapping.
    view.pop('latent_dim'), view.pop('mapping_hidden')
  else:
    view.pop('flow')
  return view


def check_config(workdir: str, config) -> None:
  """Writes <workdir>/config.json on the first run; on later runs, checks the network shapes agree."""
  path = os.path.join(workdir, 'config.json')
  current = json.loads(config.to_json_best_effort())
  if os.path.exists(path):
    with open(path) as f:
      saved = json.load(f)
    old, new = _model_view(saved), _model_view(current)
    diff = {k: (old[k], new.get(k)) for k in old if old[k] != new.get(k)}
    if diff:
      detail = ', '.join(f'{k}: {a!r} in the checkpoint, {b!r} now' for k, (a, b) in diff.items())
      raise ConfigMismatchError(
          f'The checkpoints in {workdir} were written by another network configuration ({detail}). '
          'Use a fresh --workdir, or the config that wrote them.')
    return
  os.makedirs(workdir, exist_ok=True)
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    f.write(config.to_json_best_effort(indent=2))
  os.replace(tmp, path)


def save(mngr: ocp.CheckpointManager, state, *, force: bool = False) -> None:
  step = int(jax.device_get(state.step))
  mngr.save(step, args=ocp.args.StandardSave(serialization.to_state_dict(state)), force=force)


def restore(mngr: ocp.CheckpointManager, abstract_state, step: int | None = None):
  """Restores into the structure (and shardings) of `abstract_state`; None when there is no checkpoint."""
  step = mngr.latest_step() if step is None else step
  if step is None:
    return None
  target = serialization.to_state_dict(abstract_state)
  restored = mngr.restore(step, args=ocp.args.StandardRestore(target))
  return serialization.from_state_dict(abstract_state, restored)
