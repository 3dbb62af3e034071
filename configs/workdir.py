"""The config of an existing run: `--config=configs/workdir.py:runs/demo` is runs/demo/config.json (or, when
that file is lost, the config inside the run's latest checkpoint), so that `--config.KEY=VALUE` flags change it.

main.py supplies it when a command has `--config.KEY=VALUE` flags and no `--config`: the workdir is the base.

  python -m dss_jax.main --workdir=runs/demo --config.total_iters=6        # resume, 6 steps in all
  python -m dss_jax.main --workdir=runs/demo --mode=sample --config.val_batch_size=4

For sample, eval and demo with `--checkpoint=<another workdir>`, that workdir is the base.
"""

from dss_jax import workdir as workdir_lib


def get_config(arg=''):
  """The ConfigDict of the workdir `arg` (ValueError, one sentence, when it has none)."""
  if not arg:
    raise ValueError('configs/workdir.py needs the workdir after a colon: --config=configs/workdir.py:runs/demo.')
  config = workdir_lib.load_saved(arg)
  if config is None:
    config = workdir_lib.checkpoint_config(arg)
  if config is None:
    raise ValueError(f'{arg} has no config.json (nor a checkpoint that holds its config); give '
                     '--config=configs/<file>.py.')
  return config
