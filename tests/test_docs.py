"""The documentation's commands and links point at things that exist.

Every `python -m dss_jax...` and `python scripts/...` line in a fenced shell block of README.md and
docs/*.md is checked against the code: the module or script exists, every `--flag` is one it defines,
every `--config=path[:arg]` names a config file and an argument of `configs.default.VARIANTS`, and every
`--config.key=value` a key of that config, with a value of the key's type. Flags are read from the
sources (`flags.DEFINE_*('name'`, `add_argument('--name'`), so nothing is imported but the configs and
nothing is compiled. Relative links and images must resolve (anchors included), and README's small
results table must agree with the generated table of docs/results/RESULTS.md. The generated section of
docs/results.md must be what scripts/make_results_docs.py writes now, and no stored result may name a path
that only exists on the machine that wrote it.
"""

import difflib
import functools
import importlib
import importlib.util
import json
import pathlib
import re
import shlex
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
PAGES = [REPO / 'README.md', *sorted((REPO / 'docs').glob('*.md'))]

SHELL_LANGUAGES = {'', 'bash', 'sh', 'shell', 'console'}
# Flags every absl program accepts without defining them.
ABSL_BUILTIN = {'help', 'helpfull', 'helpshort', 'helpxml', 'flagfile', 'undefok', 'only_check_args', 'v',
                'verbosity', 'logtostderr', 'alsologtostderr', 'log_dir', 'stderrthreshold', 'showprefixforinfo'}
ARGPARSE_BUILTIN = {'help'}
ABSL_DEFINE = re.compile(r"""(?:flags|config_flags)\.DEFINE_(\w+)\(\s*['"](\w+)['"]""")
ARGPARSE_ADD = re.compile(r"""add_argument\(\s*['"]--([\w-]+)['"]""")
PYTHON_COMMAND = re.compile(r'^(?:\w+=\S*\s+)*python3?\s')


# ---------------------------------------------------------------- finding the commands


def shell_blocks(text):
  """(line number of the block's first line, its lines) for every fenced shell code block."""
  blocks, lines, start, language = [], None, 0, None
  for number, line in enumerate(text.splitlines(), 1):
    fence = re.match(r'^\s*```\s*([\w-]*)\s*$', line)
    if fence and lines is None:
      lines, start, language = [], number + 1, fence.group(1).lower()
    elif line.strip().startswith('```') and lines is not None:
      if language in SHELL_LANGUAGES:
        blocks.append((start, lines))
      lines = None
    elif lines is not None:
      lines.append(line)
  return blocks


def commands(text):
  """(line number, argv) of every `python -m dss_jax...` / `python scripts/...` command in shell blocks.

  Continuation lines are joined, comments and here-documents dropped, `VAR=value` prefixes removed."""
  found = []
  for start, lines in shell_blocks(text):
    heredoc, pending, pending_line = None, '', 0
    for offset, line in enumerate(lines):
      if heredoc is not None:
        heredoc = None if line.strip() == heredoc else heredoc
        continue
      marker = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
      if marker:
        heredoc = marker.group(1)
      if not pending:
        pending_line = start + offset
      if line.rstrip().endswith('\\'):
        pending += line.rstrip()[:-1] + ' '
        continue
      command, pending = (pending + line).strip(), ''
      if not PYTHON_COMMAND.match(command):
        continue
      argv = shlex.split(command, comments=True)
      while argv and re.match(r'^\w+=', argv[0]):
        argv.pop(0)
      if len(argv) > 2 and argv[1] == '-m' and argv[2].split('.')[0] == 'dss_jax':
        found.append((pending_line, argv))
      elif len(argv) > 1 and argv[1].startswith('scripts/'):
        found.append((pending_line, argv))
  return found


def documented_commands():
  return [(page, line, argv) for page in PAGES for line, argv in commands(page.read_text())]


# ---------------------------------------------------------------- checking one command


def program_source(argv):
  """The source file a command runs, or None."""
  if argv[1] == '-m':
    base = REPO.joinpath(*argv[2].split('.'))
    for path in (base.with_suffix('.py'), base / '__main__.py'):
      if path.is_file():
        return path
    return None
  path = REPO / argv[1]
  return path if path.is_file() else None


@functools.cache
def defined_flags(path):
  """(flag names, names of config-file flags) that a program's source defines."""
  source = pathlib.Path(path).read_text()
  names, config_flags = set(), set()
  for kind, name in ABSL_DEFINE.findall(source):
    names.add(name)
    if kind in ('bool', 'boolean'):
      names.add(f'no{name}')
    if kind == 'config_file':
      config_flags.add(name)
  argparse_names = set(ARGPARSE_ADD.findall(source))
  if argparse_names:
    names |= argparse_names | ARGPARSE_BUILTIN
  if ABSL_DEFINE.search(source):
    names |= ABSL_BUILTIN
  return names, config_flags


@functools.cache
def load_config(path, arg):
  """The config that `--config=path:arg` gives (configs/*.py are imported as the `configs` package)."""
  file = REPO / path
  if file.parent == REPO / 'configs':
    module = importlib.import_module(f'configs.{file.stem}')
  else:
    spec = importlib.util.spec_from_file_location(file.stem, file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
  return module.get_config(arg) if arg else module.get_config()


def value_problem(current, value):
  """Why `value` cannot override a config value like `current`, or None."""
  if isinstance(current, bool):
    return None if value.lower() in ('true', 'false', '1', '0') else 'is not a boolean'
  try:
    if isinstance(current, int):
      int(value)
    elif isinstance(current, float):
      float(value)
  except ValueError:
    return f'is not of type {type(current).__name__}'
  return None


def check_command(argv):
  """Every problem of one documented command, as sentences (empty: the command is fine)."""
  from configs import default
  if argv[1] == 'scripts/launch_local.py' and '--' in argv:  # Its arguments after -- are dss_jax.main's.
    split = argv.index('--')
    return check_command(argv[:split]) + check_command(['python', '-m', 'dss_jax.main', *argv[split + 1:]])
  program = ' '.join(argv[:3] if argv[1] == '-m' else argv[:2])
  source = program_source(argv)
  if source is None:
    return [f'{program}: no such module or script']
  names, config_flags = defined_flags(str(source))
  problems, configs = [], {}
  options = [token.strip('[]') for token in argv[3 if argv[1] == '-m' else 2:]]
  options = [token for token in options if token.startswith('--')]
  # The config files first, so `--config.key` overrides are checked whatever their order.
  for token in options:
    name, _, value = token[2:].partition('=')
    if name in config_flags:
      if value in ('', '...'):
        continue
      path, _, arg = value.partition(':')
      if not (REPO / path).is_file():
        problems.append(f'{program}: --{name}={value}: no config file {path}')
      elif arg and arg not in default.VARIANTS:
        problems.append(f'{program}: --{name}={value}: {arg!r} is not a config argument '
                        f'(configs/default.py VARIANTS: {", ".join(default.VARIANTS)})')
      else:
        configs[name] = load_config(path, arg)
  for token in options:
    name, _, value = token[2:].partition('=')
    head, dot, key = name.partition('.')
    if dot and head in config_flags:
      if head not in configs:
        if not any(t.startswith(f'--{head}=') for t in options):
          problems.append(f'{program}: --{name} without --{head}=<config file>')
        continue
      node, walked = configs[head], []
      for part in key.split('.'):
        if not hasattr(node, 'keys') or part not in node:
          problems.append(f'{program}: --{name}: the config has no key {".".join(walked + [part])}')
          break
        node, walked = node[part], walked + [part]
      else:
        why = None if value in ('', '...') else value_problem(node, value)
        if why:
          problems.append(f'{program}: --{name}={value}: {value!r} {why}')
    elif name not in names:
      problems.append(f'{program}: --{name} is not a flag it defines ({source.relative_to(REPO)})')
  return problems


# ---------------------------------------------------------------- the tests


DOCUMENTED = documented_commands()


def test_the_pages_document_commands():
  """Guards the parser: a change that found nothing would pass every check below."""
  pages = {page.name for page, _, _ in DOCUMENTED}
  assert len(DOCUMENTED) >= 30, DOCUMENTED
  assert {'README.md', 'training.md', 'datasets.md', 'metrics.md', 'import.md', 'results.md'} <= pages
  programs = {argv[2] if argv[1] == '-m' else argv[1] for _, _, argv in DOCUMENTED}
  assert {'dss_jax.main', 'dss_jax.bench', 'dss_jax.tools.import_stargan_v2',
          'scripts/synthetic_benchmark.py', 'scripts/convert_torchvision_weights.py'} <= programs


@pytest.mark.parametrize('page,line,argv', DOCUMENTED,
                         ids=[f'{page.name}:{line}' for page, line, _ in DOCUMENTED])
def test_documented_command(page, line, argv):
  assert check_command(argv) == [], f'{page.relative_to(REPO)}, line {line}: {shlex.join(argv)}'


@pytest.mark.parametrize('command,expected', [
    ('python -m dss_jax.nonexistent --config=configs/synthetic.py', 'no such module'),
    ('python scripts/nonexistent.py --out=x', 'no such module or script'),
    ('python -m dss_jax.main --config=configs/synthetic.py --nonexistent_flag=1', '--nonexistent_flag'),
    ('python -m dss_jax.main --config=configs/nonexistent.py --workdir=runs/x', 'no config file'),
    ('python -m dss_jax.main --config=configs/afhq.py:nonexistent_variant --workdir=runs/x', 'not a config argument'),
    ('python -m dss_jax.main --config=configs/synthetic.py --config.nonexistent_key=1', 'no key nonexistent_key'),
    ('python -m dss_jax.main --config=configs/synthetic.py --config.flow.nonexistent=1', 'no key flow.nonexistent'),
    ('python -m dss_jax.main --config=configs/synthetic.py --config.lr.sub=1', 'no key lr.sub'),
    ('python -m dss_jax.main --config=configs/synthetic.py --config.style_dim=two', 'not of type int'),
    ('python -m dss_jax.bench --config=configs/synthetic.py --mode=summary', '--mode'),
    ('python scripts/synthetic_benchmark.py --configs=dss --nonexistent_option', '--nonexistent_option'),
    ('python -m dss_jax.tools.import_stargan_v2 [--ckpt_net=x.ckpt] --config=configs/afhq.py', '--ckpt_net'),
])
def test_a_bad_command_is_reported(command, expected):
  page = f'# Page\n\n```bash\n{command}\n```\n'
  [(line, argv)] = commands(page)
  assert line == 4
  problems = check_command(argv)
  assert problems and expected in ' '.join(problems), problems


def test_commands_are_parsed_as_a_shell_reads_them():
  page = '\n'.join([
      'Text with `python -m dss_jax.main --inline` is not a command.',
      '```bash',
      'pip install -e .',
      '# python -m dss_jax.main --commented_out',
      'PYTHONPATH=. python scripts/latent_sheets.py --runs=a,b   # a comment --not_a_flag',
      'python -m dss_jax.main --config=configs/afhq.py:stargan_v2 \\',
      '    --workdir=runs/x --mode=summary',
      "python - <<'EOF'",
      'python -m dss_jax.main --inside_a_heredoc',
      'EOF',
      '```',
      '```python',
      'python -m dss_jax.main --in_a_python_block',
      '```',
  ])
  found = commands(page)
  assert [line for line, _ in found] == [5, 6]
  assert found[0][1] == ['python', 'scripts/latent_sheets.py', '--runs=a,b']
  assert found[1][1][3:] == ['--config=configs/afhq.py:stargan_v2', '--workdir=runs/x', '--mode=summary']
  assert all(check_command(argv) == [] for _, argv in found)


# ---------------------------------------------------------------- links and images


def anchor(heading):
  """GitHub's anchor of a markdown heading."""
  text = re.sub(r'[`*_]|\[([^\]]*)\]\([^)]*\)', r'\1', heading.strip().lstrip('#').strip()).lower()
  return re.sub(r'[^\w\- ]', '', text).replace(' ', '-')


def link_problems(page, text):
  problems = []
  prose = re.sub(r'```.*?```', '', text, flags=re.S)
  for target in re.findall(r'\]\(([^)\s]+)\)', prose):
    if re.match(r'^[a-z]+:', target):
      continue
    path, _, fragment = target.partition('#')
    file = (page.parent / path).resolve() if path else page
    if not file.exists():
      problems.append(f'{page.name}: {target}: no such file')
    elif fragment and file.suffix == '.md':
      headings = {anchor(h) for h in re.findall(r'^#+ .*$', re.sub(r'```.*?```', '', file.read_text(), flags=re.S),
                                                 flags=re.M)}
      if fragment not in headings:
        problems.append(f'{page.name}: {target}: no heading #{fragment} in {file.name}')
  return problems


@pytest.mark.parametrize('page', PAGES, ids=[page.name for page in PAGES])
def test_links_and_images_resolve(page):
  assert link_problems(page, page.read_text()) == []


def test_a_broken_link_is_reported():
  page = REPO / 'docs' / 'made_up.md'
  problems = link_problems(page, '![x](nonexistent.png) [a](training.md#no-such-heading) [b](training.md#the-networks)')
  assert len(problems) == 2, problems
  assert 'nonexistent.png' in problems[0] and 'no-such-heading' in problems[1]


# ---------------------------------------------------------------- README's results table


def markdown_tables(text):
  """Every table of a markdown text as a list of rows (lists of stripped cells), the header first."""
  tables, rows = [], []
  for line in text.splitlines() + ['']:
    if line.startswith('|'):
      if not re.match(r'^\|[-| :]+\|$', line):
        rows.append([cell.strip() for cell in line.strip('|').split('|')])
    elif rows:
      tables.append(rows)
      rows = []
  return tables


def test_the_v2_summary_agrees_with_the_generated_table():
  """docs/results.md's v2 summary table (in "Benchmark v2 on the test seeds") is written by hand: it must still
  say what the benchmark's generated table of the test seeds says (docs/results/vector_test.md, section
  "README's table", built by scripts/vector_benchmark.py from the test-split JSONs only)."""
  text = (REPO / 'docs' / 'results' / 'vector_test.md').read_text()
  assert "## README's table" in text, 'docs/results/vector_test.md has no README table: run the benchmark script'
  [generated] = [t for t in markdown_tables(text.split("## README's table", 1)[1]) if t[0][:2] == ['configuration',
                                                                                                    'seeds']]
  truth = {row[0]: row for row in generated[1:]}
  page = (REPO / 'docs' / 'results.md').read_text()
  section = page.split('## Benchmark v2 on the test seeds', 1)[1].split('\n## ')[0]
  [readme] = [t for t in markdown_tables(section) if t[0][:2] == ['configuration', 'seeds']]
  assert len(readme[0]) <= 8 and readme[0] == generated[0]
  assert len(readme) >= 3
  for row in readme[1:]:
    assert row[0] in truth, (row[0], 'is not a current row of the generated table')
    assert row == truth[row[0]], (row, truth[row[0]])


def test_readme_v3_table_is_the_generated_one():
  """README's benchmark v3 table (header 'row | seeds | ...') is copied from docs/results/vector_v3_test.md's
  "README's table" section, which scripts/vector_benchmark_v3.py builds from the test-split JSONs."""
  path = REPO / 'docs' / 'results' / 'vector_v3_test.md'
  if not path.exists():
    pytest.skip('benchmark v3 has no test results yet')
  text = path.read_text()
  [generated] = [t for t in markdown_tables(text.split("## README's table", 1)[1]) if t[0][:2] == ['row', 'seeds']]
  [readme] = [t for t in markdown_tables((REPO / 'README.md').read_text()) if t[0][:2] == ['row', 'seeds']]
  assert readme == generated


def test_no_script_writes_the_readme():
  writers = [path.name for path in (REPO / 'scripts').iterdir()
             if path.suffix in ('.py', '.sh') and re.search(r"""['"]README\.md['"]""", path.read_text())]
  assert writers == []


# ---------------------------------------------------------------- generated sections and stored results


def test_the_image_test_section_is_what_its_script_writes():
  """docs/results.md's "Images on the test seeds" is built by scripts/make_results_docs.py from the JSONs under
  docs/results (no training: tables, paired tests and prose numbers from the stored results): a hand edit of the
  section, or a run added without rebuilding it, shows here."""
  sys.path.insert(0, str(REPO / 'scripts'))
  import make_results_docs
  text = (REPO / 'docs' / 'results.md').read_text()
  rebuilt = make_results_docs.splice(text, make_results_docs.image_section())
  diff = ''.join(difflib.unified_diff(text.splitlines(True), rebuilt.splitlines(True), 'docs/results.md',
                                      'generated', n=1))
  assert rebuilt == text, f'Change the prose in scripts/make_results_docs.py and run it:\n{diff}'


def test_the_v3_section_is_what_its_script_writes():
  """docs/results.md's "Benchmark v3 on the test seeds" is built by `scripts/vector_benchmark_v3.py --docs` from
  docs/results/vector_v3/test/: a hand edit, or a run added without rebuilding it, shows here."""
  sys.path.insert(0, str(REPO / 'scripts'))
  import vector_benchmark_v3
  text = (REPO / 'docs' / 'results.md').read_text()
  rebuilt = vector_benchmark_v3.splice_docs(text, vector_benchmark_v3.docs_section(str(REPO / 'docs' / 'results' /
                                                                                       'vector_v3')))
  diff = ''.join(difflib.unified_diff(text.splitlines(True), rebuilt.splitlines(True), 'docs/results.md',
                                      'generated', n=1))
  assert rebuilt == text, f'Change the prose in scripts/vector_benchmark_v3.py and run it with --docs:\n{diff}'


def absolute_paths(value, where=''):
  """(where, string) for every string in a JSON value that is an absolute path (POSIX, Windows or home-relative)."""
  if isinstance(value, dict):
    return [found for key, item in value.items() for found in absolute_paths(item, f'{where}/{key}')]
  if isinstance(value, list):
    return [found for i, item in enumerate(value) for found in absolute_paths(item, f'{where}/{i}')]
  if isinstance(value, str) and re.match(r'^(/[\w.~-]|[A-Za-z]:[\\/]|~/)', value):
    return [(where, value)]
  return []


def test_the_image_recovery_section_is_what_its_script_writes():
  """docs/results.md's image recovery section and RECOVERY.md are what `scripts/image_recovery.py --table`
  builds from docs/results/image_test/recovery/*.json (and the image style ceiling's JSONs)."""
  sys.path.insert(0, str(REPO / 'scripts'))
  import image_recovery
  with open(image_recovery.PAGE) as f:
    text = f.read()
  body = image_recovery.section()
  assert image_recovery.splice(text, body) == text, 'Run python scripts/image_recovery.py --table.'
  with open(image_recovery.TABLE) as f:
    assert f.read().endswith(body), 'Run python scripts/image_recovery.py --table.'


def test_no_stored_result_records_an_absolute_path():
  """A result names its run by a path relative to the repository (runs/benchmark/<run>), which means the same on
  every checkout; an absolute path names one machine's folders (scripts/latent_mcc_diagnosis.py's repo_path)."""
  files = sorted((REPO / 'docs' / 'results').rglob('*.json'))
  assert len(files) >= 100, 'the results folder moved: this test would pass on nothing'
  found = [(str(file.relative_to(REPO)), where, value) for file in files
           for where, value in absolute_paths(json.loads(file.read_text()))]
  assert found == []
  example = {'workdir': '/work/main/runs/x', 'a': [r'C:\\runs', '~/runs', 'runs/x', 'synthetic/style']}
  assert absolute_paths(example) == [('/workdir', '/work/main/runs/x'), ('/a/0', r'C:\\runs'), ('/a/1', '~/runs')]
