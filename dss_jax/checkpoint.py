"""Orbax checkpoints of the whole training state, and the config they were written with.

Layout: <workdir>/checkpoints/<step>/ (Orbax writes to a temporary folder and renames it, so a
killed run never leaves a half-written checkpoint) and <workdir>/config.json (the run's config).
The state holds every parameter tree, every optimizer state, the EMA copies and the step: a run
resumes exactly, and fine-tuning has the discriminator and optimizer states.
"""

import json
import os

import jax
import ml_collections
import orbax.checkpoint as ocp
from flax import serialization

from dss_jax import state as state_lib


class ConfigMismatchError(ValueError):
  """The workdir's checkpoint was written by a config with other network shapes."""


def checkpoint_dir(workdir: str) -> str:
  return os.path.join(os.path.abspath(workdir), 'checkpoints')


def manager(workdir: str, keep: int = 3) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
  return ocp.CheckpointManager(checkpoint_dir(workdir), options=options)


def check_config(workdir: str, config) -> None:
  """Writes <workdir>/config.json on the first run; on later runs, checks that config's networks have the
  shapes of the workdir's (comparing abstract states). A workdir without any checkpoint yet takes the new
  config: a run that stopped before saving must not lock its workdir. In a multi-process run every process
  checks (all stop on a mismatch) and process 0 alone writes."""
  path = os.path.join(workdir, 'config.json')
  if os.path.exists(path) and _has_checkpoint(workdir):
    with open(path) as f:
      saved = ml_collections.ConfigDict(json.load(f))
    keys = state_lib.mismatch(saved, config)
    if keys is not None:
      detail = ', '.join(f'{k}: {_get(saved, k)!r} in the checkpoint, {_get(config, k)!r} now' for k in keys)
      raise ConfigMismatchError(
          f'The checkpoints in {workdir} were written by another network configuration ({detail}). '
          'Use a fresh --workdir, or the config that wrote them.')
    return
  if jax.process_index() > 0:
    return
  os.makedirs(workdir, exist_ok=True)
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    f.write(config.to_json_best_effort(indent=2))
  os.replace(tmp, path)


def _has_checkpoint(workdir: str) -> bool:
  directory = checkpoint_dir(workdir)
  return os.path.isdir(directory) and any(name.isdigit() for name in os.listdir(directory))


def _get(config, dotted):
  for part in dotted.split('.'):
    if part not in config:
      return None
    config = config[part]
  return config


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
