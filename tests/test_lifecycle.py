"""A run's lifecycle at the command line (issue 22): every bad input is one sentence, found before JAX and
TensorFlow are imported and before anything is written; one training process per workdir; the workdir's
config.json is every mode's config.

The subprocesses here run `python -m dss_jax.main` with stand-in `jax` and `tensorflow` packages first on
PYTHONPATH that raise ImportError when imported: a check that passes them ran before the heavy imports (so
it costs about a second, not a minute of imports and compiling). None of them compiles anything.
"""

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, tiny_config

from dss_jax import workdir as workdir_lib


@pytest.fixture(scope='module')
def no_heavy_imports(tmp_path_factory):
  """A folder of stand-in jax and tensorflow packages that fail when imported."""
  root = tmp_path_factory.mktemp('poison')
  for name in ('jax', 'tensorflow'):
    (root / name).mkdir()
    (root / name / '__init__.py').write_text(f'raise ImportError("{name} was imported before the check")\n')
  return root


def _main(args, pythonpath, timeout=120):
  env = {k: v for k, v in os.environ.items() if not k.startswith(('TF_CPP_', 'XLA_', 'JAX_'))}
  env['PYTHONPATH'] = os.pathsep.join(str(p) for p in (pythonpath, REPO) if p)
  proc = subprocess.run([sys.executable, '-m', 'dss_jax.main', *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True, timeout=timeout)
  return proc.returncode, proc.stdout


def _one_error(rc, text) -> str:
  assert rc != 0, text
  assert 'Traceback' not in text, text
  errors = [line for line in text.splitlines() if line.startswith('error: ')]
  assert len(errors) == 1, text
  return errors[0]


def _workdir_with_config(path):
  """A workdir as training leaves it, without checkpoints: config.json of the tests' tiny config."""
  path.mkdir()
  (path / 'config.json').write_text(tiny_config().to_json_best_effort(indent=2))
  return path


TRAIN = ['--config=configs/synthetic.py']


@pytest.mark.parametrize('args, sentence', [
    (['--config.lrr=1'], "The config has no key 'lrr' (did you mean 'lr'?)"),
    (['--config.no_such_key=1'], "The config has no key 'no_such_key'"),
    (['--config.flow.num_binz=3'], "no key 'flow.num_binz' (did you mean 'flow.num_bins'?)"),
    (['--config.batch_size=-4'], 'config.batch_size must be a positive whole number (got -4).'),
    (['--config.batch_size=four'], 'flag --config.batch_size=four'),
    (['--config.num_domains=3'], 'has 5 domains but config.num_domains is 3'),
    (['--config.dataset=folder', '--config.data_dir=/nonexistent/images'], "No train/ folder in '/nonexistent/images'"),
    (['--config.uni_target=flow'], "config.uni_target must be one of ('encoder', 'both')"),
])
def test_a_bad_config_is_one_sentence_before_the_heavy_imports_and_writes_nothing(tmp_path, no_heavy_imports, args,
                                                                                  sentence):
  workdir = tmp_path / 'run'
  error = _one_error(*_main([*TRAIN, f'--workdir={workdir}', *args], no_heavy_imports))
  assert sentence in error
  assert not workdir.exists()


@pytest.mark.parametrize('arg, sentence', [
    ('nosuch', "Unknown word 'nosuch' in the config argument 'nosuch': a configuration (stargan_v2, "),
    ('dss,stargan_v2', "names two configurations ('dss' and 'stargan_v2'); give one."),
    ('tiny,lrr=1', "The config has no key 'lrr' (did you mean 'lr'?)"),
    ('lr=abc', "lr='abc' in the config argument 'lr=abc': Could not override field 'lr'"),
])
def test_a_bad_config_argument_is_one_sentence(tmp_path, no_heavy_imports, arg, sentence):
  error = _one_error(*_main([f'--config=configs/synthetic.py:{arg}', f'--workdir={tmp_path / "run"}'],
                            no_heavy_imports))
  assert error.startswith(f'error: flag --config=configs/synthetic.py:{arg}: ') and sentence in error


def test_a_config_argument_carries_a_configuration_presets_and_values():
  """'dss,tiny,KEY=VALUE' (any order): the configuration, then the file's presets, then the values; one name
  alone builds what it always built (recorded results compare the config their configuration builds)."""
  from configs import default, synthetic
  config = synthetic.get_config('lr=0.001,tiny,flow.num_bins=8,dss,synthetic.variant=species,total_iters=6')
  dss = default.method_dss(synthetic.get_config())
  assert (config.mapping, config.uni_target, config.lambda_uni) == (dss.mapping, dss.uni_target, dss.lambda_uni)
  assert (config.dim_in, config.batch_size, config.style_dim) == (8, 4, 4)  # The tiny preset.
  assert (config.lr, config.flow.num_bins, config.synthetic.variant, config.total_iters) == (1e-3, 8, 'species', 6)
  assert isinstance(config.lr, float)
  assert workdir_lib.flat(synthetic.get_config('stargan_v2')) == workdir_lib.flat(
      default.stargan_v2(synthetic.get_config()))
  assert tiny_config('stargan_v2').latent_dim == 4 and tiny_config().latent_dim == synthetic.get_config().latent_dim


def test_a_workdir_that_cannot_be_made_is_one_sentence(tmp_path, no_heavy_imports):
  (tmp_path / 'a_file').write_text('')
  error = _one_error(*_main([*TRAIN, f'--workdir={tmp_path / "a_file" / "run"}'], no_heavy_imports))
  assert 'cannot be made' in error and 'is a file, not a folder' in error
  if os.geteuid() != 0:  # root may write anywhere.
    locked = tmp_path / 'locked'
    locked.mkdir(mode=0o555)
    error = _one_error(*_main([*TRAIN, f'--workdir={locked / "run"}'], no_heavy_imports))
    assert 'cannot be created' in error and not (locked / 'run').exists()


@pytest.mark.parametrize('args, sentence', [
    (['--target=nosuch'], "Unknown --target 'nosuch'; the model has "),
    (['--traversal_values=abc'], "--traversal_values takes numbers separated by commas (e.g. --traversal_values=-2,"),
    (['--psi=0.5,x'], "--psi takes numbers"),
    (['--psi=0.5,nan'], "--psi is nan, but it must be a finite number from -10 to 10 (1: no truncation, 0: the "),
    (['--psi=1e3'], "--psi is 1000.0, but it must be a finite number from -10 to 10"),
])
def test_bad_sample_flags_are_one_sentence_before_anything_is_written(tmp_path, no_heavy_imports, args, sentence):
  workdir = _workdir_with_config(tmp_path / 'run')
  error = _one_error(*_main(['--mode=sample', f'--workdir={workdir}', *args], no_heavy_imports))
  assert sentence in error
  assert sorted(os.listdir(workdir)) == ['config.json']


def test_sample_and_eval_need_a_config_only_where_the_workdir_has_none(tmp_path, no_heavy_imports):
  error = _one_error(*_main(['--mode=sample', f'--workdir={tmp_path}'], no_heavy_imports))
  assert error == (f'error: --config is required: {tmp_path} has no config.json yet '
                   '(e.g. --config=configs/synthetic.py).')
  workdir = _workdir_with_config(tmp_path / 'run')
  # With the workdir's config.json, --mode=sample gets as far as importing JAX (the stand-in's error).
  rc, text = _main(['--mode=sample', f'--workdir={workdir}'], no_heavy_imports)
  assert rc != 0 and 'jax was imported before the check' in text
  assert f'--mode=sample of {workdir}' in text.splitlines()[0]


def test_a_second_training_process_refuses_at_once_naming_the_first(tmp_path, no_heavy_imports):
  """The first process holds the workdir as training does (workdir.claim); the second, the same training
  command, stops before its heavy imports with a sentence naming the holder. SIGKILL of the holder frees it."""
  workdir = tmp_path / 'run'
  holder = subprocess.Popen([sys.executable, '-c', 'import sys, time\nfrom dss_jax import workdir\n'
                             'workdir.claim(sys.argv[1]); print("held", flush=True); time.sleep(600)', str(workdir)],
                            cwd=REPO, stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
  try:
    assert holder.stdout.readline().strip() == 'held'
    error = _one_error(*_main([*TRAIN, f'--workdir={workdir}'], no_heavy_imports))
    assert f'{workdir} is being trained by another process (host ' in error and f'PID {holder.pid}, since ' in error
  finally:
    holder.kill()
    holder.wait()
  assert workdir_lib.claim(str(workdir))  # The lock died with its holder.
  workdir_lib.release(str(workdir))
  # And the training command now gets past the lock (to the stand-in jax: the real one would train).
  rc, text = _main([*TRAIN, f'--workdir={workdir}'], no_heavy_imports)
  assert rc != 0 and 'jax was imported before the check' in text and 'being trained' not in text


def test_resolve_reads_the_workdir_and_applies_only_the_command_lines_overrides(tmp_path):
  saved = tiny_config()
  requested = tiny_config()
  requested.dim_in, requested.lr = 16, 1e-3  # The file's own width; lr overridden on the command line.
  config, ignored = workdir_lib.resolve(saved, requested, {'lr': 1e-3, 'total_iters': 6})
  assert (config.dim_in, config.lr, config.total_iters) == (saved.dim_in, 1e-3, 6)
  assert ignored == ['dim_in']
  assert workdir_lib.resolve(None, requested, {'lr': 1e-3}) == (requested, [])


def test_record_changes_keeps_a_history_and_writes_atomically(tmp_path):
  workdir = _workdir_with_config(tmp_path / 'run')
  config = tiny_config()
  config.lr = 1e-3
  changes = workdir_lib.differences(tiny_config(), config)
  assert changes == {'lr': [tiny_config().lr, 1e-3]}
  workdir_lib.record_changes(str(workdir), config, changes, step=4)
  assert json.loads((workdir / 'config.json').read_text())['lr'] == 1e-3
  (entry,) = workdir_lib.history(str(workdir))
  assert entry['step'] == 4 and entry['changes'] == {'lr': [tiny_config().lr, 1e-3]} and 'command' in entry
  assert sorted(os.listdir(workdir)) == ['config.json', 'config_history.json']  # No temporary file left.


def test_eval_on_a_folder_dataset_without_metric_weights_is_one_sentence(tmp_path, no_heavy_imports):
  """--mode=eval outside the synthetic dataset measures FID and LPIPS only: without their weights it says so
  once (and how to make them) instead of printing an empty table."""
  workdir = _workdir_with_config(tmp_path / 'run')
  config = json.loads((workdir / 'config.json').read_text())
  config.update(dataset='folder', data_dir=str(tmp_path / 'images'))
  (workdir / 'config.json').write_text(json.dumps(config))
  rc, text = _main(['--mode=eval', f'--workdir={workdir}'], no_heavy_imports)
  error = _one_error(rc, text)
  assert error.startswith("error: --mode=eval on the 'folder' dataset measures FID and LPIPS") and error.endswith(
      'there is nothing to evaluate.')
  assert 'convert_torchvision_weights.py --what=inception' in text and '| ' not in text
  assert sorted(os.listdir(workdir)) == ['config.json']


def test_transparent_images_and_one_image_domains_are_warned_about(tmp_path, caplog):
  from PIL import Image

  from dss_jax.datasets import image_folder
  for domain, count, mode in (('cats', 1, 'RGBA'), ('dogs', 2, 'RGB')):
    (tmp_path / 'train' / domain).mkdir(parents=True)
    for i in range(count):
      Image.new(mode, (8, 8)).save(tmp_path / 'train' / domain / f'{i}.png')
  (tmp_path / 'val').mkdir()
  for domain in ('cats', 'dogs'):
    (tmp_path / 'val' / domain).mkdir()
    Image.new('RGB', (8, 8)).save(tmp_path / 'val' / domain / '0.png')
  with caplog.at_level('WARNING'):
    files, _ = image_folder.scan_split(str(tmp_path), 'train', ['cats', 'dogs'])
  assert [len(f) for f in files] == [1, 2]  # Both kept.
  messages = [r.getMessage() for r in caplog.records]
  assert any(m.startswith('1 image(s) of 3 in') and 'alpha channel, which is dropped' in m for m in messages)
  assert any(m.startswith('Domain(s) cats of') and 'single training image' in m for m in messages)


def test_a_resume_reads_the_workdirs_config_and_names_what_the_config_file_would_change(tmp_path, no_heavy_imports):
  """The tiny run's workdir resumed with configs/synthetic.py alone (no overrides): the run keeps its recorded
  widths, and the console says which keys the file would have changed."""
  workdir = _workdir_with_config(tmp_path / 'run')
  (workdir / 'checkpoints' / '2').mkdir(parents=True)
  rc, text = _main([*TRAIN, f'--workdir={workdir}'], no_heavy_imports)
  lines = text.splitlines()
  assert lines[0].endswith(f'dss_jax: training synthetic (resuming from step 2 of 4) into {workdir}.')
  assert f"The run's config is {workdir}/config.json; configs/synthetic.py differs from it in " in lines[1]
  assert 'dim_in' in lines[1] and 'kept as the run has them' in lines[1]
  assert rc != 0 and 'jax was imported before the check' in text  # Then training would start.


# ------------------------------------------------------------------ issue 30: the project's own sentences


@pytest.mark.parametrize('image, sentence', [
    ('nosuch.jpg', "--image '{tmp}/nosuch.jpg' does not exist; give the path of an image file"),
    ('notes.png', "--image '{tmp}/notes.png' is not an image file PIL can read; give a PNG, JPEG"),
    ('cut.png', "--image '{tmp}/cut.png' cannot be read as an image (damaged or cut short: "),
    ('', '--image needs the path of an image file'),
])
def test_a_sample_image_that_is_not_one_is_a_sentence_before_the_heavy_imports(tmp_path, no_heavy_imports, image,
                                                                               sentence):
  from PIL import Image
  workdir = _workdir_with_config(tmp_path / 'run')
  (tmp_path / 'notes.png').write_text('not a picture')
  Image.new('RGB', (64, 64), 'red').save(tmp_path / 'whole.png')
  (tmp_path / 'cut.png').write_bytes((tmp_path / 'whole.png').read_bytes()[:60])
  path = str(tmp_path / image) if image else ''
  error = _one_error(*_main(['--mode=sample', f'--workdir={workdir}', f'--image={path}'], no_heavy_imports))
  assert sentence.format(tmp=tmp_path) in error
  assert sorted(os.listdir(workdir)) == ['config.json']


@pytest.mark.parametrize('mode', ['train', 'sample', 'eval'])
def test_an_invalid_config_json_is_one_sentence(tmp_path, no_heavy_imports, mode):
  workdir = _workdir_with_config(tmp_path / 'run')
  (workdir / 'checkpoints' / '2').mkdir(parents=True)
  (workdir / 'config.json').write_text('{"lr": 0.1,')
  error = _one_error(*_main([f'--mode={mode}', f'--workdir={workdir}'], no_heavy_imports))
  assert error.startswith(f'error: {workdir}/config.json is not valid JSON (') and error.endswith(
      "move it aside and rerun: it is rewritten from the latest checkpoint's config (or use a fresh --workdir).")


@pytest.mark.parametrize('workdir', ['/proc/dss_jax_run', '/sys/kernel/dss_jax_run'])
def test_a_workdir_in_a_system_folder_is_refused_before_the_heavy_imports(no_heavy_imports, workdir):
  """/proc and /sys pass permission checks for root (os.access), then refuse every new file: writing is tried."""
  if not os.path.isdir(os.path.dirname(workdir)):
    pytest.skip(f'{os.path.dirname(workdir)} is not mounted here.')
  error = _one_error(*_main([*TRAIN, f'--workdir={workdir}'], no_heavy_imports))
  assert error.startswith(f"error: --workdir '{workdir}' cannot be created: '{os.path.dirname(workdir)}' refuses "
                          'new files (') and error.endswith('give a folder you can write to.')


@pytest.mark.parametrize('args, sentence', [
    ([*TRAIN], "error: --workdir is required for --mode=train: the run's folder (checkpoints, logs, config.json), "
               'e.g. --workdir=runs/demo.'),
    (['--mode=sample'], 'error: --workdir is required for --mode=sample: '),
    ([*TRAIN, '--workdir=/tmp/x', 'stray'], "error: unexpected arguments ['stray']: every option is a flag"),
])
def test_usage_mistakes_are_one_line_without_the_flags_help(no_heavy_imports, args, sentence):
  rc, text = _main(args, no_heavy_imports)
  assert rc != 0 and text.strip().startswith(sentence) and len(text.strip().splitlines()) == 1, text


def test_total_iters_below_the_step_the_workdir_holds_is_refused(tmp_path, no_heavy_imports):
  """A resume with --config.total_iters=3 on a workdir holding step 4: one sentence before anything is
  imported or recorded (the run would have said 'holds step 4 of 3' and written total_iters 3 into
  config.json); 4, the step it holds, is a finished run."""
  workdir = _workdir_with_config(tmp_path / 'run')
  (workdir / 'checkpoints' / '4').mkdir(parents=True)
  before = (workdir / 'config.json').read_text()
  error = _one_error(*_main([*TRAIN, f'--workdir={workdir}', '--config.total_iters=3'], no_heavy_imports))
  assert error == ('error: config.total_iters is 3, below step 4, which the workdir already holds; give '
                   '--config.total_iters=4 or more (the steps in all, not the steps to add), or a fresh --workdir.')
  rc, text = _main([*TRAIN, f'--workdir={workdir}', '--config.total_iters=4'], no_heavy_imports)
  assert 'finished: it holds step 4 of 4' in text.splitlines()[0] and 'jax was imported before the check' in text
  # The Python API (train_and_evaluate's first check) refuses it too, and records nothing.
  from dss_jax import checkpoint, errors
  config = tiny_config()
  config.total_iters = 3
  with pytest.raises(errors.BadInputError, match='config.total_iters is 3, below step 4'):
    checkpoint.check_config(str(workdir), config, record=True)
  assert (workdir / 'config.json').read_text() == before and not (workdir / 'config_history.json').exists()


def test_every_error_class_of_ours_is_a_sentence_whatever_builtin_it_extends(capsys):
  from dss_jax import errors
  for base in (ValueError, OSError, RuntimeError, KeyError, TypeError):
    ours = type('Ours', (base,), {'__module__': 'dss_jax.somewhere'})
    with pytest.raises(SystemExit) as stop, errors.sentences_not_tracebacks():
      raise ours('what was wrong and how to fix it')
    assert str(stop.value.code).startswith('error: ') and 'how to fix it' in str(stop.value.code)
  with pytest.raises(RuntimeError), errors.sentences_not_tracebacks():  # A library's error keeps its traceback.
    raise RuntimeError('from a library')


# ------------------------------------------------------------------ issue 30: the workdir is the base


@pytest.mark.parametrize('mode', ['train', 'sample', 'eval'])
def test_config_overrides_without_config_change_the_workdirs_config(tmp_path, no_heavy_imports, mode):
  """--workdir=DIR --config.KEY=VALUE, no --config: DIR/config.json is the base (configs/workdir.py). A value
  preflight refuses shows that the override reached the workdir's config; a good one gets as far as JAX."""
  workdir = _workdir_with_config(tmp_path / 'run')
  (workdir / 'checkpoints' / '4').mkdir(parents=True)
  error = _one_error(*_main([f'--mode={mode}', f'--workdir={workdir}', '--config.batch_size=-4'], no_heavy_imports))
  assert error == 'error: config.batch_size must be a positive whole number (got -4).'
  rc, text = _main([f'--mode={mode}', f'--workdir={workdir}', '--config.total_iters', '6', '--config.lr=0.001'],
                   no_heavy_imports)
  assert rc != 0 and 'jax was imported before the check' in text and 'error: ' not in text, text
  if mode == 'train':
    assert text.splitlines()[0].endswith(f'dss_jax: training synthetic (resuming from step 4 of 6) into {workdir}.')
  error = _one_error(*_main([f'--mode={mode}', f'--workdir={workdir}', '--config.lrr=1'], no_heavy_imports))
  assert error.startswith("error: The config has no key 'lrr' (did you mean 'lr'?)")
  # config.json unchanged until training records the change (train.lock: the good command claimed the workdir).
  assert sorted(os.listdir(workdir)) == ['checkpoints', 'config.json', *(['train.lock'] if mode == 'train' else [])]
  assert (workdir / 'config.json').read_text() == tiny_config().to_json_best_effort(indent=2)


def test_config_overrides_read_the_checkpoints_workdir_and_need_a_config_somewhere(tmp_path, no_heavy_imports):
  """eval with --checkpoint=<another workdir>: that workdir's config is the base. Without any run config to
  change, one sentence says to give --config."""
  workdir = _workdir_with_config(tmp_path / 'run')
  (workdir / 'checkpoints' / '4').mkdir(parents=True)
  error = _one_error(*_main(['--mode=eval', f'--workdir={tmp_path / "eval"}', f'--checkpoint={workdir}',
                             '--config.batch_size=-4'], no_heavy_imports))
  assert error == 'error: config.batch_size must be a positive whole number (got -4).'
  for args, where in (([f'--workdir={tmp_path / "new"}'], f'{tmp_path / "new"} has no config.json yet'),
                      ([], '--mode=train has no --workdir'), (['--mode=summary'], '--mode=summary reads no workdir')):
    error = _one_error(*_main([*args, '--config.total_iters=6'], no_heavy_imports))
    assert error == (f'error: --config.total_iters changes a config, and there is none to change: {where}; give '
                     '--config=configs/<file>.py (e.g. --config=configs/synthetic.py).')
  assert not (tmp_path / 'new').exists() and not (tmp_path / 'eval').exists()


# ------------------------------------------------------------------ issue 30: every signal honoured


def test_sigint_and_sigterm_at_any_moment_of_the_first_seconds_end_with_one_line_and_the_shells_status(tmp_path,
                                                                                                      monkeypatch):
  """The training command with its real imports, five processes side by side, each sent SIGINT or SIGTERM at
  its own moment of its first 4.5 s (imports, the checks, building the state, compiling): each ends with one
  'Interrupted' line, status 128 + the signal's number (130, 143), and no traceback or 'Exception ignored'.
  Issue 30 lost a Ctrl-C at 1.5-2.8 s in JAX's garbage-collection callback (training carried on) and ended
  silently on a SIGTERM during the imports (dss_jax/interrupts.py). scripts/interrupt_stress.py --launch
  does 20 moments over 10 s."""
  import signal
  import threading
  monkeypatch.syspath_prepend(str(REPO / 'scripts'))
  import interrupt_stress
  moments = [(0.3, signal.SIGTERM), (1.0, signal.SIGINT), (1.8, signal.SIGTERM), (2.8, signal.SIGINT),
             (4.5, signal.SIGTERM)]
  env, results = interrupt_stress.environment(), {}

  def one(i, at, signum):
    command = interrupt_stress.training_command(str(tmp_path / f'run{i}'), str(tmp_path / 'jit_cache'))
    results[i] = interrupt_stress.launch_round(command, env, at, signum)

  threads = [threading.Thread(target=one, args=(i, at, signum)) for i, (at, signum) in enumerate(moments)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  assert all(ok for ok, _ in results.values()), '\n'.join(line for _, line in results.values())
