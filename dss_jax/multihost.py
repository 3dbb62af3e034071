"""Multi-process runs (`--distributed`: a TPU pod slice, several GPU hosts): what happens once, on process 0.

Every process runs the same program. The training step needs nothing from here: its jit spans every
process's devices, each process feeds its rows of the global batch (`train.global_batch`), and the step's
metrics come out replicated, so every process takes the same decision on them (the NaN guard included).
Host-side work that must happen once (evaluation trains and caches an oracle and writes its tables) runs
on process 0 alone, with host copies of the weights (`local_copy`), while the other processes wait for it
at a barrier of jax.distributed's coordination service (`run_on_process_0`); a barrier, not a collective,
so a long evaluation does not hit a collective's timeout. With one process, all of this does nothing.
"""

import itertools

import jax
import numpy as np

BARRIER_TIMEOUT_S = 24 * 3600  # The others wait this long for process 0 (FID on a large dataset takes hours).
_barriers = itertools.count()  # A barrier name is used once.


def barrier(name: str, timeout_s: int = BARRIER_TIMEOUT_S) -> None:
  """Waits until every process has reached the barrier `name` (nothing with one process)."""
  if jax.process_count() == 1:
    return
  from orbax.checkpoint import multihost
  multihost.get_jax_distributed_client().wait_at_barrier(f'dss_jax_{name}_{next(_barriers)}',
                                                         timeout_in_ms=timeout_s * 1000)


def run_on_process_0(name: str, fn, *args, **kwargs):
  """fn(*args, **kwargs) on process 0 (its result; None on the other processes, which wait until it is done,
  or has failed: its error is raised on process 0 only). With one process: fn(*args, **kwargs)."""
  if jax.process_count() == 1:
    return fn(*args, **kwargs)
  try:
    return fn(*args, **kwargs) if jax.process_index() == 0 else None
  finally:
    barrier(name)


def local_copy(tree):
  """The tree itself with one process; with several, a host (numpy) copy, which process 0 can compute with
  alone (the arrays of a multi-process run span every process's devices: a jit over them needs every process).
  The arrays must be replicated, as the training state's are."""
  return tree if jax.process_count() == 1 else jax.device_get(tree)


def process_rows(batches, process: int | None = None, count: int | None = None):
  """This process's rows of each global batch, for data made in memory, where every process draws the same
  global batches (tf.data pipelines read their own share instead: input_pipeline)."""
  process = jax.process_index() if process is None else process
  count = jax.process_count() if count is None else count
  if count == 1:
    yield from batches
    return
  for batch in batches:
    rows = len(next(iter(batch.values()))) // count
    yield {k: np.asarray(v)[process * rows:(process + 1) * rows] for k, v in batch.items()}


def gather_rows(batch: dict) -> dict:
  """Every process's rows of a batch, in process order, on every process (the batch itself with one process)."""
  if jax.process_count() == 1:
    return batch
  from jax.experimental import multihost_utils
  return multihost_utils.process_allgather(batch, tiled=True)
