"""How long `python -m dss_jax.main` takes to say something, to fail on a mistake, and to run its first step.

  python scripts/bench_start.py                      # this checkout: cold and warm compilation cache
  python scripts/bench_start.py --repo=/tmp/old      # another checkout of dss_jax (e.g. an older commit)

For each case it starts the command in a fresh workdir and prints the seconds from launch to the first line
of output, to the line that says the first step was compiled and ran, and to the end (two steps and their
checkpoint written), and the last line. The cases:
  wrong_num_domains  configs/synthetic.py with --config.num_domains=3 (the dataset has 5): an error
  first_step_cold    configs/synthetic.py, 2 steps, an empty compilation cache
  first_step_warm    the same again in another fresh workdir, with the cache the cold run filled
The cache is given as JAX_COMPILATION_CACHE_DIR (which older checkouts read too); --no_cache runs the
first-step cases without it (how a checkout without a default cache starts).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(command, cwd, env, timeout=1800):
  """(seconds to the first line, to the line saying the first step has run, to the end, last line, status)."""
  t0 = time.monotonic()
  proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  marks, lines = {}, []

  def read():
    for line in proc.stdout:
      lines.append(line.rstrip('\n'))
      marks.setdefault('first', time.monotonic() - t0)
      if 'Compiled' in line:  # 'Compiled [and ran the first step] in N s': the first step has run.
        marks.setdefault('step', time.monotonic() - t0)

  reader = threading.Thread(target=read, daemon=True)
  reader.start()
  proc.wait(timeout)
  reader.join()
  return marks.get('first'), marks.get('step'), time.monotonic() - t0, (lines[-1] if lines else ''), proc.returncode


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--repo', default=REPO, help='the dss_jax checkout to run (default: this one)')
  parser.add_argument('--no_cache', action='store_true', help='first-step cases without a compilation cache')
  parser.add_argument('--cases', default='wrong_num_domains,first_step_cold,first_step_warm')
  options = parser.parse_args()
  root = tempfile.mkdtemp(prefix='dss_jax_bench_start_')
  cache = os.path.join(root, 'jit_cache')
  env = {k: v for k, v in os.environ.items() if not k.startswith(('TF_CPP_', 'XLA_', 'JAX_'))}
  env.update(PYTHONUNBUFFERED='1', PYTHONPATH=options.repo)
  if not options.no_cache:
    env['JAX_COMPILATION_CACHE_DIR'] = cache
  base = [sys.executable, '-m', 'dss_jax.main', '--config=configs/synthetic.py', '--eval_after_train=false']
  cases = {'wrong_num_domains': ['--config.num_domains=3'],
           'first_step_cold': ['--config.total_iters=2'], 'first_step_warm': ['--config.total_iters=2']}
  print(f'repo {options.repo}, cache {"none" if options.no_cache else cache}; seconds from launch', flush=True)
  for name in options.cases.split(','):
    workdir = os.path.join(root, name)
    first, step, end, last, rc = timed([*base, f'--workdir={workdir}', *cases[name]], options.repo, env)
    fmt = lambda t: f'{t:6.1f}' if t is not None else '     -'
    print(f'{name:18s} first line {fmt(first)}  first step {fmt(step)}  end {fmt(end)}  exit {rc}  '
          f'last line: {last[:110]!r}', flush=True)
  shutil.rmtree(root, ignore_errors=True)
  return 0


if __name__ == '__main__':
  sys.exit(main())
