"""Training-speed benchmark: prints figures, asserts nothing.

  python -m dss_jax.bench --config=configs/synthetic.py
  python -m dss_jax.bench --config=configs/afhq.py:stargan_v2 --config.img_size=64 --config.dim_in=32 \
      --config.max_conv_dim=128 --config.batch_size=8

Times the full jitted iteration (2 D steps + 2 G steps + EMA) on random data already on the devices
(the input pipeline is benchmarked separately: scripts/bench_input_pipeline.py). Reports compile
time, the median seconds per iteration after warm-up, images/s (source images per second), peak
memory (device allocator where available, else the process's peak resident memory) and the device.
"""

import resource
import time

import jax
import numpy as np
from absl import app, flags
from ml_collections import config_flags

from dss_jax import train

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Config file, optionally path:stargan_v2.', lock_config=True)
flags.DEFINE_integer('warmup', 3, 'Iterations run before timing.')
flags.DEFINE_integer('iters', 20, 'Timed iterations.')
flags.mark_flags_as_required(['config'])


def random_batch(config, seed=0):
  rng = np.random.default_rng(seed)
  shape = (config.batch_size, config.img_size, config.img_size, 3)
  images = lambda: rng.uniform(-1, 1, shape).astype(np.float32)
  labels = lambda: rng.integers(0, config.num_domains, config.batch_size).astype(np.int32)
  return {'x_src': images(), 'y_src': labels(), 'x_ref': images(), 'x_ref2': images(), 'y_trg': labels()}


def peak_memory_gib():
  stats = jax.devices()[0].memory_stats() or {}
  if 'peak_bytes_in_use' in stats:
    return stats['peak_bytes_in_use'] / 2**30, 'device'
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 'host RSS'


def benchmark(config, warmup=3, iters=20, print_fn=print):
  mesh = train.create_mesh()
  state = train.create_train_state(config, jax.random.key(config.seed), mesh)
  batch = train.global_batch(random_batch(config), mesh)
  rng, hp = jax.random.key(1), train.hyperparameters(config)
  t0 = time.perf_counter()
  step = train.make_train_step(config, mesh).lower(state, batch, rng, hp).compile()
  compile_s = time.perf_counter() - t0
  for _ in range(warmup):
    state, metrics = step(state, batch, rng, hp)
  jax.block_until_ready(metrics)
  times = []
  for _ in range(iters):
    t = time.perf_counter()
    state, metrics = step(state, batch, rng, hp)
    jax.block_until_ready(metrics)
    times.append(time.perf_counter() - t)
  median = float(np.median(times))
  memory, where = peak_memory_gib()
  device = jax.devices()[0]
  figures = {'device': f'{len(jax.devices())} x {device.device_kind} ({device.platform})',
             'mapping': config.mapping, 'dtype': config.dtype, 'img_size': config.img_size,
             'batch_size': config.batch_size, 'compile_s': compile_s, 'median_s_per_iter': median,
             'images_per_s': config.batch_size / median, 'peak_memory_gib': memory, 'memory_source': where}
  print_fn(f"device: {figures['device']}")
  print_fn(f'config: mapping={config.mapping} lambda_uni={config.lambda_uni} lambda_smooth={config.lambda_smooth} '
           f'img_size={config.img_size} dim_in={config.dim_in} max_conv_dim={config.max_conv_dim} '
           f'batch={config.batch_size} dtype={config.dtype}')
  print_fn(f'compile: {compile_s:.1f} s')
  print_fn(f'iteration: {median:.3f} s median over {iters} (min {min(times):.3f}, max {max(times):.3f})')
  print_fn(f"throughput: {figures['images_per_s']:.1f} images/s")
  print_fn(f'peak memory: {memory:.2f} GiB ({where})')
  return figures


def main(argv):
  del argv
  benchmark(FLAGS.config, FLAGS.warmup, FLAGS.iters)


if __name__ == '__main__':
  app.run(main)
