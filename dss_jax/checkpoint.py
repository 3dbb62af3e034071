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
host save the same step); which to keep is its preservation policy (the latest `keep`, at least 2, so that a
damaged newest checkpoint has an intact one to fall back to).

A newest checkpoint that cannot be restored (a file cut short by a full disk or a dying node, one missing or
empty, a corrupt metadata file) does not stop the run for good: `restore` says so in one line, restores the
newest one that can be, and, in training (the manager's `writer`), sets the damaged folder aside as
<step>.damaged (never deleted; Orbax lists only the folders named by a step number).
"""

import os
import re
import weakref

import jax
import orbax.checkpoint as ocp
from absl import logging
from flax import serialization

from dss_jax import preflight
from dss_jax import state as state_lib
from dss_jax import workdir as workdir_lib

STATE, CONFIG = 'state', 'config'  # The items of a checkpoint.
_LEGACY = 'default'  # Orbax's name for the single unnamed item of older checkpoints.
_OPEN = weakref.WeakSet()  # The managers `manager` made: each holds a metadata thread until it is closed.
_WRITERS = weakref.WeakSet()  # Those of them made with writer=True (training): they may set a damaged step aside.
MIN_KEEP = 2  # Checkpoints kept at least, whatever config.keep_checkpoints says: a fallback past damage.
DAMAGED = '.damaged'  # Suffix of a checkpoint folder set aside (<step>.damaged, then <step>.damaged.2, ...).


class ConfigMismatchError(ValueError):
  """The workdir's checkpoint was written by a config with other network shapes."""


def checkpoint_dir(workdir: str) -> str:
  return os.path.join(os.path.abspath(workdir), 'checkpoints')


def manager(workdir: str, keep: int = 3, every: int = 1, *, writer: bool = False) -> ocp.CheckpointManager:
  """The workdir's CheckpointManager: `should_save(step)` is true every `every` steps and at a multi-process
  run's preemption sync point; the latest `keep` checkpoints are kept (at least MIN_KEEP: `restore` falls back
  past a damaged newest one). `writer` (training, which holds the workdir's lock): temporary folders of a save
  that was killed are removed when it starts, and `restore` sets a damaged checkpoint aside; never in readers
  (sample, eval), which may run beside training while its save is in flight."""
  policies = ocp.checkpoint_managers
  options = ocp.CheckpointManagerOptions(
      create=True, cleanup_tmp_directories=writer, preservation_policy=policies.LatestN(max(keep, MIN_KEEP)),
      save_decision_policy=policies.AnySavePolicy([policies.FixedIntervalPolicy(every),
                                                   policies.PreemptionCheckpointingPolicy()]))
  mngr = ocp.CheckpointManager(checkpoint_dir(workdir), options=options, item_names=(STATE, CONFIG))
  _OPEN.add(mngr)
  if writer:
    _WRITERS.add(mngr)
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
    if record:  # main.py refuses it before the imports; here for the Python API.
      preflight.check_total_iters(config, workdir_lib.latest_step(workdir))
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
  """Restores into the structure (and shardings) of `abstract_state`; None when there is no checkpoint.

  step None: the latest checkpoint that can be restored. When the newest cannot be (damaged files) and an
  older one can, one warning line says so, and a writer manager (training) renames the damaged folder to
  <step>.damaged, out of Orbax's steps, so the run saves past it. A checkpoint counts as damaged only when an
  older one restores: when none does (another network's checkpoints, a failing disk), nothing is set aside
  and the newest one's error is raised. A given `step` is restored or raises, without fallback."""
  if step is not None:
    return _restore_step(mngr, abstract_state, step)
  failed = []  # (step, exception) of the newer checkpoints that could not be restored.
  for candidate in sorted(mngr.all_steps(), reverse=True):
    try:
      state = _restore_step(mngr, abstract_state, candidate)
    except Exception as e:  # noqa: BLE001 - Orbax and TensorStore raise anything from a damaged file.
      failed.append((candidate, e))
      continue
    if failed:
      _report_damage(mngr, failed, candidate)
    return state
  if failed:
    raise failed[0][1]
  return None


def _restore_step(mngr: ocp.CheckpointManager, abstract_state, step: int):
  """Checkpoint `step` restored into `abstract_state`; its config item is read too (when it has one), so a
  corrupt config item counts as damage like a corrupt state."""
  target = serialization.to_state_dict(abstract_state)
  folder = os.path.join(str(mngr.directory), str(step))
  if os.path.isdir(os.path.join(folder, _LEGACY)):
    # An older checkpoint (one unnamed item): Orbax reads it only through a manager of that layout.
    with ocp.CheckpointManager(mngr.directory, options=ocp.CheckpointManagerOptions(read_only=True)) as older:
      restored = older.restore(step, args=ocp.args.StandardRestore(target))
  else:
    items = {STATE: ocp.args.StandardRestore(target)}
    if os.path.isdir(os.path.join(folder, CONFIG)):
      items[CONFIG] = ocp.args.JsonRestore()
    restored = mngr.restore(step, args=ocp.args.Composite(**items))[STATE]
  return serialization.from_state_dict(abstract_state, restored)


def _report_damage(mngr: ocp.CheckpointManager, failed, restored_step: int) -> None:
  """One warning line per damaged checkpoint of `failed` ([(step, exception)]), newer than the restored one;
  a writer manager (process 0) sets each aside (`set_aside`) and rereads its steps."""
  writer = mngr in _WRITERS
  for step, error in failed:
    folder = os.path.join(str(mngr.directory), str(step))
    if writer and jax.process_index() == 0:
      where = set_aside(folder)
      logging.warning('Checkpoint %d cannot be restored (%s): set aside as %s (nothing deleted); resuming from '
                      'step %d.', step, _reason(error), where, restored_step)
    else:
      logging.warning('Checkpoint %d in %s cannot be restored (%s): using step %d (a resumed training run sets '
                      'it aside).', step, mngr.directory, _reason(error), restored_step)
  if writer:
    mngr.reload()


def set_aside(folder: str) -> str:
  """Renames a checkpoint folder <step> to <step>.damaged (<step>.damaged.2, ... when taken) beside it, where
  Orbax does not list it as a step; -> the new path."""
  target, n = folder + DAMAGED, 1
  while os.path.exists(target):
    n += 1
    target = f'{folder}{DAMAGED}.{n}'
  os.rename(folder, target)
  return target


def _reason(error: Exception, limit: int = 160) -> str:
  """What went wrong, in at most `limit` characters: the first line of the root cause's message (TensorStore
  wraps it in a message of many lines of specs), without the checkpoint's path, which the line names."""
  while True:  # The chain as a traceback prints it ('raise ... from None' ends it).
    inner = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    if inner is None:
      break
    error = inner
  text = (str(error).strip().splitlines() or [''])[0]
  text = re.sub(r' in OCDBT database at local file "[^"]*"', '', text)
  text = f'{type(error).__name__}: {text}' if text else type(error).__name__
  return text if len(text) <= limit else text[:limit - 3] + '...'


def restore_workdir(workdir: str, abstract_state, step: int | None = None):
  """`restore` through a manager of its own, closed afterwards (Orbax's managers hold threads until closed):
  for readers that restore once, such as tests and tools."""
  with manager(workdir) as mngr:
    return restore(mngr, abstract_state, step)
