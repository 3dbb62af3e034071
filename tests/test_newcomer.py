"""A newcomer's first hour, scripted (issue 15): README's commands at tiny sizes, and what the console says.

`session` runs `python -m dss_jax.main` as a user would, in subprocesses on one CPU device: the main job
(training, then the evaluation), the same command again (a finished run), `--mode=sample` (with `--workdir`
alone) and `--mode=eval`. The tests read their consoles: no startup noise that reads as failure, a 'Compiling' line
before the first step, short progress lines, a line per checkpoint, the evaluation announced before it
runs and not repeated. Then the bad inputs: each gives one sentence (no traceback) and loses nothing.
"""

import glob
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, tiny_config
from PIL import Image

from dss_jax import checkpoint, errors

STEPS, CHECKPOINT_EVERY = 4, 2
NOISE = ('cuInit', 'libtpu', 'oneDNN')
PROGRESS = re.compile(r'\] step (\d+)/\d+ \|')


def _flat(d, prefix=''):
  out = {}
  for k, v in d.items():
    out.update(_flat(v, f'{prefix}{k}.') if isinstance(v, dict) else {f'{prefix}{k}': v})
  return out


def tiny_flags() -> list[str]:
  """conftest.tiny_config as the --config.key=value flags a user would type on configs/synthetic.py."""
  from configs import synthetic
  base, tiny = _flat(synthetic.get_config().to_dict()), _flat(tiny_config().to_dict())
  flags = [f'--config.{k}={v}' for k, v in tiny.items() if base.get(k) != v]
  return flags + [f'--config.total_iters={STEPS}', f'--config.checkpoint_every={CHECKPOINT_EVERY}',
                  '--config.synthetic.oracle_per_domain=20', '--config.synthetic.oracle_steps=20']


def main(*args, cache_dir=None, timeout=600) -> tuple[int, str]:
  """`python -m dss_jax.main ARGS` from the repository root: (exit status, stdout and stderr as one text)."""
  env = {k: v for k, v in os.environ.items() if not k.startswith(('TF_CPP_', 'XLA_', 'JAX_'))}  # A user's shell.
  env.update(PYTHONUNBUFFERED='1', XLA_FLAGS='--xla_backend_optimization_level=0')  # Tiny: compile fast.
  if cache_dir:  # The four commands share compiled functions (sample and eval compile the same ones).
    env.update(JAX_COMPILATION_CACHE_DIR=str(cache_dir), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS='0.5')
  proc = subprocess.run([sys.executable, '-m', 'dss_jax.main', *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True, timeout=timeout)
  return proc.returncode, proc.stdout


def index_of(lines, text):
  return next((i for i, line in enumerate(lines) if text in line), None)


@pytest.fixture(scope='module')
def session(tmp_path_factory):
  """{command name: (exit status, console lines)} of the scripted session, and the workdir."""
  root = tmp_path_factory.mktemp('newcomer')
  workdir, cache = str(root / 'demo'), root / 'jit_cache'
  common = ['--config=configs/synthetic.py', f'--workdir={workdir}', *tiny_flags()]
  out = {'workdir': workdir}
  # --mode=sample with --workdir alone: the workdir's config.json holds the run's config (issue 22).
  for name, args in (('train', common), ('rerun', common), ('sample', [f'--workdir={workdir}', '--mode=sample',
                                                                       '--video=false']),
                     ('eval', [*common, '--mode=eval'])):
    if name == 'rerun':
      out['events_before_rerun'] = sorted(glob.glob(os.path.join(workdir, 'events.out.tfevents.*')))
    rc, text = main(*args, cache_dir=cache)
    out[name] = (rc, text.splitlines())
    assert rc == 0, f'{name} failed:\n{text[-4000:]}'
  return out


def test_no_startup_noise_and_no_traceback(session):
  for name in ('train', 'rerun', 'sample', 'eval'):
    _, lines = session[name]
    assert not [line for line in lines if any(word in line for word in NOISE)], name
    assert not [line for line in lines if 'Traceback' in line], name


def test_the_first_line_says_what_will_happen(session):
  workdir = session['workdir']
  first = {name: session[name][1][0] for name in ('train', 'rerun', 'sample', 'eval')}
  assert first['train'].endswith(f'dss_jax: training synthetic (a fresh run of {STEPS} steps) into {workdir}.')
  assert first['rerun'].endswith(f'(finished: it holds step {STEPS} of {STEPS}) into {workdir}.')
  assert first['sample'].endswith(f'dss_jax --mode=sample of {workdir}, checkpoint of step {STEPS} (the latest).')
  assert first['eval'].endswith(f'dss_jax --mode=eval of {workdir}, checkpoint of step {STEPS} (the latest).')


def test_compiling_is_announced_before_the_first_step(session):
  _, lines = session['train']
  compiling, first = index_of(lines, 'Compiling the training step'), index_of(lines, '] step 1/')
  assert compiling is not None and first is not None and compiling < first


def test_progress_lines_are_short_and_checkpoints_are_announced(session):
  _, lines = session['train']
  progress = [line for line in lines if PROGRESS.search(line)]
  assert [int(PROGRESS.search(line).group(1)) for line in progress] == list(range(1, STEPS + 1))
  assert all(len(line) < 200 for line in progress), max(progress, key=len)
  assert all(term in progress[-1] for term in ('D adv', 'G adv', 'sty', 'cyc', 'spread lat/ref', 'steps/s', 'ETA'))
  saves = [line for line in lines if 'Saving the checkpoint of step' in line]
  assert len(saves) == STEPS // CHECKPOINT_EVERY


def test_evaluation_is_announced_runs_once_and_is_not_repeated_on_a_finished_rerun(session):
  _, lines = session['train']
  announced, oracle = index_of(lines, 'Evaluating step 4'), index_of(lines, 'Training the oracle')
  written, table = index_of(lines, 'metrics_step4.md'), index_of(lines, '# Evaluation at step 4')
  assert None not in (announced, oracle, written, table) and announced < oracle < written
  assert index_of(lines, 'Trained 4 iterations') < announced
  _, rerun = session['rerun']
  assert index_of(rerun, 'Nothing to do') is not None
  assert index_of(rerun, 'The evaluation of step 4 is in') is not None
  assert not [line for line in rerun if 'Evaluating' in line or 'Compiling' in line or '# Evaluation' in line]
  events = sorted(glob.glob(os.path.join(session['workdir'], 'events.out.tfevents.*')))
  assert len(events) == 1 and events == session['events_before_rerun']  # No second events file.


def test_eval_mode_prints_the_table_of_the_post_training_evaluation(session):
  _, train_lines = session['train']
  _, lines = session['eval']
  assert index_of(lines, 'Evaluating step 4') is not None and index_of(lines, 'Training the oracle') is None
  start = index_of(lines, '# Evaluation at step 4')
  train_start = index_of(train_lines, '# Evaluation at step 4')
  header = lambda ls, i: [line.split('|')[1] for line in ls[i:] if line.startswith('| ')]
  assert start is not None and header(lines, start) == header(train_lines, train_start)  # The same rows.


def test_sample_grids_carry_labels(session):
  _, lines = session['sample']
  (folder,) = glob.glob(os.path.join(session['workdir'], 'sample_*'))
  for name in ('reference.png', 'latent_domain0_psi1.png', 'reference_truncation.png'):
    picture = np.asarray(Image.open(os.path.join(folder, name)))
    assert (picture[:12].min(axis=-1) < 100).any(), f'{name} has no title line'
  training_grid = np.asarray(Image.open(os.path.join(session['workdir'], 'samples', f'{STEPS:06d}.png')))
  assert (training_grid[:12].min(axis=-1) < 100).any()


# ------------------------------------------------------------------------------------------ bad inputs


def test_a_config_path_that_does_not_exist_is_one_sentence(tmp_path):
  rc, text = main('--config=configs/no_such_config.py', f'--workdir={tmp_path}')
  lines = [line for line in text.splitlines() if line.strip()]
  assert rc != 0 and 'Traceback' not in text
  assert lines == ["error: there is no config file 'configs/no_such_config.py' (--config). Give one of configs/*.py "
                   '(e.g. --config=configs/synthetic.py), relative to the current folder, or its full path.']


def test_a_run_that_stops_on_missing_data_does_not_lock_its_workdir(tmp_path):
  from dss_jax import train
  workdir = str(tmp_path / 'run')
  bad = tiny_config()
  bad.dataset, bad.data_dir, bad.num_domains = 'folder', str(tmp_path / 'no_images'), 2  # Other shapes too.
  with pytest.raises(SystemExit) as stop, errors.sentences_not_tracebacks():
    train.train_and_evaluate(bad, workdir)
  message = str(stop.value)
  assert message.startswith('error: No train/ folder in') and '\n' not in message and 'config.data_dir' in message
  assert os.path.exists(os.path.join(workdir, 'config.json'))  # What the user found there.
  checkpoint.check_config(workdir, tiny_config())  # The corrected config is accepted ...
  with open(os.path.join(workdir, 'config.json')) as f:
    assert json.load(f)['dataset'] == 'synthetic'  # ... and becomes the workdir's.


def test_missing_metric_weights_name_the_files_readme_names(tmp_path):
  from dss_jax.metrics import fid, lpips
  readme = (REPO / 'README.md').read_text() + (REPO / 'docs' / 'metrics.md').read_text()
  # What the other metric does meanwhile is evaluate.skip_notes' to say, after both were tried (test_sample_eval).
  for load, key in ((fid.load_inception, 'inception_path'), (lpips.load_lpips, 'lpips_path')):
    with pytest.raises(errors.MetricWeightsNotFoundError) as e:
      load('')
    first, *how = str(e.value).splitlines()
    (path,) = set(re.findall(r'weights/\w+\.npz', '\n'.join(how)))
    assert f'--config.{key}={path}' in readme and f'--config.{key} is not set' in first
    with pytest.raises(errors.MetricWeightsNotFoundError, match=f"the file '{tmp_path}/x.npz' does not exist"):
      load(str(tmp_path / 'x.npz'))


def test_folder_warnings_come_once(tmp_path, caplog):
  """A run scans its folders several times; the programs' console (console.OncePerWarning) says each once."""
  from dss_jax import console
  from dss_jax.datasets import image_folder
  caplog.handler.addFilter(console.OncePerWarning())  # As main.py's console.setup_logging() does.
  for domain in ('a', 'b'):
    (tmp_path / 'train' / domain).mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / 'train' / domain / 'ok.png')
    (tmp_path / 'train' / domain / 'bad.png').write_bytes(b'not a png')
  root = str(tmp_path)
  with caplog.at_level('WARNING', logger='dss_jax.data'):
    for _ in range(2):  # A run scans its splits more than once (training batches, the grid's batch, eval).
      image_folder.find_domains(root, 2)
      for split in ('train', 'test'):
        image_folder.scan_split(root, split, ['a', 'b'])
  messages = [r.getMessage() for r in caplog.records]
  assert sum('unreadable or corrupt' in m for m in messages) == 1
  assert sum('No val/ folder' in m and 'use train/ instead' in m for m in messages) == 1


def test_progress_line_stays_short_at_any_size():
  from dss_jax import train
  worst = {k: -12345.678 for k in ('D/latent_real', 'D/latent_fake', 'D/ref_real', 'D/ref_fake', 'G/latent_adv',
                                   'G/ref_adv', 'G/latent_sty', 'G/ref_sty', 'G/latent_ds', 'G/ref_ds', 'G/latent_cyc',
                                   'G/ref_cyc', 'style/latent_spread', 'style/reference_spread')}
  line = train.progress_line(1, 1_000_000, worst, 0.0123)
  assert line.startswith('step 1/1000000 | D adv -2.47e+04, G adv') and 'ETA ' in line
  assert len(line) < 200 - len('I1128 11:13:16.404189 139928807578496 train.py:241] ')  # With absl's prefix.
