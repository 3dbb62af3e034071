"""What dss_jax's programs (main.py, tools/) print besides their own lines: nothing that reads as failure.

- `import_tensorflow_quietly()`: imports TensorFlow (through the input pipeline, which hides the GPUs from
  it) without the lines its C++ runtime prints while it loads on a machine without CUDA: `failed call to
  cuInit`, `Could not find cuda drivers`, the oneDNN and CPU-feature notes. Every program imports
  TensorFlow sooner or later (the data, clu's TensorBoard writer, and distrax's TensorFlow Probability for
  the flow do), so they call this first.
- `quiet_libraries`: a filter for absl's log handler that drops the INFO chatter of libraries (Orbax's
  dozen lines per checkpoint, JAX's probing of backends the machine lacks: `Unable to initialize backend
  'tpu' ... libtpu.so`, clu's work-unit notes) and keeps every warning and error.
- `OncePerWarning`: a filter that passes each warning once (a run scans its image folders more than once,
  and each scan warns about the same corrupt files).
- `setup_logging()`: INFO verbosity and both filters on absl's handler; first thing in a program's main.

User errors as one sentence without a traceback: `errors.sentences_not_tracebacks()`.
"""

import contextlib
import os
import re
import sys
import tempfile

from absl import logging

# Lines of TensorFlow's C++ runtime that say only that the CPU is used, or how it was built. They come before
# TF_CPP_MIN_LOG_LEVEL applies (TensorFlow >= 2.16 logs through absl before absl::InitializeLog), so they are
# filtered out of what it prints while it loads; anything else is passed on.
TF_STARTUP_NOISE = re.compile(
    r'absl::InitializeLog\(\)|cudart_stub|cuInit|oneDNN custom operations|cpu_feature_guard|'
    r'To enable the following instructions|Unable to register cu(DNN|FFT|BLAS) factory|TF-TRT Warning')

# Where the INFO records that `quiet_libraries` drops come from (paths of the logging call).
QUIET_INFO = ('/orbax/', '/jax/_src/xla_bridge.py', '/clu/platform/')


@contextlib.contextmanager
def _stderr_without(pattern: re.Pattern):
  """Captures the process's stderr (file descriptor 2, where C++ logs go) during the block, then writes what
  it caught back to stderr, less the lines that match pattern."""
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as caught:
    os.dup2(caught.fileno(), 2)
    try:
      yield
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      caught.seek(0)
      lines = caught.read().decode(errors='replace').splitlines(keepends=True)
      sys.stderr.write(''.join(line for line in lines if not pattern.search(line)))
      sys.stderr.flush()


def import_tensorflow_quietly() -> None:
  """Imports the input pipeline (TensorFlow, GPUs hidden from it) before anything else imports TensorFlow,
  without TF_STARTUP_NOISE. A no-op once TensorFlow is imported."""
  if 'tensorflow' in sys.modules:
    return
  with _stderr_without(TF_STARTUP_NOISE):
    from dss_jax import input_pipeline  # noqa: F401


class OncePerWarning:
  """A logging filter (an object, so that its memory is the program's, not a module's): drops a WARNING
  whose message it has already passed; every other record passes."""

  def __init__(self):
    self.seen = set()

  def filter(self, record) -> bool:
    if record.levelno != logging.converter.STANDARD_WARNING:
      return True
    message = record.getMessage()
    if message in self.seen:
      return False
    self.seen.add(message)
    return True


def setup_logging() -> None:
  """INFO on the console through absl's handler, without library chatter and without repeated warnings."""
  logging.set_verbosity(logging.INFO)
  logging.get_absl_handler().addFilter(quiet_libraries)
  logging.get_absl_handler().addFilter(OncePerWarning())


def quiet_libraries(record) -> bool:
  """absl handler filter: keeps every warning and error; drops the INFO records logged from QUIET_INFO."""
  return record.levelno > logging.converter.STANDARD_INFO or not any(p in record.pathname for p in QUIET_INFO)


__all__ = ['OncePerWarning', 'import_tensorflow_quietly', 'quiet_libraries', 'setup_logging']
