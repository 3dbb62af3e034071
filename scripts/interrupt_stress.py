"""Interrupts a tiny training run N times at random moments and checks what a user would: every stop is one
line, no traceback, the step it names is saved, every announced checkpoint is there, and the rerun resumes
from it.

  python scripts/interrupt_stress.py --runs=10 --workdir=/tmp/interrupt_stress

Each round starts `python -m dss_jax.main` on the same workdir (tests' tiny synthetic config, a checkpoint
every 3 steps), waits until it has trained (its first progress line) plus a random 0-4 s (so some signals
land while an asynchronous checkpoint is being written), sends SIGINT or SIGTERM at random, and waits for it
to end. It prints one line per round and a summary; the exit status is 1 when any round failed a check.
The persistent compilation cache (--compilation_cache, default a folder beside the workdir) makes every
round after the first skip compiling.

  python scripts/interrupt_stress.py --launch --runs=20 --within=10

--launch signals at fixed moments of the first seconds instead (0.25 s, then every --within/--runs s:
imports, the checks before them, restoring, compiling), SIGINT and SIGTERM in turn, a new process each, and
prints each moment's exit status and last line: each must be the one line of an interruption ("Interrupted
..."), with status 128 + the signal's number and no traceback or "Exception ignored" anywhere. A moment that
comes while the process is still in Python's own start-up waits for its end (`handlers_installed`); the line
says when the signal was sent.
"""

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests'))
sys.path.insert(0, REPO)

SAVED = re.compile(r'Saving the checkpoint of step (\d+)')
INTERRUPTED = re.compile(r'^Interrupted at step (\d+); saved; rerun the same command to resume\.$')
RESUMED = re.compile(r'Resumed from the checkpoint of step (\d+)')


def tiny_flags(total_iters: int) -> list[str]:
  from test_newcomer import tiny_flags as flags
  return [*flags(), f'--config.total_iters={total_iters}', '--config.checkpoint_every=3',
          '--config.sample_every=1000']


def environment() -> dict:
  """A user's shell (no TF_CPP_, XLA_ or JAX_ settings of this one), unbuffered, with the tests' cheap compiling."""
  env = {k: v for k, v in os.environ.items() if not k.startswith(('TF_CPP_', 'XLA_', 'JAX_'))}
  env.update(PYTHONUNBUFFERED='1', XLA_FLAGS='--xla_backend_optimization_level=0',
             PYTHONPATH=os.pathsep.join(p for p in (REPO, env.get('PYTHONPATH')) if p))
  return env


def training_command(workdir: str, cache: str) -> list[str]:
  """The tiny run of 100,000 steps (it never ends by itself) into workdir."""
  return [sys.executable, '-m', 'dss_jax.main', '--config=configs/synthetic.py', f'--workdir={workdir}',
          *tiny_flags(100_000), '--eval_after_train=false', f'--compilation_cache={cache}']


def steps_on_disk(workdir: str) -> list[int]:
  directory = os.path.join(workdir, 'checkpoints')
  return sorted(int(n) for n in os.listdir(directory) if n.isdigit()) if os.path.isdir(directory) else []


def one_round(command, workdir, env, rng, previous_step):
  """Starts, waits for training, signals, waits for the end: (ok, line to print, last saved step)."""
  proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  lines, t_start, t_signal, signum, in_flight = [], time.time(), None, None, None
  reader = threading.Thread(target=lambda: lines.extend(line.rstrip('\n') for line in proc.stdout), daemon=True)
  reader.start()
  while proc.poll() is None:
    if t_signal is None and any('] step ' in line for line in list(lines)):
      t_signal = time.time() + rng.uniform(0, 4)
    if t_signal is not None and signum is None and time.time() >= t_signal:
      signum = rng.choice([signal.SIGINT, signal.SIGTERM])
      proc.send_signal(signum)
      at = lines[-1] if lines else ''  # A save announced last: the signal came while Orbax was writing it.
      in_flight = SAVED.search(at).group(1) if SAVED.search(at) else None
    time.sleep(0.05)
  reader.join()
  text = '\n'.join(lines)
  problems = []
  if 'Traceback' in text:
    problems.append('a traceback')
  last = lines[-1] if lines else ''
  match = INTERRUPTED.match(last)
  on_disk = steps_on_disk(workdir)
  stopped = None
  if signum is None:
    problems.append(f'no signal sent (exit {proc.returncode})')
  elif match is None:
    problems.append(f'last line {last!r}')
  else:
    stopped = int(match.group(1))
    if proc.returncode != 128 + signum:
      problems.append(f'exit status {proc.returncode}')
    if not on_disk or on_disk[-1] != stopped:
      problems.append(f'step {stopped} announced, checkpoints on disk {on_disk}')
  announced = [int(m.group(1)) for m in SAVED.finditer(text)]
  if announced and on_disk and max(announced) > on_disk[-1]:
    problems.append(f'announced step {max(announced)} is missing ({on_disk})')
  resumed = RESUMED.search(text)
  if previous_step and (resumed is None or int(resumed.group(1)) != previous_step):
    problems.append(f'did not resume from step {previous_step}')
  name = signal.Signals(signum).name if signum else '-'
  timing = f'{t_signal - t_start:5.1f} s' if t_signal else '   - '
  during = f', just after the save of step {in_flight} was started' if in_flight else ''
  line = (f'{name:7s} at {timing} after launch{during}: {last[:70]!r}, on disk {on_disk[-3:]}'
          + (f'  PROBLEMS: {"; ".join(problems)}' if problems else ''))
  return not problems, line, stopped


def handlers_installed(pid: int) -> bool:
  """Whether the process catches SIGTERM (Linux: /proc/PID/status): dss_jax.interrupts.install() has run. Before
  it, the process is in Python's own start-up (the interpreter, site-packages' .pth files: 0.03-0.1 s here, over
  0.3 s on a loaded machine), where no program can handle a signal: Python prints a KeyboardInterrupt traceback
  for SIGINT and SIGTERM ends it silently. --launch sends its signals after that."""
  try:
    with open(f'/proc/{pid}/status') as f:
      caught = next(line.split()[1] for line in f if line.startswith('SigCgt:'))
  except (OSError, StopIteration):
    return True  # Not Linux, or already ended: nothing to wait for.
  return bool(int(caught, 16) >> (signal.SIGTERM - 1) & 1)


def launch_round(command, env, at: float, signum: int) -> tuple[bool, str]:
  """Starts the command, sends signum `at` seconds after launch, waits: (ok, line to print)."""
  t_start = time.time()
  proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  output = []
  reader = threading.Thread(target=lambda: output.append(proc.stdout.read()), daemon=True)
  reader.start()
  time.sleep(max(0.0, t_start + at - time.time()))
  while proc.poll() is None and not handlers_installed(proc.pid):  # Python's own start-up (handlers_installed).
    time.sleep(0.01)
  sent = proc.poll() is None
  if sent:
    proc.send_signal(signum)
  t_signal = time.time()
  at = max(at, t_signal - t_start)
  try:
    proc.wait(timeout=120)
  except subprocess.TimeoutExpired:
    proc.kill()
    proc.wait()
  t_end = time.time()
  reader.join()
  return check_launch_round(output[0] if output else '', proc.returncode, signum, sent, at, t_end - t_signal)


def check_launch_round(text: str, status: int, signum: int, sent: bool, at: float, took: float) -> tuple[bool, str]:
  """What a user must see after a signal at any moment: the last line one of an interruption, the shell's
  status, nothing else that reads as failure."""
  lines = [line for line in text.splitlines() if line.strip()]
  last = lines[-1] if lines else ''
  problems = []
  if not sent:
    problems.append('it had ended before the signal')
  if status != 128 + signum:
    problems.append(f'exit status {status}, not {128 + signum}')
  if not last.startswith('Interrupted'):
    problems.append('the last line is not an interruption')
  if sum(line.startswith('Interrupted') for line in lines) != 1:
    problems.append('not exactly one interruption line')
  for word in ('Traceback', 'Exception ignored', 'KeyboardInterrupt'):
    if word in text:
      problems.append(f'{word!r} in the output')
  name = signal.Signals(signum).name
  line = (f'{name:7s} at {at:5.2f} s: exit {status} {took:4.1f} s after the signal, last line {last[:100]!r}'
          + (f'  PROBLEMS: {"; ".join(problems)}' if problems else ''))
  return not problems, line


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--runs', type=int, default=10)
  parser.add_argument('--workdir', default='/tmp/dss_jax_interrupt_stress')
  parser.add_argument('--compilation_cache', default=None)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--launch', action='store_true', help='signal at fixed moments of the first seconds')
  parser.add_argument('--within', type=float, default=10.0, help='--launch: the moments span this many seconds')
  options = parser.parse_args()
  rng = random.Random(options.seed)
  shutil.rmtree(options.workdir, ignore_errors=True)
  cache = options.compilation_cache or options.workdir.rstrip('/') + '_jit_cache'
  env, command = environment(), training_command(options.workdir, cache)
  failures, previous = 0, None
  if options.launch:
    moments = [0.25 + i * options.within / options.runs for i in range(options.runs)]
    for i, at in enumerate(moments):
      ok, line = launch_round(command, env, at, (signal.SIGINT, signal.SIGTERM)[i % 2])
      failures += not ok
      print(f'moment {i + 1:2d}: {line}', flush=True)
    print(f'{options.runs - failures} of {options.runs} moments ended with one line and the right status.')
    return 1 if failures else 0
  for i in range(options.runs):
    ok, line, previous = one_round(command, options.workdir, env, rng, previous)
    failures += not ok
    print(f'round {i + 1:2d}: {line}', flush=True)
  print(f'{options.runs - failures} of {options.runs} rounds passed every check.')
  return 1 if failures else 0


if __name__ == '__main__':
  sys.exit(main())
