"""Measures the training input pipeline's own throughput (no model), to check it outruns the training step.

  PYTHONPATH=. python scripts/bench_input_pipeline.py --config=configs/synthetic.py   # or pip install -e . first
  PYTHONPATH=. python scripts/bench_input_pipeline.py --config=configs/afhq.py --config.dataset=folder \
      --config.data_dir=/path/to/root --config.num_domains=3 --config.batch_size=8

Prints examples/s (one example = x_src + x_ref + x_ref2, i.e. three decoded and augmented images) and
images/s, after a warm-up, with all of the machine's cores available to tf.data.
"""

import time

from absl import app, flags
from ml_collections import config_flags

from dss_jax import input_pipeline

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/synthetic.py', 'Config file.', lock_config=True)
_STEPS = flags.DEFINE_integer('steps', 200, 'Batches timed (after the warm-up).')
_WARMUP = flags.DEFINE_integer('warmup', 20, 'Batches drawn before timing.')


def main(argv):
  del argv
  config = _CONFIG.value
  start = time.perf_counter()
  it = input_pipeline.create_train_iterator(config, seed=0)
  next(it)
  setup = time.perf_counter() - start
  for _ in range(_WARMUP.value):
    next(it)
  start = time.perf_counter()
  examples = 0
  for _ in range(_STEPS.value):
    examples += len(next(it)['y_src'])
  seconds = time.perf_counter() - start
  print(f'dataset={config.dataset} img_size={config.img_size} batch={config.batch_size}: '
        f'setup + first batch {setup:.1f} s; {examples / seconds:,.0f} examples/s = {3 * examples / seconds:,.0f} '
        f'images/s ({_STEPS.value / seconds:,.1f} batches/s)')


if __name__ == '__main__':
  app.run(main)
