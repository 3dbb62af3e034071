"""Entry point: train, summarise, sample from or evaluate DSS.

  python -m dss_jax.main --config=configs/synthetic.py --workdir=runs/demo
  python -m dss_jax.main --config=configs/afhq.py:stargan_v2 --mode=summary
  python -m dss_jax.main --workdir=runs/demo --mode=sample
  python -m dss_jax.main --config=configs/afhq.py --workdir=runs/afhq --mode=sample --image=cat.jpg --target=dog --num=8
  python -m dss_jax.main --workdir=runs/demo --mode=eval
  python -m dss_jax.main --workdir=runs/demo --config.total_iters=6   # resume, 6 steps in all
  python -m dss_jax.main --workdir=runs/demo --mode=demo   # the editing page (demo.py)
  python -m dss_jax.main --config=configs/celeba_hq.py --config.fan_path=checkpoints/fan.npz --mode=align \
      --inp_dir=my_faces --out_dir=my_faces_aligned

A workdir's config.json is every mode's config (dss_jax/workdir.py): `--mode=sample`, `--mode=eval` and a
resume need only `--workdir`; `--config.KEY=VALUE` changes a key, with or without `--config` (without it the
workdir's config is the base: configs/workdir.py; on a resume the change is recorded in config.json and
config_history.json; a change of the networks' shapes is refused). Before importing JAX or TensorFlow, main
prints what it will do and checks the config, the data's layout and the workdir (dss_jax/preflight.py).
"""

if __name__ == '__main__':  # First of all, so that a signal during the imports below is one line too.
  from dss_jax import interrupts
  interrupts.install()

import os  # noqa: E402
import sys  # noqa: E402

from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from dss_jax import console, errors, interrupts, preflight  # noqa: E402
from dss_jax import workdir as workdir_lib  # noqa: E402

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Config file, optionally path:ARG, where ARG lists '
                                'a configuration, presets and KEY=VALUE pairs: configs/synthetic.py:dss,tiny,lr=0.001 '
                                '(configs/args.py; default: the workdir\'s config.json).', lock_config=True)
flags.DEFINE_string('workdir', None, 'Directory for checkpoints, logs, grids and metrics.')
flags.DEFINE_enum('mode', 'train', ['train', 'summary', 'sample', 'eval', 'align', 'demo'], 'What to do.')
flags.DEFINE_bool('distributed', False, 'Multi-process run (TPU pod slice, several GPU hosts): call '
                  'jax.distributed.initialize() first. Start the same command on every host.')
# --distributed: where JAX cannot find them itself (TPU pod slices, Slurm and Open MPI need none of these).
flags.DEFINE_string('coordinator_address', None, 'distributed: host:port of process 0 (e.g. 10.0.0.1:1234), the '
                    'same on every host.')
flags.DEFINE_integer('num_processes', None, 'distributed: how many processes (hosts) take part.')
flags.DEFINE_integer('process_id', None, 'distributed: this process, 0 to num_processes - 1.')
flags.DEFINE_bool('eval_after_train', True, 'train: on the synthetic dataset, run the identifiability benchmark '
                  '(--mode=eval) when training ends and print its table.')
# --mode=sample and --mode=eval (see dss_jax/sample.py and dss_jax/evaluate.py).
flags.DEFINE_string('checkpoint', None, 'Step number, checkpoint folder or other workdir to load (default: the '
                    "workdir's latest checkpoint; EMA weights).")
flags.DEFINE_string('out_dir', None, 'sample: output folder (default <workdir>/sample_<step>).')
flags.DEFINE_string('src_dir', None, 'sample: folder of source images (flat or <domain>/ sub-folders; default: '
                    'the validation split).')
flags.DEFINE_string('ref_dir', None, 'sample: folder of <domain>/ sub-folders of reference images (default: the '
                    'validation split).')
flags.DEFINE_string('image', None, 'sample: translate this one image file to --target with --num random styles.')
flags.DEFINE_string('target', None, 'sample: target domain (name or index) for --image (default: every domain).')
flags.DEFINE_integer('num', 8, 'sample: random styles per source and target domain.')
flags.DEFINE_list('psi', ['0.5', '0.7', '1.0'], 'sample: truncation values of the latent-guided grids.')
flags.DEFINE_integer('max_images', 8, 'sample: at most this many sources (and references) in the grids.')
flags.DEFINE_integer('seed', None, 'sample/eval: seed of z and of the evaluation pairs (default: 0 for sample, '
                     'config.seed for eval, as StarGAN v2 evaluates with its training seed).')
flags.DEFINE_bool('video', True, 'sample: write the style-interpolation video (mp4 with ffmpeg, else GIF).')
flags.DEFINE_bool('traversal', True, 'sample: write a traversal sheet per target domain (one row per style component, '
                  'ordered by effect; DSS edits z through the flow, StarGAN v2 its code) and, with --video, a video '
                  'of each of the three leading components.')
flags.DEFINE_list('traversal_values', ['-2', '-1', '0', '1', '2'], 'sample: values of the edited component, in '
                  'standard deviations from its mean.')
flags.DEFINE_list('eval_modes', ['latent', 'reference'], 'eval: modes of the FID/LPIPS protocol.')
# --mode=align (see dss_jax/align.py): needs config.fan_path; writes to --out_dir.
flags.DEFINE_string('inp_dir', None, 'align: folder of face pictures (roughly cropped) to align as CelebA-HQ.')
flags.DEFINE_string('lm_path', None, "align: the official celeba_lm_mean.npz (default: next to config.fan_path).")
flags.DEFINE_string('compilation_cache', os.path.join(os.environ.get('XDG_CACHE_HOME') or os.path.expanduser(
    '~/.cache'), 'dss_jax', 'jax'), "JAX's persistent compilation cache: a second start, a resume, sample and eval "
    "read compiled functions from it. '' turns it off; off with --distributed (see docs/training.md).")


def _run(config):
  if FLAGS.mode == 'summary':
    from dss_jax import summary
    summary.print_summary(config)
    return
  if FLAGS.mode == 'align':
    from dss_jax import align
    align.align_faces(FLAGS.inp_dir, FLAGS.out_dir, config.get('fan_path', ''), FLAGS.lm_path, config.img_size)
    return
  if FLAGS.mode == 'train':
    from dss_jax import train
    state = train.train_and_evaluate(config, FLAGS.workdir)
    if config.dataset == 'synthetic' and FLAGS.eval_after_train:
      from dss_jax import multihost  # Several processes: process 0 evaluates, the others wait for it.
      multihost.run_on_process_0('evaluate_after_training', lambda s: _evaluate_after_training(
          config, multihost.local_copy(s)), state)
  elif FLAGS.mode == 'sample':
    from dss_jax import sample
    sample.run(config, FLAGS.workdir, checkpoint=FLAGS.checkpoint, out_dir=FLAGS.out_dir, src_dir=FLAGS.src_dir,
               ref_dir=FLAGS.ref_dir, image=FLAGS.image, target=FLAGS.target, num=FLAGS.num,
               psis=preflight.floats(FLAGS.psi, 'psi'), max_images=FLAGS.max_images, seed=FLAGS.seed or 0,
               video=FLAGS.video, traversal=FLAGS.traversal,
               traversal_values=preflight.floats(FLAGS.traversal_values, 'traversal_values'))
  elif FLAGS.mode == 'eval':
    from dss_jax import evaluate
    print(evaluate.markdown(evaluate.run(config, FLAGS.workdir, checkpoint=FLAGS.checkpoint, seed=FLAGS.seed,
                                         modes=FLAGS.eval_modes)))
  elif FLAGS.mode == 'demo':  # The editing page, http://127.0.0.1:7860 (dss_jax/demo.py; GRADIO_SERVER_PORT moves it).
    from dss_jax import demo
    demo.serve(FLAGS.workdir, config=config, checkpoint=FLAGS.checkpoint, port=None)


def _evaluate_after_training(config, state):
  """--eval_after_train: evaluates the final step and prints its table, unless the workdir already has it
  (a finished run rerun, or the loop's own evaluation at that step)."""
  from dss_jax.metrics import report
  step = int(state.step)
  _, table = report.evaluation_paths(FLAGS.workdir, step)
  if os.path.exists(table):
    logging.info('The evaluation of step %d is in %s (--mode=eval reruns it).', step, table)
    return
  logging.info('Training has ended: evaluating step %d (--eval_after_train=false skips this).', step)
  from dss_jax import evaluate  # Its imports (scikit-learn, the metrics) take a while: announced first.
  metrics = evaluate.run(config, FLAGS.workdir, model=state)
  from dss_jax import train  # The table's scalars become points of TensorBoard's evaluation curves too.
  train.write_evaluation(FLAGS.workdir, step, metrics)
  print(evaluate.markdown(metrics))


# The config file of an existing run (its config.json): the base of --config.KEY=VALUE flags without --config.
WORKDIR_CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'configs', 'workdir.py')


def _parse_flags(argv):
  """absl's flag parsing, with one sentence (no traceback) for a --config.KEY the config does not have, a
  value of the wrong type, or a config file that does not exist. --config.KEY=VALUE flags without --config
  change the workdir's config (`_with_workdir_config`)."""
  argv = _with_workdir_config(argv)
  try:
    return FLAGS(argv)
  except (AttributeError, KeyError):  # ml_collections: an override of a key the config lacks.
    sentence = _unknown_key_sentence(argv)
    if sentence is None:
      raise
    raise SystemExit(f'error: {sentence}') from None
  except flags.Error as e:
    text = str(e)
    if 'Traceback (most recent call last)' in text:  # config_flags quotes the config file's traceback: the
      head, reason = text.splitlines()[0], text.strip().splitlines()[-1]  # last line has the sentence.
      text = f'{head} {reason.split(": ", 1)[-1]}'
    raise SystemExit(f'error: {text}') from None
  except FileNotFoundError as e:
    raise SystemExit(f'error: {e}') from None


def _flag_value(argv, name: str) -> str | None:
  """The last value of --name (as --name=value or --name value) in argv, read before absl parses it."""
  value = None
  for i, token in enumerate(argv[1:], 1):
    bare = token.lstrip('-')
    if token.startswith('-') and bare.startswith(name + '='):
      value = bare.split('=', 1)[1]
    elif token.startswith('-') and bare == name and i + 1 < len(argv):
      value = argv[i + 1]
  return value


def _with_workdir_config(argv) -> list:
  """argv, with --config=configs/workdir.py:<workdir> in front when it has --config.KEY=VALUE flags and no
  --config: the run's config.json is the base they change (for train, sample, eval and demo; with
  --checkpoint=<another workdir>, that one's), as `_resolve_config` does without flags. One sentence when there
  is no run config to change."""
  overrides = [t.lstrip('-').split('=', 1)[0] for t in argv[1:] if t.startswith('-') and
               t.lstrip('-').startswith('config.')]
  if not overrides or any(t.startswith('-') and t.lstrip('-').split('=', 1)[0] == 'config' for t in argv[1:]):
    return argv
  mode, workdir = _flag_value(argv, 'mode') or 'train', _flag_value(argv, 'workdir')
  source = _source_of(mode, workdir, _flag_value(argv, 'checkpoint'))
  found = False
  if source:
    try:
      found = workdir_lib.load_saved(source) is not None or workdir_lib.checkpoint_config(source) is not None
    except ValueError as e:  # workdir.InvalidJSONError: config.json cannot be parsed.
      raise SystemExit(f'error: {e}') from None
  if not found:
    where = (f'{source} has no config.json yet' if source else
             f'--mode={mode} has no --workdir' if mode in ('train', 'sample', 'eval', 'demo') else
             f'--mode={mode} reads no workdir')
    raise SystemExit(f'error: --{overrides[0]} changes a config, and there is none to change: {where}; give '
                     '--config=configs/<file>.py (e.g. --config=configs/synthetic.py).')
  return [argv[0], f'--config={WORKDIR_CONFIG}:{source}', *argv[1:]]


def _unknown_key_sentence(argv) -> str | None:
  """The sentence for the first --config.KEY of argv that the --config file's config lacks (None if all exist)."""
  path = next((a.split('=', 1)[1] for a in argv if a.startswith('--config=')), None)
  if path is None:
    return None
  import importlib.util
  file, _, arg = path.partition(':')
  spec = importlib.util.spec_from_file_location('_dss_jax_config_probe', file)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config(arg) if arg else module.get_config()
  keys = workdir_lib.flat(config)
  for a in argv:
    if a.startswith('--config.'):
      key = a[len('--config.'):].split('=', 1)[0]
      if key not in keys and not any(k.startswith(key + '.') for k in keys):
        return workdir_lib.unknown_key_sentence(key, config)
  return None


def _config_file_name() -> str | None:
  """The --config argument as given ('configs/afhq.py:stargan_v2'), or None without --config; one sentence
  when its file does not exist (ml_collections would give a traceback)."""
  if FLAGS.config is None:
    return None
  try:
    path = config_flags.get_config_filename(FLAGS['config'])
  except Exception:  # noqa: BLE001 - UnparsedFlagError: set in code (tests), not from a file.
    return None
  file = path if os.path.exists(path) else path.rsplit(':', 1)[0]  # 'configs/afhq.py:stargan_v2'.
  if not os.path.exists(file):
    raise SystemExit(f'error: there is no config file {file!r} (--config). Give one of configs/*.py (e.g. '
                     '--config=configs/synthetic.py), relative to the current folder, or its full path.')
  return path


def _override_values() -> dict:
  """The --config.KEY=VALUE flags as {'KEY': value}; {} for a config set in code (tests), which has none."""
  try:
    return config_flags.get_override_values(FLAGS['config'])
  except Exception:  # noqa: BLE001 - ml_collections' UnparsedFlagError (not exported): set in code, not parsed.
    return {}


def _source_workdir() -> str | None:
  """The workdir whose config.json is the base (`_source_of` the flags)."""
  return _source_of(FLAGS.mode, FLAGS.workdir, FLAGS.checkpoint)


def _source_of(mode: str, workdir: str | None, checkpoint: str | None) -> str | None:
  """--workdir, or for sample/eval/demo the workdir of --checkpoint=<another workdir or its checkpoints/<step>
  folder>; None for the modes that read no workdir (summary, align)."""
  if mode in ('sample', 'eval', 'demo') and checkpoint and not checkpoint.isdigit():
    path = os.path.abspath(checkpoint.rstrip('/'))
    if os.path.basename(os.path.dirname(path)) == 'checkpoints':
      path = os.path.dirname(os.path.dirname(path))
    return path
  return workdir if mode in ('train', 'sample', 'eval', 'demo') else None


def _resolve_config():
  """The config the mode runs with (dss_jax/workdir.py): the workdir's config.json with the --config.KEY
  overrides, or the --config file for a new workdir (or a workdir that has no checkpoint yet)."""
  name = _config_file_name()
  requested = FLAGS.config  # None without --config.
  saved = None
  if FLAGS.mode in ('train', 'sample', 'eval', 'demo'):
    if not FLAGS.workdir:  # One sentence, not absl's usage text (every flag's help) with the reason last.
      raise SystemExit(f'error: --workdir is required for --mode={FLAGS.mode}: the run\'s folder (checkpoints, logs, '
                       'config.json), e.g. --workdir=runs/demo.')
    source = _source_workdir()
    saved = workdir_lib.load_saved(source)
    if saved is None:  # config.json lost: the latest checkpoint's own config (training rewrites the file from it).
      saved = workdir_lib.checkpoint_config(source)
    if FLAGS.mode == 'train' and saved is not None and not workdir_lib.has_checkpoint(source):
      saved = None  # A run that stopped before its first checkpoint does not lock its workdir's config.
  if requested is None and saved is None:
    where = (f'{FLAGS.workdir} has no config.json yet' if FLAGS.workdir and FLAGS.mode != 'summary' else
             f'--mode={FLAGS.mode} needs one')
    raise SystemExit(f'error: --config is required: {where} (e.g. --config=configs/synthetic.py).')
  overrides = _override_values() if requested is not None else {}
  config, ignored = workdir_lib.resolve(saved, requested, overrides)
  note = None
  if ignored:
    keys = ', '.join(ignored[:6]) + (f' and {len(ignored) - 6} more' if len(ignored) > 6 else '')
    note = (f"The run's config is {_source_workdir()}/config.json; {name} differs from it in {keys}: kept as the "
            'run has them (--config.KEY=VALUE changes a key; another configuration needs a fresh --workdir).')
  return config, saved is not None, note


def _announce(config, resumed: bool) -> None:
  """The first console line: what will happen, printed within a second of launch."""
  if FLAGS.mode in ('summary', 'align'):
    logging.info('dss_jax --mode=%s of %s.', FLAGS.mode, config.get('dataset'))
    return
  workdir = os.path.abspath(FLAGS.workdir)
  step = workdir_lib.latest_step(workdir)
  if FLAGS.mode == 'train':
    what = (f'a fresh run of {config.total_iters} steps' if not resumed or step is None else
            f'finished: it holds step {step} of {config.total_iters}' if step >= config.total_iters else
            f'resuming from step {step} of {config.total_iters}')
    logging.info('dss_jax: training %s (%s) into %s.', config.dataset, what, workdir)
  else:
    logging.info('dss_jax --mode=%s of %s, checkpoint %s.', FLAGS.mode, workdir,
                 FLAGS.checkpoint or f'of step {step} (the latest)')


def _preflight(config) -> None:
  """The cheap checks (no JAX, no TensorFlow, nothing written): config values, data layout and domain count,
  a writable workdir, the sample flags. One sentence each."""
  if FLAGS.mode in ('train', 'sample', 'eval', 'summary'):
    preflight.check_values(config)
  if FLAGS.mode == 'train':
    preflight.check_data(config)
    preflight.check_writable(FLAGS.workdir)
  if FLAGS.mode == 'eval':
    preflight.check_something_to_evaluate(config)
  if FLAGS.mode == 'sample':
    if FLAGS.image is not None:
      preflight.check_image(FLAGS.image)
    preflight.floats(FLAGS.psi, 'psi')
    preflight.floats(FLAGS.traversal_values, 'traversal_values')
    if FLAGS.target is not None:
      from dss_jax.datasets import registry
      try:
        names = registry.domain_names(config)
      except (ValueError, OSError):  # The data is not on this machine: indices still work.
        names = [f'domain{k}' for k in range(config.num_domains)]
      preflight.domain_index(names, FLAGS.target)


def _compilation_cache() -> None:
  """JAX's persistent compilation cache in FLAGS.compilation_cache (unless JAX_COMPILATION_CACHE_DIR is set
  and the flag is not); off with --distributed: a process that reads the step from the cache while another
  compiles it waits at the first collective past gloo's timeout (docs/training.md, "Fast starts")."""
  import jax
  if FLAGS.distributed:
    jax.config.update('jax_enable_compilation_cache', False)
    return
  if FLAGS['compilation_cache'].present or not os.environ.get('JAX_COMPILATION_CACHE_DIR'):
    if FLAGS.compilation_cache:
      jax.config.update('jax_compilation_cache_dir', FLAGS.compilation_cache)
    else:
      jax.config.update('jax_enable_compilation_cache', False)


def main(argv):
  # Usage mistakes are one sentence each, not absl's usage text (every flag's help) with the reason last.
  if len(argv) > 1:
    raise SystemExit(f'error: unexpected arguments {argv[1:]}: every option is a flag (--name=value); '
                     '--help lists them.')
  if FLAGS.distributed and FLAGS.mode != 'train':
    raise SystemExit(f'error: --distributed is for training; --mode={FLAGS.mode} runs on one host, without it.')
  # Our own errors are sentences for the user (missing data, wrong domain count, another config's
  # checkpoint, a diverged run, missing metric weights, a busy workdir): printed without a traceback.
  with errors.sentences_not_tracebacks():
    config, resumed, note = _resolve_config()
    if FLAGS.mode == 'train' and resumed:  # Before the first line, which would say 'holds step 10 of 5'.
      preflight.check_total_iters(config, workdir_lib.latest_step(FLAGS.workdir))
    _announce(config, resumed)
    if note:
      logging.info('%s', note)
    _preflight(config)
    if FLAGS.mode == 'train' and not FLAGS.distributed:
      workdir_lib.claim(FLAGS.workdir)  # One writer; --distributed: process 0 claims it in train.py.
    _compilation_cache()
    if FLAGS.distributed:
      import jax
      jax.distributed.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
    console.import_tensorflow_quietly()  # No cuInit / oneDNN lines on a CPU machine.
    _run(config)


def run_main():
  """`python -m dss_jax.main`: SIGINT and SIGTERM outside training's own handling (imports, data scans,
  evaluation, sampling) end it with one line and status 130 or 143 (dss_jax/interrupts.py, installed when the
  module starts); the process ends as soon as its last line is out, without the interpreter's teardown."""
  console.setup_logging()  # INFO, without library chatter or repeated warnings.
  try:
    app.run(main, flags_parser=_parse_flags)
    status = 0
  except SystemExit as stop:
    status = interrupts.status_of(stop)
  except BaseException:  # noqa: BLE001 - a bug or a library's error: its traceback, as Python prints it.
    sys.excepthook(*sys.exc_info())
    status = 1
  interrupts.exit_now(status)


if __name__ == '__main__':
  run_main()
