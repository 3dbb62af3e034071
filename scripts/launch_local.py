"""Runs N processes of one dss_jax command on this machine, as N hosts of a pod slice would run it.

  python scripts/launch_local.py --num_processes=2 -- --config=configs/synthetic.py --workdir=runs/mp

Process i runs `python -m dss_jax.main <the arguments after --> --distributed --coordinator_address=127.0.0.1:<port>
--num_processes=N --process_id=i`: jax.distributed with a coordinator on this machine (listening on 127.0.0.1
only), each process with its own devices (on a CPU-only machine: one CPU device each). Each process writes its
own log, <log_dir>/process_<i>.log (default: <workdir>/logs, else a temporary folder); process 0's is also
copied to the console, so the progress lines and any error are shown once. When a process exits with an error
(or is killed), the others are stopped (they would wait for it at the next collective until a timeout) and
the launcher exits with that process's status; Ctrl-C stops them all.

This is for trying the multi-host path on one machine (tests/test_multiprocess.py uses it); on a real pod
slice or several GPU hosts, start the same command on every host yourself (docs/training.md).
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
  """A TCP port of 127.0.0.1 that nothing listens on now."""
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def process_commands(args: list[str], num_processes: int, port: int, module: str = 'dss_jax.main') -> list[list[str]]:
  """The command line of each process."""
  return [[sys.executable, '-m', module, *args, '--distributed', f'--coordinator_address=127.0.0.1:{port}',
           f'--num_processes={num_processes}', f'--process_id={i}'] for i in range(num_processes)]


def _workdir(args: list[str]) -> str | None:
  for i, arg in enumerate(args):
    if arg.startswith('--workdir='):
      return arg.split('=', 1)[1]
    if arg == '--workdir' and i + 1 < len(args):
      return args[i + 1]
  return None


def _copy_to_console(path: str, stop: threading.Event) -> None:
  """Follows a growing log file, writing its lines to stdout, until `stop` is set and the file is read."""
  with open(path, errors='replace') as f:
    while True:
      line = f.readline()
      if line:
        sys.stdout.write(line)
        sys.stdout.flush()
      elif stop.is_set():
        return
      else:
        time.sleep(0.2)


def _stop(processes) -> None:
  """SIGTERM to every process still running, then SIGKILL to those that ignore it for 10 s."""
  for p in processes:
    if p.poll() is None:
      p.terminate()
  deadline = time.time() + 10
  for p in processes:
    try:
      p.wait(max(0.1, deadline - time.time()))
    except subprocess.TimeoutExpired:
      p.kill()
      p.wait()


def launch(args: list[str], num_processes: int, log_dir: str | None = None, *, module: str = 'dss_jax.main',
           port: int | None = None, env: dict | None = None, console: bool = True) -> int:
  """Starts the processes and waits for them; returns 0 when all succeeded, else the first failure's status
  (a negative status -N: killed by signal N)."""
  workdir = _workdir(args)
  log_dir = log_dir or (os.path.join(workdir, 'logs') if workdir else tempfile.mkdtemp(prefix='dss_jax_logs_'))
  os.makedirs(log_dir, exist_ok=True)
  port = port or free_port()
  env = dict(os.environ if env is None else env)
  env['JAX_COORDINATOR_BIND_ADDRESS'] = f'127.0.0.1:{port}'  # Not JAX's default, every interface.
  env['PYTHONPATH'] = os.pathsep.join(p for p in (REPO, env.get('PYTHONPATH')) if p)
  logs = [os.path.join(log_dir, f'process_{i}.log') for i in range(num_processes)]
  processes, stop, follower = [], threading.Event(), None
  try:
    for command, log in zip(process_commands(args, num_processes, port, module), logs):
      with open(log, 'w') as f:
        processes.append(subprocess.Popen(command, stdout=f, stderr=subprocess.STDOUT, env=env))
    print(f'Started {num_processes} processes (coordinator 127.0.0.1:{port}); logs: {log_dir}/process_<i>.log',
          flush=True)
    if console:
      follower = threading.Thread(target=_copy_to_console, args=(logs[0], stop), daemon=True)
      follower.start()
    failed, stopped = None, 0
    while sum(p.poll() is None for p in processes):  # Polls every process (any() would stop at the first).
      failed = next(((i, p.returncode) for i, p in enumerate(processes) if p.returncode not in (None, 0)), None)
      if failed:
        stopped = sum(p.poll() is None for p in processes)
        break
      time.sleep(0.2)
    failed = failed or next(((i, p.returncode) for i, p in enumerate(processes) if p.returncode), None)
  except KeyboardInterrupt:
    failed = (None, -signal.SIGINT)
  finally:
    _stop(processes)
    stop.set()
    if follower is not None:
      follower.join()
  if failed is None:
    return 0
  i, status = failed
  if i is not None:
    if i > 0 or not console:  # Process 0's own lines are on the console already.
      with open(logs[i], errors='replace') as f:
        sys.stdout.write(''.join(f.readlines()[-15:]))
    others = f' ({stopped} other process{"es were" if stopped > 1 else " was"} stopped)' if stopped else ''
    print(f'Process {i} exited with status {status}{others}; its log: {logs[i]}.', flush=True)
  return status


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], usage='%(prog)s [-h] --num_processes=N '
                                   '[--log_dir=DIR] -- <arguments of python -m dss_jax.main>')
  parser.add_argument('--num_processes', '-n', type=int, default=2, help='processes to start (default 2)')
  parser.add_argument('--log_dir', help='folder of the logs process_<i>.log (default <workdir>/logs)')
  parser.add_argument('--port', type=int, help="the coordinator's port on 127.0.0.1 (default: a free one)")
  parser.add_argument('--module', default='dss_jax.main', help='the program each process runs (python -m MODULE)')
  parser.add_argument('args', nargs=argparse.REMAINDER, help='after --: the arguments of every process')
  options = parser.parse_args()
  args = options.args[1:] if options.args[:1] == ['--'] else options.args
  if options.num_processes < 1:
    parser.error('--num_processes must be at least 1.')
  status = launch(args, options.num_processes, options.log_dir, module=options.module, port=options.port)
  return status if status >= 0 else 128 - status


if __name__ == '__main__':
  sys.exit(main())
