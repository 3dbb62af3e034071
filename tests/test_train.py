"""The training iteration and loop: sub-step/optimizer bookkeeping, EMA, sharding, resume, NaN guard."""

import glob
import json
import os
import shutil
import signal

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest
from flax import serialization

from dss_jax import checkpoint, errors, losses, train
from dss_jax import state as state_lib
from dss_jax import workdir as workdir_lib
from dss_jax.state import init_state


def _batch(config, seed=0, n=None):
  rng = np.random.default_rng(seed)
  n = n or config.batch_size
  shape = (n, config.img_size, config.img_size, 3)
  return {'x_src': rng.uniform(-1, 1, shape).astype(np.float32), 'y_src': rng.integers(0, config.num_domains, n),
          'x_ref': rng.uniform(-1, 1, shape).astype(np.float32),
          'x_ref2': rng.uniform(-1, 1, shape).astype(np.float32),
          'y_trg': rng.integers(0, config.num_domains, n).astype(np.int32)}


@pytest.fixture(scope='module')
def mesh():
  return train.create_mesh()


@pytest.fixture(scope='module')
def step_fn(config, mesh):
  return train.make_train_step(config, mesh)


def _fresh_state(config, nets, mesh):
  return train.create_train_state(config, jax.random.key(0), mesh, nets)


@pytest.fixture(scope='module')
def one_step(config, nets, mesh, step_fn):
  before = jax.device_get(_fresh_state(config, nets, mesh))
  after, metrics = step_fn(_fresh_state(config, nets, mesh), train.global_batch(_batch(config), mesh),
                           jax.random.key(1), train.hyperparameters(config))
  return before, jax.device_get(after), jax.device_get(metrics)


def _adam_counts(opt_state):
  is_adam = lambda s: isinstance(s, optax.ScaleByAdamState)
  counts = [s.count for s in jax.tree_util.tree_leaves(opt_state, is_leaf=is_adam) if is_adam(s)]
  return sorted({int(c) for c in counts})


def test_each_tree_passes_through_its_optimizer_the_right_number_of_times(one_step):
  before, after, metrics = one_step
  assert bool(metrics['finite'])
  # D and G: two sub-steps each; the style tree (flow + style encoder) only in the latent G step.
  assert _adam_counts(after.opt_state['discriminator']) == [2]
  assert _adam_counts(after.opt_state['generator']) == [2]
  assert _adam_counts(after.opt_state['style']) == [1]
  assert int(after.step) == 1
  for name in ('generator', 'style', 'discriminator'):
    changed = jax.tree_util.tree_map(lambda a, b: not np.allclose(a, b), before.params[name], after.params[name])
    assert any(jax.tree_util.tree_leaves(changed)), name


def test_every_loss_term_is_reported(one_step):
  _, _, metrics = one_step
  for key in ('D/latent_real', 'D/latent_fake', 'D/latent_reg', 'D/latent_uni', 'D/ref_uni', 'G/latent_adv',
              'G/latent_sty', 'G/latent_ds', 'G/latent_cyc', 'G/latent_uni', 'G/latent_smooth', 'G/ref_adv',
              'G/ref_cyc', 'lambda_ds', 'grad_norm/G_latent', 'grad_norm/style', 'grad_norm/D_latent'):
    assert key in metrics and np.isfinite(metrics[key]), key
  np.testing.assert_allclose(metrics['lambda_ds'], losses.lambda_ds(0, 1.0, 8), atol=1e-7)


def test_ema_moves_toward_the_params(config, one_step):
  before, after, _ = one_step
  d = config.ema_decay
  expected = jax.tree_util.tree_map(lambda e, p: d * e + (1 - d) * p, before.ema,
                                    {'generator': after.params['generator'], 'style': after.params['style']})
  jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), after.ema, expected)
  gap_before = optax.global_norm(jax.tree_util.tree_map(jnp.subtract, before.ema['generator'],
                                                        after.params['generator']))
  gap_after = optax.global_norm(jax.tree_util.tree_map(jnp.subtract, after.ema['generator'],
                                                       after.params['generator']))
  assert gap_after < gap_before


def test_baseline_config_has_no_dss_terms(config):
  from conftest import tiny_config
  sg2 = tiny_config('stargan_v2')
  state = jax.eval_shape(lambda: init_state(sg2, __import__('dss_jax').models.build(sg2), jax.random.key(0)))
  assert 'mapping' in state.params['style'] and sg2.lambda_uni == 0 and sg2.lambda_smooth == 0
  assert state.params['style']['mapping']['shared_0']['kernel'].shape == (sg2.latent_dim, sg2.mapping_hidden)


def test_sharded_and_single_device_iterations_agree(config, nets, mesh, one_step):
  assert mesh.size == 2, 'tests/conftest.py asks XLA for two host devices'
  single = jax.sharding.Mesh(np.array(jax.devices()[:1]), ('data',))
  state = train.create_train_state(config, jax.random.key(0), single, nets)
  after, metrics = train.make_train_step(config, single)(state, train.global_batch(_batch(config), single),
                                                         jax.random.key(1), train.hyperparameters(config))
  _, sharded_after, sharded_metrics = one_step
  for k in sharded_metrics:
    np.testing.assert_allclose(metrics[k], sharded_metrics[k], rtol=2e-4, atol=2e-5, err_msg=k)
  # Adam's first update is about lr * sign(g). Conv biases that feed an instance norm have exactly zero
  # gradient, so their sign is rounding noise and flips between a sharded and a single-device sum (how many
  # depends on the CPU's kernels: ~4 % of the tiny model's parameters here). So the two updates are compared
  # as vectors: a wrong sharded computation would leave them uncorrelated.
  flat = lambda t: np.concatenate([x.ravel() for x in jax.tree_util.tree_leaves(jax.device_get(t))])
  start = flat(_fresh_state(config, nets, mesh).params)
  a, b = flat(after.params) - start, flat(sharded_after.params) - start
  cosine = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
  assert cosine > 0.95, cosine
  assert np.mean(np.isclose(a + start, b + start, rtol=1e-4, atol=1e-6)) > 0.9


def test_non_finite_batch_leaves_the_state_unchanged(config, nets, mesh, step_fn):
  state = _fresh_state(config, nets, mesh)
  before = jax.device_get(state)
  batch = _batch(config)
  batch['x_src'][0, 0, 0, 0] = np.nan
  after, metrics = step_fn(state, train.global_batch(batch, mesh), jax.random.key(1), train.hyperparameters(config))
  assert not bool(metrics['finite'])
  jax.tree_util.tree_map(np.testing.assert_array_equal, jax.device_get(after), before)


def test_a_changed_learning_rate_reuses_the_compiled_step(config, nets, mesh, step_fn, one_step):
  """lr and f_lr are inputs of the compiled step (train_step.hyperparameters): a resume that changes them reuses the
  compiled function in this process, and a new process's step lowers to the same program, so the persistent
  compilation cache serves it (issue 30: a changed lr compiled for 139 s and added a cache entry per lr). The
  betas and loss weights stay constants (state.LEARNING_RATES says why)."""
  changed = config.copy_and_resolve_references()
  changed.lr, changed.f_lr = config.lr * 3, config.f_lr / 2
  batch, rng = train.global_batch(_batch(config), mesh), jax.random.key(1)
  state = _fresh_state(config, nets, mesh)
  program = lambda fn, cfg: fn.lower(state, batch, rng, train.hyperparameters(cfg)).as_text()
  assert program(train.make_train_step(changed, mesh, nets), changed) == program(step_fn, config)
  before, same_lr, _ = one_step
  after, _ = step_fn(state, batch, rng, train.hyperparameters(changed))
  assert step_fn._cache_size() == 1
  # The new rates took effect: Adam's first updates are about lr * sign(g), so the moves scale with the rates.
  after = jax.device_get(after)
  leaves = jax.tree_util.tree_leaves
  move = lambda a, b: np.mean([np.abs(x - y).mean() for x, y in zip(leaves(a), leaves(b))])
  ratio = lambda get: move(get(after), get(before)) / move(get(same_lr), get(before))
  assert ratio(lambda s: s.params['discriminator']) == pytest.approx(3, rel=0.2)
  assert ratio(lambda s: s.params['style']['mapping']) == pytest.approx(0.5, rel=0.2)


def test_the_learning_rate_as_an_input_updates_as_the_constant_did():
  """An update with lr an f32 input of the program is bit for bit the one with lr a Python constant (optax's own
  chain, as state.py built it before): stored results stay reproducible (scripts/check_equivalence.py checks the
  whole step)."""
  tx = state_lib.Optimizers(beta1=0.0, beta2=0.99, weight_decay=1e-4)
  rng = np.random.default_rng(0)
  params = {'mapping': {'w': rng.standard_normal((64, 32)).astype(np.float32)},
            'style_encoder': {'w': rng.standard_normal((128, 16)).astype(np.float32)}}
  grads = jax.tree_util.tree_map(lambda p: rng.standard_normal(p.shape).astype(np.float32) * 1e-3, params)
  lr, f_lr = 3e-4, 1e-6
  adam = lambda rate: optax.chain(optax.add_decayed_weights(1e-4), optax.scale_by_adam(0.0, 0.99, 1e-8),
                                  optax.scale(-rate))
  old = optax.multi_transform({'mapping': adam(f_lr), 'style_encoder': adam(lr)},
                              lambda p: {k: jax.tree_util.tree_map(lambda _, k=k: k, v) for k, v in p.items()})

  def steps(update, *args):
    opt, p = tx.transform('style').init(params), params
    for _ in range(3):
      u, opt = update(grads, opt, p, *args)
      p = optax.apply_updates(p, u)
    return p

  with_input = steps(jax.jit(lambda g, o, p, h: tx.transform('style', h).update(g, o, p)),
                     {'lr': np.float32(lr), 'f_lr': np.float32(f_lr)})
  jax.tree_util.tree_map(np.testing.assert_array_equal, with_input, steps(jax.jit(old.update)))


class TestTrainAndEvaluate:
  """End to end on the tiny synthetic config: scalars, a PNG grid, checkpoints, resume, NaN stop."""

  @pytest.fixture(scope='class')
  def run(self, config, tmp_path_factory):
    """The run, with the step traced at most once through all its steps, grids and checkpoints (chex raises
    at a second trace: a state whose dtypes, weak types or shardings drift between steps would recompile)."""
    workdir = str(tmp_path_factory.mktemp('run'))
    with pytest.MonkeyPatch.context() as patch:
      patch.setattr(train, 'train_step', chex.assert_max_traces(train.train_step, n=1))
      state = train.train_and_evaluate(config, workdir)
    return workdir, jax.device_get(state)

  def test_writes_scalars_grid_and_checkpoints(self, run, config):
    workdir, state = run
    assert int(state.step) == config.total_iters
    assert sorted(os.listdir(os.path.join(workdir, 'samples'))) == ['000002.png', '000004.png']
    assert workdir_lib.steps(workdir) == [2, 4]
    import tensorflow as tf
    tags = set()
    for path in glob.glob(os.path.join(workdir, 'events.out.tfevents*')):
      for event in tf.compat.v1.train.summary_iterator(path):
        tags.update(v.tag for v in event.summary.value)
    assert {'G/latent_cyc', 'D/latent_reg', 'lambda_ds', 'grad_norm/style', 'steps_per_sec'} <= tags

  def test_second_call_resumes_with_identical_state_and_schedule(self, run, config, mesh, step_fn):
    workdir, state = run
    again = jax.device_get(train.train_and_evaluate(config, workdir))  # Nothing left to do: restores only.
    jax.tree_util.tree_map(np.testing.assert_array_equal, again, state)
    # The schedule continues from the restored step (the reference resets lambda_ds on resume).
    restored = checkpoint.restore_workdir(workdir, train.create_train_state(config, jax.random.key(5), mesh))
    _, metrics = step_fn(restored, train.global_batch(_batch(config), mesh), jax.random.key(1),
                         train.hyperparameters(config))
    np.testing.assert_allclose(metrics['lambda_ds'], config.lambda_ds * (1 - config.total_iters / config.ds_iter),
                               atol=1e-7)

  def test_other_network_config_is_refused(self, run, config):
    workdir, _ = run
    other = config.copy_and_resolve_references()
    other.style_dim = 8
    with pytest.raises(checkpoint.ConfigMismatchError, match='style_dim: 4 in the checkpoint, 8 now'):
      train.train_and_evaluate(other, workdir)

  def test_a_resume_with_changed_settings_is_recorded_and_a_shape_change_refused(self, run, config, tmp_path):
    """--config.lr=0.001 --config.total_iters=6 on the finished run's workdir (what main.py resolves, then what
    training records before its first step): config.json says what trains now, config_history.json what
    changed at which step; a change of the networks' shapes is refused and changes nothing."""
    workdir, _ = run
    copy = str(tmp_path / 'run')
    shutil.copytree(workdir, copy)
    resolved, ignored = workdir_lib.resolve(workdir_lib.load_saved(copy), config, {'lr': 1e-3, 'total_iters': 6})
    assert ignored == []
    checkpoint.check_config(copy, resolved, record=True)
    saved = json.load(open(os.path.join(copy, 'config.json')))
    assert (saved['lr'], saved['total_iters']) == (1e-3, 6)
    (entry,) = workdir_lib.history(copy)
    assert entry['step'] == config.total_iters
    assert entry['changes'] == {'lr': [config.lr, 1e-3], 'total_iters': [config.total_iters, 6]}
    checkpoint.check_config(copy, resolved, record=True)  # The same command again: nothing new to record.
    assert len(workdir_lib.history(copy)) == 1
    wider = resolved.copy_and_resolve_references()
    wider.style_dim = 8
    with pytest.raises(checkpoint.ConfigMismatchError, match='style_dim: 4 in the checkpoint, 8 now'):
      checkpoint.check_config(copy, wider, record=True)
    assert json.load(open(os.path.join(copy, 'config.json'))) == saved and len(workdir_lib.history(copy)) == 1

  def test_each_checkpoint_carries_its_config_and_is_checked_against_it(self, run, config, tmp_path, mesh):
    """The checkpoint's `config` item is the run's config.json when it was saved (read here without Orbax,
    which also checks where Orbax put it). It rewrites a lost config.json, and it decides the shape check
    even when config.json was edited. A checkpoint from before configs were saved in it (one unnamed item)
    still restores."""
    workdir, state = run
    assert {'config', 'state'} <= set(os.listdir(os.path.join(workdir, 'checkpoints', str(config.total_iters))))
    inside = workdir_lib.checkpoint_config(workdir)
    assert workdir_lib.flat(inside) == workdir_lib.flat(workdir_lib.load_saved(workdir))
    copy = str(tmp_path / 'run')
    shutil.copytree(workdir, copy)
    os.remove(os.path.join(copy, 'config.json'))
    checkpoint.check_config(copy, config, record=True)
    assert workdir_lib.flat(workdir_lib.load_saved(copy)) == workdir_lib.flat(inside)
    edited = json.load(open(os.path.join(copy, 'config.json')))
    edited['style_dim'] = 8  # A hand edit of config.json does not change what the checkpoint holds.
    workdir_lib.write_atomically(os.path.join(copy, 'config.json'), edited)
    wider = config.copy_and_resolve_references()
    wider.style_dim = 8
    with pytest.raises(checkpoint.ConfigMismatchError, match='style_dim: 4 in the checkpoint, 8 now'):
      checkpoint.check_config(copy, wider)
    older = str(tmp_path / 'older')
    options = ocp.CheckpointManagerOptions(create=True)
    with ocp.CheckpointManager(checkpoint.checkpoint_dir(older), options=options) as legacy:
      legacy.save(int(state.step), args=ocp.args.StandardSave(serialization.to_state_dict(state)))
    assert workdir_lib.checkpoint_config(older) is None
    restored = checkpoint.restore_workdir(older, train.create_train_state(config, jax.random.key(5), mesh))
    jax.tree_util.tree_map(np.testing.assert_array_equal, jax.device_get(restored), state)

  @pytest.mark.parametrize('damage', ['truncated', 'missing', 'zero_bytes', 'corrupt_state_metadata',
                                      'corrupt_config_item', 'reader'])
  def test_a_damaged_newest_checkpoint_is_set_aside_and_the_previous_one_restored(self, run, config, tmp_path,
                                                                                   mesh, caplog, damage):
    """Step 4's largest file cut short (a full disk), its largest array file removed or emptied, or a metadata
    file corrupt: what training does before its first step (check_config, a writer manager, restore) says so in
    one line, renames the folder to 4.damaged (every file kept) and restores step 2. A reader (sample, eval)
    falls back too but renames nothing."""
    workdir, _ = run
    copy = str(tmp_path / 'run')
    shutil.copytree(workdir, copy)
    newest = os.path.join(copy, 'checkpoints', '4')
    files = sorted((os.path.getsize(p), p) for p in glob.glob(os.path.join(newest, '**'), recursive=True)
                   if os.path.isfile(p))
    largest = files[-1][1]
    largest_data = [p for _, p in files if f'{os.sep}d{os.sep}' in p][-1]  # Of the array data (OCDBT) files.
    if damage in ('truncated', 'reader'):
      os.truncate(largest, os.path.getsize(largest) // 2)
    elif damage == 'missing':
      os.remove(largest_data)
    elif damage == 'zero_bytes':
      os.truncate(largest_data, 0)
    else:
      item = 'state/_METADATA' if damage == 'corrupt_state_metadata' else 'config/metadata'
      with open(os.path.join(newest, item), 'w') as f:
        f.write('{"step": 4, "tree": ')
    count = len(glob.glob(os.path.join(copy, '**'), recursive=True))
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=train.shardings(mesh)[0]),
                            state_lib.abstract_state(config))
    writer = damage != 'reader'
    with caplog.at_level('WARNING'):
      checkpoint.check_config(copy, config, record=writer)
      with checkpoint.manager(copy, writer=writer) as mngr:
        restored = checkpoint.restore(mngr, abstract)
        assert mngr.all_steps() == ([2] if writer else [2, 4])
    assert int(restored.step) == 2
    (line,) = [r.getMessage() for r in caplog.records if r.levelname == 'WARNING']
    ending = 'resuming from step 2.' if writer else 'using step 2 (a resumed training run sets it aside).'
    assert line.startswith('Checkpoint 4 ') and ' cannot be restored (' in line and line.endswith(ending)
    assert '\n' not in line and 'StopIteration' not in line  # The error itself, not what it was raised during.
    if writer:
      assert f'set aside as {newest}.damaged (nothing deleted); resuming from step 2.' in line
    assert sorted(os.listdir(os.path.join(copy, 'checkpoints'))) == (['2', '4.damaged'] if writer else ['2', '4'])
    assert len(glob.glob(os.path.join(copy, '**'), recursive=True)) == count  # Nothing deleted.

  def test_checkpoints_that_do_not_fit_are_not_taken_for_damage(self, run, config, tmp_path, mesh):
    """When no checkpoint restores (here: another network's shapes), nothing is set aside and the newest one's
    error is raised: a checkpoint counts as damaged only when an older one restores."""
    workdir, _ = run
    copy = str(tmp_path / 'run')
    shutil.copytree(workdir, copy)
    other = config.copy_and_resolve_references()
    other.style_dim = 8
    with checkpoint.manager(copy, writer=True) as mngr, pytest.raises(ValueError):
      checkpoint.restore(mngr, state_lib.abstract_state(other))
    assert workdir_lib.steps(copy) == [2, 4] and sorted(os.listdir(checkpoint.checkpoint_dir(copy))) == ['2', '4']

  def test_planted_nan_stops_with_a_message_and_keeps_a_restorable_checkpoint(self, config, tmp_path, mesh):
    def batches():
      for i in range(100):
        batch = _batch(config, seed=i)
        if i == 3:  # Batch 0 feeds the sample grid, so batch 3 is the iteration from step 2 to 3.
          batch['x_src'][:] = np.nan
        yield batch

    with pytest.raises(train.DivergedError, match=r'diverged at step 2: .*D/latent_real.*last good checkpoint '
                                                  r'\(step 2\)'):
      train.train_and_evaluate(config, str(tmp_path), train_iterator=batches())
    restored = checkpoint.restore_workdir(str(tmp_path), train.create_train_state(config, jax.random.key(0), mesh))
    assert int(restored.step) == 2
    assert all(np.all(np.isfinite(x)) for x in jax.tree_util.tree_leaves(jax.device_get(restored.params)))


def _signalling_batches(config, signal_at: int, signum: int):
  """Batches whose draw number `signal_at` (0 is the grid's, k the input of step k - 1 -> k) first sends this
  process `signum`: the signal lands while the loop is between two steps, one step after the previous
  step's checkpoint was started (Orbax writes it asynchronously: it may still be in flight)."""
  for i in range(1000):
    if i == signal_at:
      os.kill(os.getpid(), signum)
    yield _batch(config, seed=i)


def test_sigint_and_sigterm_save_the_step_and_stop_with_one_line(config, tmp_path, capsys, monkeypatch):
  """SIGINT after step 2's checkpoint was started: step 3 is saved, the run stops with one line and the
  shell's status 130. The rerun resumes from step 3; SIGTERM stops it at step 5 the same way; a third run
  ends at step 8. Meanwhile: evaluation results (eval_every, a stand-in evaluation here) reach TensorBoard
  as curves, a profile of one step is captured, and the training time survives the resumes."""
  from dss_jax import evaluate
  monkeypatch.setattr(evaluate, 'run', lambda config, workdir, model: {'step': int(model.step), 'mcc': {
      'mean': 0.5, 'per_domain': [0.4, 0.6]}, 'fid_lpips': {'latent': {'fid': {'mean': 42.0}}}, 'dataset': 'x'})
  cfg = config.copy_and_resolve_references()
  cfg.total_iters, cfg.eval_every, cfg.profile_steps, cfg.sample_every = 8, 4, 1, 100
  workdir = str(tmp_path / 'run')
  handler = signal.getsignal(signal.SIGINT)
  with pytest.raises(SystemExit) as stop, errors.sentences_not_tracebacks():
    train.train_and_evaluate(cfg, workdir, train_iterator=_signalling_batches(cfg, 3, signal.SIGINT))
  assert stop.value.code == 128 + signal.SIGINT
  assert capsys.readouterr().err.splitlines()[-1] == 'Interrupted at step 3; saved; rerun the same command to resume.'
  assert workdir_lib.steps(workdir) == [2, 3]
  assert signal.getsignal(signal.SIGINT) is handler  # The loop's handlers are gone.

  with pytest.raises(errors.TrainingInterrupted) as stop:
    train.train_and_evaluate(cfg, workdir, train_iterator=_signalling_batches(cfg, 2, signal.SIGTERM))
  assert (stop.value.step, stop.value.signum) == (5, signal.SIGTERM)
  assert workdir_lib.steps(workdir) == [3, 4, 5]
  assert json.load(open(os.path.join(workdir, 'progress.json')))['step'] == 5

  state = train.train_and_evaluate(cfg, workdir, train_iterator=_signalling_batches(cfg, -1, 0))
  assert int(state.step) == 8 and workdir_lib.steps(workdir) == [5, 6, 8]
  import tensorflow as tf
  tags = {}
  for path in glob.glob(os.path.join(workdir, 'events.out.tfevents*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for v in event.summary.value:
        tags.setdefault(v.tag, set()).add(event.step)
  assert tags['eval/mcc/mean'] == {4, 8} and tags['eval/fid_lpips/latent/fid/mean'] == {4, 8}
  assert 'eval/mcc/per_domain/1' in tags and 'eval/dataset' not in tags
  assert {'steps_per_sec', 'G/latent_cyc'} <= set(tags)
  assert glob.glob(os.path.join(workdir, 'plugins', 'profile', '*', '*.xplane.pb'))  # TensorBoard's Profile tab.
  assert 'generator:' in open(os.path.join(workdir, 'parameter_overview.txt')).read()


def test_at_least_two_checkpoints_are_kept_so_damage_has_a_fallback(tmp_path):
  """config.keep_checkpoints=1 still keeps two: a damaged newest checkpoint leaves an intact one."""
  with checkpoint.manager(str(tmp_path), keep=1, writer=True) as mngr:
    for step in (1, 2, 3):
      mngr.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave({'x': np.full(2, step)})))
    mngr.wait_until_finished()
    assert mngr.all_steps() == [2, 3]


def test_evaluation_scalars_are_every_number_of_the_result():
  scalars = train.evaluation_scalars({'step': 3, 'mcc': {'mean': np.float32(0.5), 'per_domain': [0.25, 0.75]},
                                      'dataset': 'synthetic', 'ok': True, 'fid': float('nan')})
  assert scalars == {'eval/mcc/mean': 0.5, 'eval/mcc/per_domain/0': 0.25, 'eval/mcc/per_domain/1': 0.75}


def test_extensions_train_the_flow_on_the_reference_codes(config, nets):
  """uni_target='both', lambda_flow_nll and sty_space='z': their terms are in the step (traced, not compiled: the suite
  shares one compiled step), and the NLL's gradient reaches the flow but not the style encoder."""
  import functools

  from conftest import tiny_config

  from dss_jax import models, train_step
  ext = config.copy_and_resolve_references()
  ext.uni_target, ext.lambda_flow_nll, ext.sty_space = 'both', 1.0, 'z'
  state = init_state(ext, nets, jax.random.key(0))
  _, metrics = jax.eval_shape(functools.partial(train_step.train_step, config=ext, nets=nets),
                              state, _batch(ext), jax.random.key(1))
  for key in ('G/latent_uni_flow', 'G/latent_flow_nll', 'G/latent_uni'):
    assert key in metrics, key
  plain = config.copy_and_resolve_references()
  plain.uni_target, plain.lambda_flow_nll, plain.sty_space = 'encoder', 0.0, 's'  # METHOD.md's DSS.
  _, plain = jax.eval_shape(functools.partial(train_step.train_step, config=plain, nets=nets),
                            state, _batch(config), jax.random.key(1))
  assert 'G/latent_uni_flow' not in plain and 'G/latent_flow_nll' not in plain

  x, y = _batch(ext)['x_src'], _batch(ext)['y_src']

  def nll(style):
    s = nets.style_encoder.apply({'params': style['style_encoder']}, x, y)
    log_p = nets.mapping.apply({'params': style['mapping']}, jax.lax.stop_gradient(s), y,
                               method=models.FlowMapping.log_prob)
    return -jnp.mean(log_p)

  grads = jax.grad(nll)(state.params['style'])
  assert optax.global_norm(grads['mapping']) > 0
  assert optax.global_norm(grads['style_encoder']) == 0
  # The flow's non-saturating unification term pushes D_s's logits on latent codes down (towards 'reference').
  assert jax.grad(losses.unification_flow)(jnp.array([0.3]))[0] > 0

  # The options are checked once, when a run is built (train_and_evaluate calls validate), not inside the step.
  for key, value in (('lambda_flow_nll', 1.0), ('sty_space', 'z')):
    mlp = tiny_config('stargan_v2')
    mlp[key] = value
    with pytest.raises(ValueError, match='needs the flow mapping'):
      train_step.validate(mlp)
  bad = tiny_config()
  bad.uni_target = 'flow'
  with pytest.raises(ValueError, match=r"config.uni_target must be one of \('encoder', 'both'\)"):
    train.train_and_evaluate(bad, '/nonexistent/never/written')
