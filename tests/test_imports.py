"""dss_jax's modules import each other without a cycle, so each one imports alone, in any order.

A cycle that only closes inside a function (an import deferred to keep TensorFlow out) does not fail at import
time, but it ties the modules together: a move of one import to the top breaks the package, and the reader can no
longer tell which module sits above which. The graph below counts every import of a dss_jax module, at the top
or inside a function, and `importlib.import_module('dss_jax....')` with a literal name.
"""

import ast
import subprocess
import sys

import pytest
from conftest import REPO

PACKAGE = REPO / 'dss_jax'


def _module_name(path) -> str:
  parts = path.relative_to(REPO).with_suffix('').parts
  return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def import_graph() -> dict[str, set[str]]:
  """{module: the dss_jax modules it imports}. A module's own parent packages are left out: Python imports them
  before the module in every case, so `from dss_jax.models import layers` inside dss_jax.models.generator ties
  it to `layers` only."""
  paths = {_module_name(p): p for p in PACKAGE.rglob('*.py')}
  graph = {}
  for name, path in paths.items():
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    ancestors = {'.'.join(name.split('.')[:i]) for i in range(1, name.count('.') + 1)}
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
      if isinstance(node, ast.Import):
        targets.update(alias.name for alias in node.names)
      elif isinstance(node, ast.ImportFrom):
        base = node.module or ''
        if node.level:  # Relative: from .x import y.
          base = '.'.join(package.split('.')[:package.count('.') + 2 - node.level] + ([base] if base else []))
        targets.add(base)
        targets.update(f'{base}.{alias.name}' for alias in node.names)
      elif (isinstance(node, ast.Call) and getattr(node.func, 'attr', None) == 'import_module' and node.args
            and isinstance(node.args[0], ast.Constant)):
        targets.add(node.args[0].value)
    graph[name] = {t for t in targets if t in paths and t != name and t not in ancestors}
  return graph


def find_cycle(graph):
  """One cycle [a, b, ..., a] of the graph, or None."""
  state, stack = {}, []

  def visit(node):
    state[node] = 'open'
    stack.append(node)
    for nxt in sorted(graph[node]):
      if state.get(nxt) == 'open':
        return stack[stack.index(nxt):] + [nxt]
      if nxt not in state and (found := visit(nxt)):
        return found
    state[node] = 'done'
    stack.pop()
    return None

  for node in sorted(graph):
    if node not in state and (found := visit(node)):
      return found
  return None


def test_the_cycle_finder_finds_a_cycle():
  assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': set()}) == ['a', 'b', 'c', 'a']
  assert find_cycle({'a': {'b'}, 'b': set()}) is None


def test_no_import_cycle_in_dss_jax():
  graph = import_graph()
  assert 'dss_jax.input_pipeline' in graph['dss_jax.eval_data']  # The graph sees imports inside functions.
  cycle = find_cycle(graph)
  assert cycle is None, 'import cycle: ' + ' -> '.join(cycle)


@pytest.mark.parametrize('module', ['dss_jax.datasets.afhq', 'dss_jax.datasets.registry', 'dss_jax.eval_data'])
def test_dataset_modules_import_alone(module):
  """The modules of the circle issue 22 broke (afhq -> registry -> input_pipeline -> both), each first and alone.
  input_pipeline itself is left to the graph test: importing TensorFlow alone took 34 s on a loaded 2-core CI box."""
  result = subprocess.run([sys.executable, '-c', f'import {module}'], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
