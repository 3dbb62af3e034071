"""Entry point: train, summarise, sample from or evaluate DSS.

  python -m dss_jax.main --config=configs/synthetic.py --workdir=runs/demo
  python -m dss_jax.main --config=configs/afhq.py:stargan_v2 --mode=summary
  python -m dss_jax.main --config=configs/synthetic.py --workdir=runs/demo --mode=sample
  python -m dss_jax.main --config=configs/afhq.py --workdir=runs/afhq --mode=sample --image=cat.jpg --target=dog --num=8
  python -m dss_jax.main --config=configs/synthetic.py --workdir=runs/demo --mode=eval
  python -m dss_jax.main --config=configs/synthetic.py --workdir=runs/demo --mode=demo   # the editing page (demo.py)
  python -m dss_jax.main --config=configs/celeba_hq.py --config.fan_path=checkpoints/fan.npz --mode=align \
      --inp_dir=my_faces --out_dir=my_faces_aligned
"""

import os

from absl import app, flags, logging
from ml_collections import config_flags

from dss_jax import console, errors

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Config file, optionally path:stargan_v2.', lock_config=True)
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
flags.mark_flags_as_required(['config'])


def _run(config):
  if FLAGS.mode == 'summary':
    from dss_jax import summary
    summary.print_summary(config)
    return
  if FLAGS.mode == 'align':
    from dss_jax import align
    align.align_faces(FLAGS.inp_dir, FLAGS.out_dir, config.get('fan_path', ''), FLAGS.lm_path, config.img_size)
    return
  if FLAGS.workdir is None:
    raise app.UsageError(f'--workdir is required for --mode={FLAGS.mode}.')
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
               psis=[float(p) for p in FLAGS.psi], max_images=FLAGS.max_images, seed=FLAGS.seed or 0, video=FLAGS.video,
               traversal=FLAGS.traversal, traversal_values=[float(v) for v in FLAGS.traversal_values])
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
  print(evaluate.markdown(evaluate.run(config, FLAGS.workdir, model=state)))


def _load_config():
  """FLAGS.config, or one sentence when its file does not exist (ml_collections would give a traceback)."""
  try:
    path = config_flags.get_config_filename(FLAGS['config'])
  except Exception:  # noqa: BLE001 - UnparsedFlagError: set in code (tests), not from a file.
    path = None
  path = path if path is None or os.path.exists(path) else path.rsplit(':', 1)[0]  # 'configs/afhq.py:stargan_v2'.
  if path is not None and not os.path.exists(path):
    raise SystemExit(f'error: there is no config file {path!r} (--config). Give one of configs/*.py (e.g. '
                     '--config=configs/synthetic.py), relative to the current folder, or its full path.')
  return FLAGS.config


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if FLAGS.distributed:
    if FLAGS.mode != 'train':
      raise app.UsageError(f'--distributed is for training; --mode={FLAGS.mode} runs on one host, without it.')
    import jax
    jax.distributed.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
  config = _load_config()
  console.import_tensorflow_quietly()  # No cuInit / oneDNN lines on a CPU machine.
  # Our own errors are sentences for the user (missing data, wrong domain count, another config's
  # checkpoint, a diverged run, missing metric weights): printed without a traceback.
  with errors.sentences_not_tracebacks():
    _run(config)


if __name__ == '__main__':
  console.setup_logging()  # INFO, without library chatter or repeated warnings.
  app.run(main)
