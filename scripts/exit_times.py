"""Seconds between the last line of `python -m dss_jax.main` and the end of its process, over several runs.

  python scripts/exit_times.py --runs=10 --workdir=/tmp/dss_jax_exit_times

Each odd run resumes the same workdir (the tests' tiny synthetic config) for 2 more steps; each even run starts a
fresh run that would not end by itself and is stopped with SIGINT once its first step ran, so both last lines a
user waits after are measured:
"Trained ..." and "Interrupted at step N; saved; ...". The first run fills the compilation cache
(--compilation_cache, default a folder beside the workdir). One line per run, then the median and the
largest; the exit status is 1 when a run failed or took more than --limit seconds to end after its last line.
--repo runs another checkout's dss_jax; --repo=A,B alternates two (a before/after comparison under the same
load: run i of each is started one after the other), with a workdir each.
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'scripts'))
import interrupt_stress  # noqa: E402


def one_run(command, cwd, env, interrupt: bool) -> tuple[float, str, int]:
  """(seconds from the last line to the end, the last line, exit status)."""
  proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  last, t_last, sent = '', time.time(), False

  def read():
    nonlocal last, t_last, sent
    for line in proc.stdout:
      if line.strip():
        last, t_last = line.rstrip('\n'), time.time()
      if interrupt and not sent and 'Compiled and ran the first step' in line and proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        sent = True

  reader = threading.Thread(target=read, daemon=True)
  reader.start()
  proc.wait()
  t_end = time.time()
  reader.join()
  return t_end - t_last, last, proc.returncode


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--runs', type=int, default=10)
  parser.add_argument('--workdir', default='/tmp/dss_jax_exit_times')
  parser.add_argument('--compilation_cache', default=None)
  parser.add_argument('--repo', default=REPO, help='the checkout whose dss_jax runs')
  parser.add_argument('--limit', type=float, default=2.0)
  options = parser.parse_args()
  repos = options.repo.split(',')
  cache = options.compilation_cache or options.workdir.rstrip('/') + '_jit_cache'
  waits, failures = {repo: [] for repo in repos}, 0
  for i in range(options.runs):
    for k, repo in enumerate(repos):
      workdir = options.workdir + (f'_{k}' if len(repos) > 1 else '')
      if i == 0:
        shutil.rmtree(workdir, ignore_errors=True)
      env = interrupt_stress.environment()
      env['PYTHONPATH'] = os.pathsep.join(p for p in (repo, env.get('PYTHONPATH')) if p)
      interrupt = i % 2 == 1
      if interrupt:  # A fresh run that never ends by itself, signalled once training runs: it must say so and stop.
        workdir += '_interrupted'
        shutil.rmtree(workdir, ignore_errors=True)
        command = interrupt_stress.training_command(workdir, cache)
      else:  # The same workdir resumed for 2 more steps: it ends with "Trained ...".
        command = [a for a in interrupt_stress.training_command(workdir, cache)
                   if not a.startswith('--config.total_iters=')] + [f'--config.total_iters={i + 2}']
      wait, last, status = one_run(command, repo, env, interrupt)
      ok = status == (128 + signal.SIGINT if interrupt else 0) and wait <= options.limit
      failures += not ok
      waits[repo].append(wait)
      name = f' {repo}' if len(repos) > 1 else ''
      print(f'run {i + 1:2d}{name}: exit {status:3d} {wait:5.2f} s after its last line {last[-90:]!r}'
            + ('' if ok else '  PROBLEM'), flush=True)
  for repo, times in waits.items():
    name = f'{repo}: ' if len(repos) > 1 else ''
    print(f'{name}{len(times)} runs: {statistics.median(times):.2f} s median, {max(times):.2f} s at most from the last '
          f'line to the end ({", ".join(f"{t:.1f}" for t in times)}).')
  print(f'{failures} runs over {options.limit:.0f} s or failed.')
  return 1 if failures else 0


if __name__ == '__main__':
  sys.exit(main())
