"""The notebooks in colabs/ cannot rot.

`dss_demo.ipynb` runs top to bottom in a fresh kernel (nbclient) with its `parameters` cell replaced,
papermill-style, by `TINY = True` (tiny networks, 4 steps). `afhq_tpu.ipynb` needs Drive, AFHQ and a TPU,
so it is only checked: valid notebook JSON, and every `dss_jax` name, TFDS builder, `dss_jax.main` flag
and `--config.<key>` it uses exists.
"""

import ast
import functools
import importlib
import inspect
import os
import pathlib
import re
import shlex
import tempfile
import textwrap
import types

import nbformat
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
COLABS = REPO / 'colabs'
NOTEBOOKS = sorted(p.name for p in COLABS.glob('*.ipynb'))
CELL_TIMEOUT_S = 600  # Per cell; the tiny demo takes about a minute and a half on 2 loaded cores.


def read(name):
  nb = nbformat.read(COLABS / name, as_version=4)
  nbformat.validate(nb)
  return nb


def code_sources(nb):
  return [cell.source for cell in nb.cells if cell.cell_type == 'code']


# ------------------------------------------------------------------------------------------ both notebooks


def test_both_notebooks_exist():
  assert {'dss_demo.ipynb', 'afhq_tpu.ipynb'} <= set(NOTEBOOKS)


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_committed_without_outputs(name):
  nb = read(name)
  dirty = [i for i, cell in enumerate(nb.cells)
           if cell.cell_type == 'code' and (cell.outputs or cell.execution_count is not None)]
  assert not dirty, f'{name}: cells {dirty} hold outputs; clear them before committing (README, "Colab notebooks").'


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_one_parameters_cell_first(name):
  nb = read(name)
  tagged = [i for i, cell in enumerate(nb.cells) if 'parameters' in cell.metadata.get('tags', [])]
  assert len(tagged) == 1, f'{name}: expected one cell tagged "parameters", found {len(tagged)}.'
  assert nb.cells[tagged[0]].cell_type == 'code'
  first_code = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == 'code')
  assert tagged[0] == first_code, f'{name}: the parameters cell must be the first code cell.'


# ------------------------------------------------------------------------------------------ static checks


def python_of(source):
  """A cell's source as plain Python (IPython turns `!cmd` and `%magic` into get_ipython() calls)."""
  from IPython.core.inputtransformer2 import TransformerManager
  return TransformerManager().transform_cell(source)


def shell_commands(source):
  """The `!` shell lines of a cell (continuation backslashes joined)."""
  lines, out = source.replace('\\\n', ' ').splitlines(), []
  for line in lines:
    line = line.strip()
    if line.startswith('!'):
      out.append(line[1:])
  return out


@functools.cache
def instance_attributes(cls):
  """Names a class (or a base) assigns on `self` in its methods, and its annotated fields."""
  names = set()
  for klass in cls.__mro__:
    names.update(getattr(klass, '__annotations__', {}))
    try:
      tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
    except (OSError, TypeError):
      continue
    names.update(node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                 and isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name) and node.value.id == 'self')
  return names


class _Resolver(ast.NodeVisitor):
  """Follows names bound to dss_jax modules and objects through imports, attribute access and assignment.

  Every `dss_jax` module imported, attribute read off such an object, and object created from a dss_jax class
  or classmethod (`t = inference.Translator.from_workdir(...)`, then `t.translate`) must exist.
  """

  def __init__(self):
    self.names = {}  # Local name -> the dss_jax object it is bound to.
    self.missing = {}  # Insertion-ordered set of what does not exist.
    self.checked = set()

  def _import(self, module):
    try:
      return importlib.import_module(module)
    except ImportError as e:
      self.missing[f'import {module} ({e})'] = None
      return None

  def visit_Import(self, node):
    for alias in node.names:
      if alias.name == 'dss_jax' or alias.name.startswith('dss_jax.'):
        module = self._import(alias.name)
        if module is not None:
          top = alias.asname or alias.name.split('.')[0]
          self.names[top] = module if alias.asname else importlib.import_module(top)
        self.checked.add(alias.name)

  def visit_ImportFrom(self, node):
    if not node.module or not (node.module == 'dss_jax' or node.module.startswith('dss_jax.')):
      return
    module = self._import(node.module)
    if module is None:
      return
    for alias in node.names:
      self.checked.add(f'{node.module}.{alias.name}')
      if hasattr(module, alias.name):
        self.names[alias.asname or alias.name] = getattr(module, alias.name)
      else:
        try:
          self.names[alias.asname or alias.name] = importlib.import_module(f'{node.module}.{alias.name}')
        except ImportError:
          self.missing[f'from {node.module} import {alias.name}'] = None

  def resolve(self, node):
    """The dss_jax object an expression names, or None when it is not a dss_jax name (or is missing)."""
    if isinstance(node, ast.Name):
      return self.names.get(node.id)
    if isinstance(node, ast.Attribute):
      base = self.resolve(node.value)
      if base is None:
        return None
      self.checked.add(f'{getattr(base, "__name__", type(base).__name__)}.{node.attr}')
      if isinstance(base, type) and node.attr in instance_attributes(base):
        return None  # Set on instances (self.x = ... in a method): exists, but has no class-level value to follow.
      if not hasattr(base, node.attr):
        self.missing[f'{getattr(base, "__name__", base)}.{node.attr}'] = None
        return None
      return getattr(base, node.attr)
    if isinstance(node, ast.Call):
      func = self.resolve(node.func)
      if isinstance(func, type):
        return func  # An instance: its attributes are checked against the class.
      owner = getattr(func, '__self__', None)
      if isinstance(owner, type):
        return owner  # A classmethod constructor (Translator.from_workdir).
    return None

  def visit_Attribute(self, node):
    self.resolve(node)

  def visit_Assign(self, node):
    self.generic_visit(node)
    value = self.resolve(node.value)
    for target in node.targets:
      if isinstance(target, ast.Name):
        if isinstance(value, (type, types.ModuleType)):
          self.names[target.id] = value
        else:
          self.names.pop(target.id, None)


def config_keys():
  """Every key path of the base config ('flow.num_layers', ...)."""
  from configs import default

  def walk(config, prefix=''):
    for key, value in config.items():
      yield prefix + key
      if hasattr(value, 'items'):
        yield from walk(value, prefix + key + '.')
  return set(walk(default.get_config()))


def main_flags():
  """The flags `python -m dss_jax.main` defines (its own, not absl's)."""
  from absl import flags

  from dss_jax import main
  return {flag.name for flag in flags.FLAGS.get_flags_for_module(main)}


def test_afhq_notebook_references_only_what_exists():
  nb = read('afhq_tpu.ipynb')
  resolver = _Resolver()
  for source in code_sources(nb):
    resolver.visit(ast.parse(python_of(source)))
  assert not resolver.missing, f'afhq_tpu.ipynb uses names dss_jax does not have: {list(resolver.missing)}'
  for expected in ('dss_jax.datasets', 'Translator.from_workdir', 'Translator.translate'):
    assert any(expected in c for c in resolver.checked), f'the check did not see {expected}: {resolver.checked}'


def test_afhq_notebook_flags_exist():
  nb = read('afhq_tpu.ipynb')
  flags, keys = main_flags(), config_keys()
  commands = [cmd for source in code_sources(nb) for cmd in shell_commands(source) if 'dss_jax.main' in cmd]
  assert any('--mode' not in cmd or '--mode=train' in cmd for cmd in commands), 'no training command found'
  seen = 0
  for cmd in commands:
    for arg in shlex.split(re.sub(r'\{[^}]*\}', 'X', cmd)):
      if not arg.startswith('--'):
        continue
      name = arg[2:].split('=')[0]
      seen += 1
      if name.startswith('config.'):
        assert name[len('config.'):] in keys, f'--{name}: configs/default.py has no key {name[7:]!r}.'
      else:
        assert name.removeprefix('no') in flags, f'--{name} is not a flag of dss_jax.main ({sorted(flags)}).'
  assert seen >= 4


def test_afhq_notebook_tfds_builders_exist():
  import tensorflow_datasets as tfds

  from dss_jax.datasets import afhq, synthetic_builder  # noqa: F401  (registers the TFDS builders)
  calls = []
  for source in code_sources(read('afhq_tpu.ipynb')):
    for node in ast.walk(ast.parse(python_of(source))):
      if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == 'builder'
          and isinstance(node.func.value, ast.Name) and node.func.value.id == 'tfds'):
        name = node.args[0].value
        config = next((k.value.value for k in node.keywords if k.arg == 'config'), None)
        calls.append((name, config))
  assert calls, 'afhq_tpu.ipynb prepares no TFDS dataset.'
  for name, config in calls:
    builder_cls = tfds.builder_cls(name.split('/')[0])
    config = config or (name.split('/')[1] if '/' in name else None)
    assert config is None or config in builder_cls.builder_configs, f'{name}: no builder config {config!r}.'


def test_demo_notebook_references_only_what_exists():
  resolver = _Resolver()
  for source in code_sources(read('dss_demo.ipynb')):
    resolver.visit(ast.parse(python_of(source)))
  assert not resolver.missing, f'dss_demo.ipynb uses names dss_jax does not have: {list(resolver.missing)}'


# ------------------------------------------------------------------------------------------ running notebooks


def with_parameters(nb, source):
  """Appends `source` to the parameters cell (papermill-style: later assignments win)."""
  parameters = next(cell for cell in nb.cells if 'parameters' in cell.metadata.get('tags', []))
  parameters.source += f'\n# Injected by tests/test_colabs.py.\n{source}'
  return parameters


def execute(nb, cwd, pythonpath=()):
  """Runs nb in a fresh python3 kernel (working directory cwd, the repository importable); returns its stream text.

  Kernelspecs whose argv starts with `python` run this interpreter (jupyter_client substitutes sys.executable);
  without an installed python3 spec, ipykernel's native one is used.
  """
  from nbclient import NotebookClient

  env = dict(os.environ)
  env['PYTHONPATH'] = os.pathsep.join([str(REPO), *map(str, pythonpath), *filter(None, [env.get('PYTHONPATH')])])
  env['XLA_FLAGS'] = '--xla_backend_optimization_level=0'  # One CPU device, cheapest compiles.
  # The suite's persistent compilation cache (conftest.py): a rerun reads the kernel's compiled programs from disk.
  env['JAX_COMPILATION_CACHE_DIR'] = os.path.join(tempfile.gettempdir(), 'dss_jax_test_jit_cache')
  env['JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS'] = '0.5'
  env['TF_CPP_MIN_LOG_LEVEL'] = '2'
  NotebookClient(nb, kernel_name='python3', timeout=CELL_TIMEOUT_S, allow_errors=False,
                 resources={'metadata': {'path': str(cwd)}}).execute(env=env)
  return '\n'.join(out.get('text', '') for cell in nb.cells if cell.cell_type == 'code' for out in cell.outputs
                   if out.output_type == 'stream')


def displayed(nb, mime):
  return [out['data'][mime] for cell in nb.cells if cell.cell_type == 'code' for out in cell.outputs
          if mime in out.get('data', {})]


def test_demo_notebook_runs_top_to_bottom(tmp_path):
  """dss_demo.ipynb with TINY = True in a fresh kernel, working directory tmp_path."""
  nb = read('dss_demo.ipynb')
  assert 'TINY' in with_parameters(nb, 'TINY = True').source
  outputs = execute(nb, tmp_path)
  assert 'Trained to step 4' in outputs, outputs[-2000:]
  assert 'components by effect:' in outputs, 'the style-editing cell did not run'
  assert len(displayed(nb, 'image/png')) >= 8, 'expected every picture cell to display.'
  tables = displayed(nb, 'text/markdown')
  assert tables and '| MCC (mean over domains' in tables[-1], tables
  assert (tmp_path / 'runs' / 'dss_demo_tiny' / 'config.json').exists()


# Tiny networks for the AFHQ config (as conftest.tiny_config), through the notebook's EXTRA_FLAGS.
_AFHQ_TINY_FLAGS = ('--config.img_size=32 --config.dim_in=8 --config.max_conv_dim=16 --config.style_dim=4 '
                    '--config.mapping_hidden=16 --config.flow.num_layers=2 --config.flow.num_bins=4 '
                    '--config.flow.cond_width=16 --config.style_disc_hidden=16 --config.val_batch_size=4 '
                    '--config.log_every=1 --config.sample_every=2 --config.shuffle_buffer=10 --video=false')


@pytest.mark.skipif(os.environ.get('DSS_JAX_SLOW_TESTS') != '1',
                    reason='about 90 s more on 2 CPU cores; set DSS_JAX_SLOW_TESTS=1 to run it.')
def test_afhq_notebook_runs_on_a_fake_drive(tmp_path):
  """afhq_tpu.ipynb on the CPU: a stand-in google.colab.drive, a fake AFHQ v2 archive of random PNGs, tiny
  networks, 2 steps. Covers everything but Colab, the TPU and the real data: the TFDS preparation, the
  training and sampling commands, and the Translator cells."""
  import numpy as np
  from PIL import Image

  colab = tmp_path / 'fake_modules' / 'google' / 'colab'  # A namespace portion beside google.protobuf etc.
  colab.mkdir(parents=True)
  (colab / 'drive.py').write_text('import os\n\ndef mount(path):\n  os.makedirs(path, exist_ok=True)\n')
  (colab / 'output.py').write_text('')  # Libraries that detect Colab import it.
  drive, rng = tmp_path / 'drive', np.random.default_rng(0)
  for split, n in (('train', 6), ('test', 3)):
    for domain in ('cat', 'dog', 'wild'):
      folder = drive / 'afhq_v2' / split / domain
      folder.mkdir(parents=True)
      for i in range(n):
        Image.fromarray(rng.integers(0, 255, (48, 48, 3), np.uint8)).save(folder / f'{i}.png')
  nb = read('afhq_tpu.ipynb')
  with_parameters(nb, f"DRIVE_AFHQ_DIR = '{drive}/afhq_v2'\nTFDS_DATA_DIR = '{drive}/tfds'\nWORKDIR = '{drive}/run'\n"
                      f"STEPS = 2\nBATCH_SIZE = 4\nCHECKPOINT_EVERY = 2\nEXTRA_FLAGS = '{_AFHQ_TINY_FLAGS}'")
  outputs = execute(nb, tmp_path, pythonpath=[tmp_path / 'fake_modules'])
  assert "domains ['cat', 'dog', 'wild']" in outputs, outputs[-3000:]
  assert (drive / 'run' / 'checkpoints' / '2').is_dir()
  assert (drive / 'run' / 'sample_000002' / 'reference.png').exists()
  assert len(displayed(nb, 'image/png')) >= 8
