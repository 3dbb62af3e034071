"""The training loop: `train_and_evaluate(config, workdir)`.

All I/O lives here (data, logging, image grids, checkpoints); the step itself is the pure
`train_step.train_step`, jitted over a ('data',) device mesh: parameters replicated, batch sharded.
The same code runs on one CPU, several GPUs or a TPU pod slice (launch every process with
`--distributed`, which calls `jax.distributed.initialize()`).

Rerunning the same command resumes from the latest checkpoint in the workdir. One process trains into a
workdir at a time (`workdir.claim`). SIGINT (Ctrl-C) and SIGTERM (a preemption) stop the run at the next
step boundary after saving that step (`_StopRequests`); in a multi-process run, JAX's preemption service
makes every process stop at the same step (Orbax's PreemptionCheckpointingPolicy).

The console gets a short line per config.log_every steps (`progress_line`: step, the losses that tell a
run's health, steps/s, ETA), one line before the first step (XLA compiles it then) and one per
checkpoint; every term goes to TensorBoard (<workdir>/events.out.tfevents.*) only, with the results of
evaluation (`eval_every`) as curves (`evaluation_scalars`). Steps/s and ETA count training time only
(`Chrono`: compiling, grids, checkpoints and evaluation are left out) and continue across a resume.
"""

import functools
import json
import os
import signal
import threading
import time

import jax
import numpy as np
from absl import logging
from clu import metric_writers, parameter_overview, periodic_actions
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from dss_jax import checkpoint, errors, images, models, multihost
from dss_jax import state as state_lib
from dss_jax import workdir as workdir_lib
from dss_jax.state import TrainState, init_state
from dss_jax.train_step import hyperparameters, train_step, validate

GRID_ROWS = 8
GRID_COLUMNS = ('source', 'reference', 'reference-guided', 'latent-guided')  # The training grid's columns.


class DivergedError(FloatingPointError):
  """A loss or gradient became NaN or infinite."""


def create_mesh() -> Mesh:
  return Mesh(np.array(jax.devices()), ('data',))


def shardings(mesh: Mesh):
  """(replicated, batch-sharded) shardings of the mesh."""
  return NamedSharding(mesh, P()), NamedSharding(mesh, P('data'))


def create_train_state(config, rng, mesh: Mesh | None = None, nets: models.Networks | None = None) -> TrainState:
  """The initial state, initialised under jit directly into its (replicated) sharding."""
  nets = nets or models.build(config)
  replicated, _ = shardings(mesh or create_mesh())
  return jax.jit(functools.partial(init_state, config, nets), out_shardings=replicated)(rng)


def make_train_step(config, mesh: Mesh, nets: models.Networks | None = None):
  """The jitted, sharded iteration: (state, batch, rng, hp) -> (state, metrics); the input state is donated.
  hp: `train_step.hyperparameters(config)`, the learning rates: inputs, not constants, so a config that differs
  from this one only in lr or f_lr runs on the same compiled function, and a new process finds it in the
  persistent compilation cache (the same program). Other changed values compile anew (state.LEARNING_RATES).

  Build it once per run (or per test module) and reuse it: each call of this function compiles anew.
  """
  replicated, sharded = shardings(mesh)
  return jax.jit(functools.partial(train_step, config=config, nets=nets or models.build(config)),
                 in_shardings=(replicated, sharded, replicated, replicated), out_shardings=(replicated, replicated),
                 donate_argnums=(0,))


def translate_grid(ema, x_src, x_ref, y_trg, z, *, nets: models.Networks):
  """EMA translations for the image grids: (reference-guided, latent-guided), each [B, H, W, 3]."""
  s_ref = nets.style(ema['style']['style_encoder'], x_ref, y_trg)
  s_lat = nets.map(ema['style']['mapping'], z, y_trg)
  return nets.generate(ema['generator'], x_src, s_ref), nets.generate(ema['generator'], x_src, s_lat)


def global_batch(batch, mesh: Mesh):
  """This process's numpy batch -> global arrays sharded along 'data'."""
  _, sharded = shardings(mesh)
  return {k: jax.make_array_from_process_local_data(sharded, np.asarray(v)) for k, v in batch.items()}


def _check_finite(history, first_step, workdir, mngr):
  for offset, metrics in enumerate(history):
    if bool(metrics['finite']):
      continue
    bad = sorted(k for k, v in metrics.items() if k != 'finite' and not np.all(np.isfinite(v)))
    last = mngr.latest_step()
    kept = (f'The last good checkpoint (step {last}) is kept in {checkpoint.checkpoint_dir(workdir)}; '
            'rerunning the command resumes from it.' if last is not None else 'No checkpoint had been written yet.')
    raise DivergedError(
        f'Training diverged at step {first_step + offset}: {", ".join(bad)} became NaN or infinite '
        f'(the update of that step was not applied). {kept} Consider a lower learning rate (--config.lr) or a '
        'larger R1 weight (--config.lambda_reg), and check the input images.')


def _domain_names(config) -> list[str]:
  """Domain names for the grid's row labels ('domain<k>' when the dataset cannot name them)."""
  from dss_jax.datasets import registry
  try:
    return registry.domain_names(config)
  except (ValueError, OSError):
    return [f'domain{k}' for k in range(config.num_domains)]


def _mean_scalars(history):
  keys = [k for k in history[0] if k != 'finite']
  return {k: float(np.mean([np.asarray(m[k]) for m in history])) for k in keys}


# The console line's losses: label -> the sums it averages over the latent- and reference-guided sub-steps
# (D adv is D's real + fake loss). After them, the per-domain spreads of F(z, u) and E(x, u) (collapse -> 0).
PROGRESS_TERMS = (
    ('D adv', (('D/latent_real', 'D/latent_fake'), ('D/ref_real', 'D/ref_fake'))),
    ('G adv', (('G/latent_adv',), ('G/ref_adv',))),
    ('sty', (('G/latent_sty',), ('G/ref_sty',))),
    ('cyc', (('G/latent_cyc',), ('G/ref_cyc',))),
)
PROGRESS_SPREADS = ('style/latent_spread', 'style/reference_spread')


def _duration(seconds: float) -> str:
  seconds = int(round(seconds))
  if seconds >= 3600:
    return f'{seconds // 3600}h{seconds % 3600 // 60:02d}m'
  return f'{seconds // 60}m{seconds % 60:02d}s' if seconds >= 60 else f'{seconds}s'


def progress_line(step: int, total: int, scalars: dict, steps_per_sec: float | None) -> str:
  """The console's progress line (under 130 characters): step, the health terms of PROGRESS_TERMS and
  PROGRESS_SPREADS that `scalars` has, steps/s and ETA."""
  terms = []
  for label, groups in PROGRESS_TERMS:
    sums = [sum(scalars[k] for k in keys) for keys in groups if all(k in scalars for k in keys)]
    if sums:
      terms.append(f'{label} {sum(sums) / len(sums):.3g}')
  if all(k in scalars for k in PROGRESS_SPREADS):
    terms.append('spread lat/ref ' + '/'.join(f'{scalars[k]:.2g}' for k in PROGRESS_SPREADS))
  parts = [f'step {step}/{total}', ', '.join(terms)]
  if steps_per_sec:
    parts.append(f'{steps_per_sec:.3g} steps/s, ETA {_duration((total - step) / steps_per_sec)}')
  return ' | '.join(p for p in parts if p)


class Chrono:
  """Training time and rate, with everything that is not a training step left out (big_vision's Chrono;
  clu's ReportProgress counts evaluation, grids and checkpoints into its steps/s, so it is not used).

  `pause()` ... `resume()` brackets non-training work; the first step's compilation is left out by starting
  the clock after it. The total is kept in <workdir>/progress.json (written with each checkpoint), so a
  resumed run's rate and ETA start from the whole run's, not from zero.
  """

  def __init__(self, workdir: str, start: int):
    self.path = os.path.join(workdir, 'progress.json')
    self.prior_steps, self.prior_seconds = 0, 0.0
    try:
      with open(self.path) as f:
        saved = json.load(f)
      if 0 < saved['step'] <= start and saved['train_seconds'] > 0:
        self.prior_steps, self.prior_seconds = int(saved['step']), float(saved['train_seconds'])
    except (OSError, ValueError, KeyError, TypeError):
      pass
    self.start, self.steps, self.seconds, self.t = start, 0, 0.0, None

  def begin(self, step: int) -> None:
    """Starts the clock at `step` (after the first step compiled)."""
    self.start, self.t = step, time.monotonic()

  def pause(self) -> None:
    if self.t is not None:
      self.seconds += time.monotonic() - self.t
      self.t = None

  def resume(self) -> None:
    if self.t is None:
      self.t = time.monotonic()

  def rate(self, step: int) -> float | None:
    """Training steps per second: this run's when it has measured one, else the earlier runs' (None)."""
    seconds = self.seconds + (time.monotonic() - self.t if self.t is not None else 0.0)
    if step > self.start and seconds > 0:
      return (step - self.start) / seconds
    return self.prior_steps / self.prior_seconds if self.prior_seconds else None

  def train_seconds(self, step: int) -> float:
    """Training seconds of the whole run up to `step` (earlier runs, at their rate, included)."""
    here = self.seconds + (time.monotonic() - self.t if self.t is not None else 0.0)
    before = self.start * (self.prior_seconds / self.prior_steps) if self.prior_steps else 0.0
    return before + here

  def save(self, step: int) -> None:
    if jax.process_index() == 0:
      workdir_lib.write_atomically(self.path, {'step': step, 'train_seconds': self.train_seconds(step)})


class _StopRequests:
  """SIGINT and SIGTERM as requests to stop at the next step boundary (the loop saves that step, then
  raises errors.TrainingInterrupted). Before the run's first step has run (imports, restore, compiling:
  nothing new to save) and at a second signal, the process stops at once: a thread woken by the signal
  itself (signal.set_wakeup_fd) exits, even while the main thread is inside XLA's compiler, where Python
  runs no handler. Orbax's temporary folder of a save cut short that way is removed by the next start.
  In a multi-process run SIGTERM is left to JAX's preemption service (every process stops at the same step
  through Orbax's should_save) and SIGINT is passed on to it as SIGTERM."""

  def __init__(self):
    self.signum, self.started, self._previous, self._wakeup = None, False, {}, None

  def __enter__(self):
    if threading.current_thread() is not threading.main_thread():
      return self  # Signal handlers belong to the main thread (a notebook's worker thread trains without).
    signals = (signal.SIGINT,) if jax.process_count() > 1 else (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
      self._previous[sig] = signal.signal(sig, self._handle)
    if jax.process_count() == 1:
      read, write = os.pipe()
      os.set_blocking(write, False)
      self._wakeup = (signal.set_wakeup_fd(write), write)
      threading.Thread(target=self._watch, args=(read,), daemon=True, name='dss_jax_stop_requests').start()
    return self

  def __exit__(self, *exc):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)
    if self._wakeup is not None:
      previous, write = self._wakeup
      signal.set_wakeup_fd(previous)
      os.close(write)  # The watching thread reads the end of the pipe and ends.

  def _handle(self, signum, frame):
    del frame
    if jax.process_count() > 1:
      os.kill(os.getpid(), signal.SIGTERM)  # JAX's preemption service: every process saves the same step.
      return
    if self.signum is None:
      self.signum = signum
      if not self.started:
        return  # The watching thread stops the process at once: nothing new to save.
      logging.warning('%s received: the run saves at the end of this step and stops (again: stop at once, '
                      'without saving).', signal.Signals(signum).name)

  def _watch(self, read: int) -> None:
    count = 0
    with os.fdopen(read, 'rb', buffering=0) as pipe:
      while data := pipe.read(64):
        for signum in data:
          if signum not in (signal.SIGINT, signal.SIGTERM):
            continue
          count += 1
          if not self.started:
            os.write(2, b'Interrupted before the first step of this run (nothing new to save); rerun the same '
                        b'command to resume.\n')
            os._exit(128 + signum)
          if count > 1:
            os.write(2, b'Second interrupt: stopped at once, without saving this step; the last saved '
                        b'checkpoint is kept, rerun the same command to resume from it.\n')
            os._exit(128 + signum)


def evaluation_scalars(metrics: dict) -> dict[str, float]:
  """Every finite number of an evaluation's result (evaluate.run: the metric table's values, at any nesting)
  as TensorBoard scalars 'eval/<path>' (e.g. eval/mcc/mean, eval/fid_lpips/FID_latent/mean)."""
  from dss_jax.metrics import report
  flat = report.flatten({k: v for k, v in metrics.items() if k != 'step'}, 'eval/')
  return {k: v for k, v in flat.items() if np.isfinite(v)}


def write_evaluation(workdir: str, step: int, metrics: dict, writer=None) -> None:
  """An evaluation's scalars into the workdir's TensorBoard events (the training run's file, in this process)."""
  writer = writer or tensorboard_writer(workdir)
  writer.write_scalars(step, evaluation_scalars(metrics))
  writer.flush()


def _parameter_overview(state, workdir: str) -> None:
  """clu's parameter table of every tree to <workdir>/parameter_overview.txt; one console line of counts."""
  counts = {name: models.param_count(state.params[name]) for name in state_lib.TREES}
  if jax.process_index() == 0:
    table = '\n\n'.join(f'{name}:\n' + parameter_overview.get_parameter_overview(state.params[name],
                                                                                 include_stats=False)
                         for name in state_lib.TREES)
    workdir_lib.write_atomically(os.path.join(workdir, 'parameter_overview.txt'), table + '\n')
  logging.info('Parameters: %s (per array: %s).', ', '.join(f'{k} {v:,}' for k, v in counts.items()),
               os.path.join(workdir, 'parameter_overview.txt'))


def _stop_trace() -> None:
  try:
    jax.profiler.stop_trace()
  except RuntimeError:  # No trace running: clu's Profile ended it.
    pass


def _claim(workdir: str) -> bool:
  """workdir.claim on process 0 (True when taken now); in a multi-process run the others learn its outcome
  through the coordination service, so that every process stops with the same sentence."""
  if jax.process_count() == 1:
    return workdir_lib.claim(workdir)
  from orbax.checkpoint import multihost as ocp_multihost
  client = ocp_multihost.get_jax_distributed_client()
  key = 'dss_jax_workdir_claim'
  if jax.process_index() == 0:
    try:
      claimed = workdir_lib.claim(workdir)
    except workdir_lib.WorkdirBusyError as e:
      client.key_value_set(key, str(e))
      raise
    client.key_value_set(key, '')
    return claimed
  message = client.blocking_key_value_get(key, 600_000)
  if message:
    raise workdir_lib.WorkdirBusyError(message)
  return False


_writers = {}  # Absolute workdir -> its writer: one events file per process, the evaluation after training in it.


def tensorboard_writer(workdir: str):
  """Writes scalars, images and hparams to TensorBoard event files in workdir (process 0; the others write
  nothing); one writer per workdir and process. No console: the loop prints its own short line
  (`progress_line`)."""
  if jax.process_index() > 0:
    return metric_writers.MultiWriter([])
  workdir = os.path.abspath(workdir)
  if workdir not in _writers:
    _writers[workdir] = metric_writers.AsyncWriter(metric_writers.SummaryWriter(workdir))
  return _writers[workdir]


def train_and_evaluate(config, workdir: str, *, train_iterator=None) -> TrainState:
  """Trains DSS (or the StarGAN v2 baseline) for config.total_iters iterations; returns the final state.

  train_iterator: optional iterator of numpy batches (tests); by default the config's dataset.
  """
  from dss_jax.datasets import registry
  in_memory = registry.get(config).train_iterator  # Data made in memory (vector), or None: the tf.data pipeline.
  workdir = os.path.abspath(workdir)
  validate(config)
  claimed = _claim(workdir)  # One writer per workdir: a second training process stops here.
  try:
    with _StopRequests() as stop:
      return _train(config, workdir, train_iterator, in_memory, stop)
  finally:
    if claimed:
      workdir_lib.release(workdir)


def _train(config, workdir, train_iterator, in_memory, stop) -> TrainState:
  if in_memory is None:
    from dss_jax import input_pipeline  # TensorFlow is imported only when data is needed.
  # On every process, so that all stop (process 0 writes config.json, and records a resume's changes).
  checkpoint.check_config(workdir, config, record=True)
  nets = models.build(config)
  mesh = create_mesh()
  if config.batch_size % mesh.size:
    raise ValueError(f'config.batch_size ({config.batch_size}) must be divisible by the number of devices '
                     f'({mesh.size}).')
  init_rng, step_rng = jax.random.split(jax.random.key(config.seed))
  state = create_train_state(config, init_rng, mesh, nets)
  mngr = checkpoint.manager(workdir, config.keep_checkpoints, every=config.checkpoint_every, writer=True)
  restored = checkpoint.restore(mngr, state)
  if restored is not None:
    state = restored
    logging.info('Resumed from the checkpoint of step %d in %s.', int(state.step), workdir)
  start = int(jax.device_get(state.step))
  if start >= config.total_iters:  # A finished run: no new events file, no data, no compilation.
    logging.info('Nothing to do: the workdir already holds step %d of %d.', start, config.total_iters)
    return state
  _parameter_overview(state, workdir)

  writer = tensorboard_writer(workdir)
  if start == 0:
    hparams = state_lib.flat_config(config)
    writer.write_hparams({k: v for k, v in hparams.items() if isinstance(v, (int, float, str, bool))})
  step_fn, hp = make_train_step(config, mesh, nets), hyperparameters(config)
  sample_fn = jax.jit(functools.partial(translate_grid, nets=nets))
  if train_iterator is None:
    # Seeded by the start step: a resumed run continues with fresh batches instead of replaying old ones.
    make = ((lambda c, seed: multihost.process_rows(in_memory(c, seed))) if in_memory else
            (lambda c, seed: input_pipeline.create_train_iterator(c, seed=seed)))
    train_iterator = make(config, config.seed + start)
    grid_batch = next(make(config, config.seed))
  else:
    grid_batch = next(train_iterator)
  # The same rows on every process (jit's numpy arguments must agree across processes).
  grid_batch = {k: v[:GRID_ROWS] for k, v in multihost.gather_rows(grid_batch).items()}
  names = _domain_names(config)
  grid_row_labels = [f'{names[s]}\nto {names[t]}' for s, t in zip(grid_batch['y_src'], grid_batch['y_trg'])]
  grid_z = jax.random.normal(jax.random.key(config.seed + 1), (len(grid_batch['y_trg']), nets.z_dim))

  def write_grid(step):
    if len(nets.x_shape) != 3:  # Vector data: nothing to draw.
      return
    ref, lat = jax.device_get(sample_fn(state.ema, grid_batch['x_src'], grid_batch['x_ref'], grid_batch['y_trg'],
                                        grid_z))
    rows = [[grid_batch['x_src'][i], grid_batch['x_ref'][i], ref[i], lat[i]] for i in range(len(ref))]
    picture = images.labelled_grid(rows, GRID_COLUMNS, grid_row_labels, title=f'step {step}: EMA networks')
    if jax.process_index() == 0:
      images.save_png(os.path.join(workdir, 'samples', f'{step:06d}.png'), picture)
    writer.write_images(step, {'samples/source|reference|reference-guided|latent-guided': picture[None]})

  # config.profile_steps > 0: a trace of that many steps, from this run's second (the first compiles), in
  # <workdir>/plugins/profile/ (TensorBoard's Profile tab; process 0).
  profile = (periodic_actions.Profile(logdir=workdir, num_profile_steps=config.profile_steps,
                                      profile_duration_ms=None, first_profile=start + 1)
             if config.get('profile_steps', 0) > 0 and jax.process_index() == 0 else None)
  chrono = Chrono(workdir, start)
  history, history_start, t0, saved_step = [], start, time.time(), start
  logging.info('Compiling the training step (or reading it from the compilation cache) ...')
  try:
    for step in range(start, config.total_iters):
      batch = global_batch(next(train_iterator), mesh)
      with jax.profiler.StepTraceAnnotation('train', step_num=step):
        state, metrics = step_fn(state, batch, step_rng, hp)
      if step == start:  # The first call compiled the step (it then runs asynchronously).
        jax.block_until_ready(metrics)
        stop.started = True  # From now on a stop request saves the step it stops at.
        t_compiled = time.time()
        chrono.begin(start + 1)
        logging.info('Compiled and ran the first step in %.0f s. Training steps %d to %d; the full set of losses '
                     'goes to TensorBoard (tensorboard --logdir %s).', t_compiled - t0, start + 1,
                     config.total_iters, workdir)
      history.append(metrics)
      done = step + 1
      if profile is not None:
        profile(done)
      last = done == config.total_iters
      # Orbax decides (every checkpoint_every steps, or at a multi-process preemption sync point); the end of
      # the run and a stop request save too.
      preempted = jax.process_count() > 1 and mngr.reached_preemption(done)
      stopping = (stop.signum is not None or preempted) and not last  # At the last step: the run ends anyway.
      save_now = (mngr.should_save(done) or last or stopping) and done != saved_step
      if done % config.log_every == 0 or save_now or stopping:
        host = jax.device_get(history)
        _check_finite(host, history_start, workdir, mngr)
        scalars = _mean_scalars(host)
        rate = chrono.rate(done)
        writer.write_scalars(done, {**scalars, **({'steps_per_sec': rate} if rate else {})})
        logging.info('%s', progress_line(done, config.total_iters, scalars, rate))
        history, history_start = [], done
      chrono.pause()  # Grids, checkpoints and evaluation are not training time.
      if (done % config.sample_every == 0 or last) and not stopping:
        write_grid(done)
      if save_now:
        checkpoint.save(mngr, state, force=True)
        chrono.save(done)
        saved_step = done
        logging.info('Saving the checkpoint of step %d to %s.', done, checkpoint.checkpoint_dir(workdir))
      if stopping:
        mngr.wait_until_finished()
        writer.flush()
        raise errors.TrainingInterrupted(done, stop.signum or signal.SIGTERM)
      if config.eval_every and done % config.eval_every == 0:
        from dss_jax import evaluate  # The metrics (and their weights) are loaded only when asked for.
        result = multihost.run_on_process_0(
            'evaluate', lambda s: evaluate.run(config, workdir, model=multihost.local_copy(s)), state)
        if result is not None:
          write_evaluation(workdir, done, result, writer)
      chrono.resume()
  finally:
    mngr.wait_until_finished()  # A pending asynchronous save completes even when the run stops on an error.
    if profile is not None:
      _stop_trace()  # A run that ends (or stops) within the profiled steps: the trace is still written.
  writer.flush()
  logging.info('Trained %d iterations in %.1f s.', config.total_iters - start, time.time() - t0)
  return state
