"""Entry point: train, summarise, sample from or evaluate DSS.

  python -m dss_jax.main --config=configs/synthetic.py --workdir=runs/demo
  python -m dss_jax.main --config=configs/afhq.py:stargan_v2 --mode=summary
"""

from absl import app, flags, logging
from ml_collections import config_flags

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Config file, optionally path:stargan_v2.', lock_config=True)
flags.DEFINE_string('workdir', None, 'Directory for checkpoints, logs, grids and metrics.')
flags.DEFINE_enum('mode', 'train', ['train', 'summary', 'sample', 'eval'], 'What to do.')
flags.mark_flags_as_required(['config'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  config = FLAGS.config
  if FLAGS.mode == 'summary':
    from dss_jax import summary
    summary.print_summary(config)
    return
  if FLAGS.workdir is None:
    raise app.UsageError(f'--workdir is required for --mode={FLAGS.mode}.')
  if FLAGS.mode == 'train':
    from dss_jax import train
    train.train_and_evaluate(config, FLAGS.workdir)
  else:
    raise app.UsageError(f'--mode={FLAGS.mode} is not available yet.')


if __name__ == '__main__':
  logging.set_verbosity(logging.INFO)
  app.run(main)
