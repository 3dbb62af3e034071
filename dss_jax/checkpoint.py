"""Orbax checkpoints of the whole training state, and the config they were written with.

Layout: <workdir>/checkpoints/<step>/ with two Orbax items: `state` (every parameter tree, every optimizer
state, the EMA copies and the step: a run resumes exactly, and fine-tuning has the discriminator and
optimizer states) and `config` (a JSON item: the run's config when the step was saved). Orbax writes to a
temporary folder and renames it, so a killed run never leaves a half-written checkpoint; the next start
removes such a folder. <workdir>/config.json is the run's config now, with config_history.json
(dss_jax/workdir.py). The config inside the checkpoint is what its shapes are checked against
(`check_config`), so a checkpoint folder copied alone still says which networks it holds, and a lost
config.json is rewritten from it. Checkpoints written before 2026-12-03 hold one unnamed item (the state)
and no config: they restore as before and are checked against config.json.

When to save is Orbax's decision (`manager`'s save_decision_policy): every `every` steps, and at the
preemption sync point of a multi-process run (JAX's preemption service: SIGTERM on any host makes every
host save the same step); which to keep is its preservation policy (the latest `keep`).
"""

import os
import weakref

import jax
import orbax.checkpoint as ocp
from absl import logging
from flax import serialization

from dss_jax import state as state_lib
from dss_jax import workdir as workdir_lib

STATE, CONFIG = 'state', 'config'  # The items of a checkpoint.
_LEGACY = 'default'  # Orbax's name for the single unnamed item of older checkpoints.
_OPEN = weakref.WeakSet()  # The managers `manager` made: each holds a metadata thread until it is closed.


class ConfigMismatchError(ValueError):
  """The workdir's checkpoint was written by a config with other network shapes."""


def checkpoint_dir(workdir: str) -> str:
  return os.path.join(os.path.abspath(workdir), 'checkpoints')


def manager(workdir: str, keep: int = 3, every: int = 1, *, writer: bool = False) -> ocp.CheckpointManager:
  """The workdir's CheckpointManager: `should_save(step)` is true every `every` steps and at a multi-process
  run's preemption sync point; the latest `keep` checkpoints are kept. `writer` (training, which holds the
  workdir's lock): temporary folders of a save that was killed are removed when it starts; never in readers
  (sample, eval), which may run beside training while its save is in flight."""
  policies = ocp.checkpoint_managers
  options = ocp.CheckpointManagerOptions(
      create=True, cleanup_tmp_directories=writer, preservation_policy=policies.LatestN(keep),
      save_decision_policy=policies.AnySavePolicy([policies.FixedIntervalPolicy(every),
                                                   policies.PreemptionCheckpointingPolicy()]))
  mngr = ocp.CheckpointManager(checkpoint_dir(workdir), options=options, item_names=(STATE, CONFIG))
  _OPEN.add(mngr)
  return mngr


def close_all() -> None:
  """Closes every manager `manager` made that is still open: waits for its pending save, then stops its
  threads (the tests call it after each module). Not registered at exit: in a multi-process run a close after
  JAX's distributed client has shut down could wait on the other processes."""
  for mngr in list(_OPEN):
    mngr.close()
    _OPEN.discard(mngr)


def check_config(workdir: str, config, *, record: bool = False) -> None:
  """Writes <workdir>/config.json on the first run; on later runs, checks that config's networks have the
  shapes of the workdir's (comparing abstract states) and, with `record` (training), records any other
  change (workdir.record_changes: config.json rewritten, an entry in config_history.json at the latest
  checkpoint's step, one console line). A workdir without any checkpoint yet takes the new config: a run
  that stopped before saving must not lock its workdir. In a multi-process run every process checks (all
  stop on a mismatch) and process 0 alone writes."""
  saved = workdir_lib.load_saved(workdir)
  in_checkpoint = workdir_lib.checkpoint_config(workdir)  # The latest checkpoint's own config (None: older).
  if saved is None and in_checkpoint is not None and jax.process_index() == 0:
    workdir_lib.write_config(workdir, in_checkpoint)
    logging.warning('%s was missing: rewritten from the config inside checkpoint %d.',
                    workdir_lib.config_path(workdir), workdir_lib.latest_step(workdir))
    saved = in_checkpoint
  if saved is not None and workdir_lib.has_checkpoint(workdir):
    written_by = in_checkpoint if in_checkpoint is not None else saved
    keys = state_lib.mismatch(written_by, config)
    if keys is not None:
      detail = ', '.join(f'{k}: {_get(written_by, k)!r} in the checkpoint, {_get(config, k)!r} now' for k in keys)
      raise ConfigMismatchError(
          f'The checkpoints in {workdir} were written by another network configuration ({detail}). '
          'Use a fresh --workdir, or the config that wrote them.')
    changes = workdir_lib.differences(saved, config)
    if record and changes and jax.process_index() == 0:
      step = workdir_lib.latest_step(workdir)
      workdir_lib.record_changes(workdir, config, changes, step)
      logging.info('From step %d on, this run trains with %s: recorded in %s (history in %s).', step,
                   workdir_lib.describe_changes(changes), workdir_lib.config_path(workdir),
                   os.path.join(workdir, workdir_lib.HISTORY))
    return
  if jax.process_index() > 0:
    return
  workdir_lib.write_config(workdir, config)


def _get(config, dotted):
  for part in dotted.split('.'):
    if part not in config:
      return None
    config = config[part]
  return config


def save(mngr: ocp.CheckpointManager, state, *, force: bool = False) -> None:
  """Saves the state and, as the `config` item, the workdir's config.json as it is now (`check_config` wrote
  it, with any accepted change, before the first save)."""
  step = int(jax.device_get(state.step))
  config = workdir_lib.read_json(workdir_lib.config_path(os.path.dirname(str(mngr.directory))))
  items = {STATE: ocp.args.StandardSave(serialization.to_state_dict(state))}
  if config is not None:
    items[CONFIG] = ocp.args.JsonSave(config)
  mngr.save(step, args=ocp.args.Composite(**items), force=force)


def restore(mngr: ocp.CheckpointManager, abstract_state, step: int | None = None):
  """Restores into the structure (and shardings) of `abstract_state`; None when there is no checkpoint."""
  step = mngr.latest_step() if step is None else step
  if step is None:
    return None
  target = serialization.to_state_dict(abstract_state)
  if os.path.isdir(os.path.join(str(mngr.directory), str(step), _LEGACY)):
    # An older checkpoint (one unnamed item): Orbax reads it only through a manager of that layout.
    with ocp.CheckpointManager(mngr.directory, options=ocp.CheckpointManagerOptions(read_only=True)) as older:
      restored = older.restore(step, args=ocp.args.StandardRestore(target))
  else:
    restored = mngr.restore(step, args=ocp.args.Composite(**{STATE: ocp.args.StandardRestore(target)}))[STATE]
  return serialization.from_state_dict(abstract_state, restored)


def restore_workdir(workdir: str, abstract_state, step: int | None = None):
  """`restore` through a manager of its own, closed afterwards (Orbax's managers hold threads until closed):
  for readers that restore once, such as tests and tools."""
  with manager(workdir) as mngr:
    return restore(mngr, abstract_state, step)
