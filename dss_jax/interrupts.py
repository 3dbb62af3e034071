"""SIGINT and SIGTERM from launch to exit, and a quick exit: what `python -m dss_jax.main` does around its work.

- `install()`: the program's first statement (before absl, JAX and TensorFlow are imported). Python's own
  Ctrl-C raises KeyboardInterrupt in whatever Python code runs next; when that is a garbage-collection
  callback (JAX's `_xla_gc_callback`) the exception is printed as "Exception ignored" and lost, and training
  carries on. Its own SIGTERM ends the process without a word. Here both only wake a thread (through
  `signal.set_wakeup_fd`, which the C-level handler writes even while the main thread is inside an import or
  XLA's compiler, where Python runs no handler) that prints one line and ends the process with the shell's
  status, 128 + the signal's number (130 for SIGINT, 143 for SIGTERM). Training replaces these handlers for
  its steps (train._StopRequests: the step is saved, then the run stops) and gives them back when it returns;
  the thread acts only while these handlers are the process's (a multi-process run's training takes SIGINT
  for JAX's preemption service, and leaves this wakeup fd in place).
- `exit_now(status)`: the end of the program once its last line is out. Everything it writes is on disk by
  then (training waits for Orbax's saves and flushes the TensorBoard writer); what would remain is the
  interpreter tearing down every module and object (XLA's client, TensorFlow's runtime: 1.8 s of the 2 s
  after "Trained ..." on the 2-core machine at load average 2, more under load). It runs the atexit hooks
  (logging's flush, JAX's clean-up, temporary folders), flushes the streams and leaves with os._exit.

No JAX, no TensorFlow, no absl: this module must be cheap to import first.
"""

import atexit
import os
import signal
import sys
import threading
import time

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_state = {'since': None, 'stderr': None, 'ending': False, 'line': None}


def default_line(seconds: float) -> str:
  return (f'Interrupted {seconds:.0f} s after launch, outside the training steps (nothing was being saved); '
          'rerun the same command to continue.')


def install(line=default_line) -> None:
  """SIGINT and SIGTERM end the process with `line(seconds since launch)` on stderr and status 128 + signum,
  whatever the main thread is doing. Call it from the main thread, first."""
  if threading.current_thread() is not threading.main_thread() or _state['since'] is not None:
    return
  _state.update(since=launch_time(), line=line, stderr=os.dup(2))  # fd 2 may be redirected later (console.py).
  read, write = os.pipe()
  os.set_blocking(write, False)
  for sig in SIGNALS:
    signal.signal(sig, _record)  # A Python handler, so that the C handler writes the wakeup byte.
  signal.set_wakeup_fd(write)
  threading.Thread(target=_watch, args=(read,), daemon=True, name='dss_jax_interrupts').start()


def launch_time() -> float:
  """When this process started (Linux: /proc; elsewhere: now), so that 'N s after launch' counts Python's own
  start-up too (over a second on a loaded machine)."""
  try:
    with open('/proc/self/stat') as f:
      ticks = int(f.read().rsplit(')', 1)[1].split()[19])  # Field 22, starttime: clock ticks after boot.
    with open('/proc/uptime') as f:
      uptime = float(f.read().split()[0])
    return time.time() - (uptime - ticks / os.sysconf('SC_CLK_TCK'))
  except (OSError, ValueError, IndexError):
    return time.time()


def _record(signum, frame) -> None:
  """The Python-level handler: nothing to do in the main thread (no exception that could land anywhere); the
  watching thread ends the process."""
  del signum, frame


def _watch(read: int) -> None:
  with os.fdopen(read, 'rb', buffering=0) as pipe:
    while data := pipe.read(64):
      for signum in data:
        # Only while these handlers are the process's: a multi-process run's training keeps this wakeup fd and
        # takes SIGINT for JAX's preemption service (train._StopRequests).
        if signum in SIGNALS and signal.getsignal(signum) is _record:
          _stop(signum)


def _stop(signum: int) -> None:
  if not _state['ending']:  # Past the program's last line (exit_now): no second line.
    _state['ending'] = True
    _flush()
    os.write(_state['stderr'], (_state['line'](time.time() - _state['since']) + '\n').encode())
  os._exit(128 + signum)


def _flush() -> None:
  for stream in (sys.stdout, sys.stderr):
    try:
      stream.flush()
    except (OSError, ValueError, AttributeError):  # Closed, or replaced by an object without flush.
      pass


def exit_now(status: int) -> None:
  """Ends the process with `status` after the atexit hooks, without the interpreter's teardown."""
  _state['ending'] = True  # A signal from here on ends the process without a line of its own.
  try:
    atexit._run_exitfuncs()  # What the interpreter's exit runs first (CPython's; there is no public name).
  finally:
    _flush()
    os._exit(status)


def status_of(stop: SystemExit) -> int:
  """The exit status Python gives a SystemExit, printing its message as Python does (`error: ...`)."""
  code = stop.code
  if code is None:
    return 0
  if isinstance(code, int):
    return code
  sys.stderr.write(f'{code}\n')
  return 1


__all__ = ['default_line', 'exit_now', 'install', 'status_of']
