"""The workdir as the run's record, and its one writer.

- `config.json` is what the run trains with now. Every mode reads it as its base (`resolve`): a resume, a
  `--mode=sample` or `--mode=eval` needs only `--workdir`; `--config.KEY=VALUE` flags change it. On a resume,
  a change of the network's shapes is refused (`checkpoint.ConfigMismatchError`, from `state.mismatch`);
  any other change is accepted and recorded (`record_changes`): config.json is rewritten atomically and
  `config_history.json` gains an entry {step, time, changes: {key: [old, new]}, command}, with one console line.
- `train.lock` is held (`fcntl.flock`) by the one process that trains into the workdir (`claim`): a second
  training process refuses at once, naming the holder (host, PID, since when). The operating system releases
  the lock when its holder ends, however it ends (SIGKILL included), so a killed run never locks its workdir.
  Read-only modes (sample, eval, `inference.Translator`) take no lock and may run beside training.

No JAX and no TensorFlow here: main.py calls this within its first second.
"""

import datetime
import difflib
import fcntl
import json
import os
import socket
import sys
import tempfile

CONFIG = 'config.json'
HISTORY = 'config_history.json'
LOCK = 'train.lock'

_held_locks = {}  # Absolute workdir -> open file descriptor of its train.lock (kept open: the lock lives with it).


class WorkdirBusyError(OSError):
  """Another process trains into this workdir now (an OSError: main.py prints it as one sentence)."""


class InvalidJSONError(ValueError):
  """A JSON file of the workdir (config.json, config_history.json, a checkpoint's config) cannot be parsed
  (a ValueError of ours: main.py prints it as one sentence)."""


def config_path(workdir: str) -> str:
  return os.path.join(workdir, CONFIG)


def has_checkpoint(workdir: str) -> bool:
  """Whether the workdir holds a finished checkpoint (<workdir>/checkpoints/<step>/)."""
  return bool(steps(workdir))


def steps(workdir: str) -> list[int]:
  """The steps of the finished checkpoints, ascending, read from the folder names (no Orbax: Orbax writes a
  checkpoint under a temporary name and renames it when it is complete)."""
  directory = os.path.join(workdir, 'checkpoints')
  return sorted(int(n) for n in os.listdir(directory) if n.isdigit()) if os.path.isdir(directory) else []


def latest_step(workdir: str) -> int | None:
  """The latest finished checkpoint's step (`steps`)."""
  done = steps(workdir)
  return done[-1] if done else None


def read_json(path: str):
  """The JSON object in `path`, or None when there is no such file; InvalidJSONError, one sentence that says
  how to recover, when it cannot be parsed."""
  if not os.path.exists(path):
    return None
  with open(path, 'rb') as f:
    try:
      return json.loads(f.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
      how = ("move it aside and rerun: it is rewritten from the latest checkpoint's config" if
             os.path.basename(path) == CONFIG else 'move it aside and rerun')
      raise InvalidJSONError(f'{path} is not valid JSON ({e}); fix it, or {how} (or use a fresh '
                             '--workdir).') from None


def _as_config(raw):
  import ml_collections

  from dss_jax.datasets import registry
  return None if raw is None else ml_collections.ConfigDict(registry.upgrade_config(raw))


def load_saved(workdir: str):
  """<workdir>/config.json as a ConfigDict (older runs' keys mapped to today's), or None when there is none."""
  return _as_config(read_json(config_path(workdir)))


def checkpoint_config(workdir: str, step: int | None = None):
  """The config saved inside checkpoint `step` as a ConfigDict, or None for a checkpoint written before
  checkpoints carried their config. Read without Orbax: its JSON item is the file <step>/config/metadata
  (tests/test_train.py checks this against a checkpoint Orbax wrote). step None: the newest checkpoint whose
  config item can be read; one whose item is damaged (missing or corrupt file) is passed over, as restoring
  passes over it (checkpoint.restore)."""
  if step is not None:
    return _as_config(read_json(os.path.join(workdir, 'checkpoints', str(step), 'config', 'metadata')))
  for candidate in reversed(steps(workdir)):
    item = os.path.join(workdir, 'checkpoints', str(candidate), 'config')
    if not os.path.isdir(item):
      return None  # A checkpoint from before configs were saved in it.
    try:
      raw = read_json(os.path.join(item, 'metadata'))
    except InvalidJSONError:
      continue
    if raw is not None:
      return _as_config(raw)
  return None


def flat(config) -> dict:
  """A config (ConfigDict or dict) as {'dotted.key': value}."""
  def walk(d, prefix):
    out = {}
    for k, v in d.items():
      out.update(walk(v, f'{prefix}{k}.') if isinstance(v, dict) else {f'{prefix}{k}': v})
    return out
  return walk(config.to_dict() if hasattr(config, 'to_dict') else config, '')


def differences(old, new) -> dict:
  """{'dotted.key': [old value, new value]} for every key whose value differs (None where a side lacks it)."""
  a, b = flat(old), flat(new)
  return {k: [a.get(k), b.get(k)] for k in sorted(set(a) | set(b)) if _norm(a.get(k)) != _norm(b.get(k))}


def _norm(value):
  return list(value) if isinstance(value, tuple) else value


def resolve(saved, requested, overrides: dict):
  """The config a mode runs with: the workdir's `saved` config with the command line's `overrides`
  ({'dotted.key': value}, from `--config.KEY=VALUE`) applied; `requested` (the --config file with its
  overrides) when the workdir has no config yet. -> (config, keys where the --config file alone differs
  from the saved config: kept as saved)."""
  if saved is None:
    return requested, []
  config = saved.copy_and_resolve_references()
  with config.unlocked():
    for key, value in overrides.items():
      set_dotted(config, key, value)
  ignored = [] if requested is None else [k for k in differences(saved, requested) if k not in overrides]
  return config, ignored


def set_dotted(config, dotted: str, value):
  """config['a']['b'] = value for dotted 'a.b'."""
  *parents, leaf = dotted.split('.')
  for p in parents:
    config = config[p]
  config[leaf] = value


def write_atomically(path: str, data) -> None:
  """Writes text (or data as JSON) to a temporary file in the same folder and renames it over `path`: a
  reader (or a crash) sees the old file or the new one, never half of one."""
  directory = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + '.', suffix='.tmp', dir=directory)
  try:
    with os.fdopen(fd, 'w') as f:
      f.write(data if isinstance(data, str) else json.dumps(data, indent=2))
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def history(workdir: str) -> list[dict]:
  """The entries of <workdir>/config_history.json (oldest first; [] when nothing changed yet)."""
  return read_json(os.path.join(workdir, HISTORY)) or []


def record_changes(workdir: str, config, changes: dict, step: int) -> None:
  """Appends {step, time, changes, command} to config_history.json, then rewrites config.json with `config`
  (both atomically; the history first, so a crash between the two leaves a history that names the change)."""
  entry = {'step': step, 'time': _now(), 'changes': changes, 'command': _command()}
  write_atomically(os.path.join(workdir, HISTORY), history(workdir) + [entry])
  write_atomically(config_path(workdir), config.to_json_best_effort(indent=2))


def write_config(workdir: str, config) -> None:
  """config.json of a fresh run."""
  os.makedirs(workdir, exist_ok=True)
  write_atomically(config_path(workdir), config.to_json_best_effort(indent=2))


def describe_changes(changes: dict, limit: int = 6) -> str:
  """'lr 0.0001 -> 0.001, total_iters 4 -> 6' (at most `limit` keys, then 'and N more')."""
  parts = [f'{k} {old!r} -> {new!r}' for k, (old, new) in list(changes.items())[:limit]]
  more = len(changes) - limit
  return ', '.join(parts) + (f' and {more} more' if more > 0 else '')


def _command() -> str:
  """This process's command line as typed ('python -m dss_jax.main ...' rather than the path of main.py)."""
  program = 'python -m dss_jax.main' if sys.argv and sys.argv[0].endswith(os.path.join('dss_jax', 'main.py')) else (
      sys.argv[0] if sys.argv else '')
  return ' '.join([program, *sys.argv[1:]])


def _now() -> str:
  return datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec='seconds')


# ------------------------------------------------------------------------------------------ one writer


def claim(workdir: str) -> bool:
  """Takes <workdir>/train.lock for this process: True when taken now, False when this process holds it
  already; raises WorkdirBusyError, naming the holder, when another process holds it. The lock is released
  when this process ends (or by `release`)."""
  workdir = os.path.abspath(workdir)
  if workdir in _held_locks:
    return False
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, LOCK)
  fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    holder = _read_holder(fd)
    os.close(fd)
    raise WorkdirBusyError(
        f'{workdir} is being trained by another process ({holder}); wait for it to end or stop it, or give '
        'another --workdir (--mode=sample and --mode=eval may run beside it).') from None
  os.ftruncate(fd, 0)
  os.write(fd, json.dumps({'host': socket.gethostname(), 'pid': os.getpid(), 'since': _now()}).encode())
  os.fsync(fd)
  _held_locks[workdir] = fd
  return True


def release(workdir: str) -> None:
  """Gives the lock back before the process ends (tests; the end of the process does it anyway)."""
  fd = _held_locks.pop(os.path.abspath(workdir), None)
  if fd is not None:
    os.close(fd)


def _read_holder(fd: int) -> str:
  try:
    os.lseek(fd, 0, os.SEEK_SET)
    info = json.loads(os.read(fd, 4096).decode() or '{}')
    return f"host {info['host']}, PID {info['pid']}, since {info['since']}"
  except (OSError, ValueError, KeyError):
    return 'it has not written its host and PID yet'


# ------------------------------------------------------------------------------------------ config keys


def unknown_key_sentence(key: str, config) -> str:
  """'config has no key 'lrr' (did you mean 'lr'?) ...' for a --config.KEY override that does not exist."""
  keys = list(flat(config))
  guess = difflib.get_close_matches(key, keys, n=1, cutoff=0.6)
  hint = f' (did you mean {guess[0]!r}?)' if guess else ''
  return (f'The config has no key {key!r}{hint}; configs/default.py lists every key with what it means '
          f'(--config.KEY=VALUE).')


__all__ = ['InvalidJSONError', 'WorkdirBusyError', 'claim', 'differences', 'history', 'latest_step', 'load_saved',
           'record_changes', 'release', 'resolve', 'unknown_key_sentence', 'write_config', 'write_atomically']
