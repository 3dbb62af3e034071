"""The dataset registry: domain names without TensorFlow, old config.json keys, num_domains from n_style."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from absl import flags
from conftest import REPO
from ml_collections import config_flags

from configs import default
from configs import synthetic as synthetic_config
from dss_jax import errors, eval_data
from dss_jax.datasets import registry, synthetic


def _run_python(code):
  result = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope='module')
def old_afhq_workdir(tmp_path_factory):
  """A workdir whose config.json has the old key (`dataset_config`), as runs before the registry wrote it."""
  workdir = tmp_path_factory.mktemp('old_run')
  old = {'dataset': 'afhq', 'dataset_config': 'v2', 'num_domains': 3, 'synthetic': {'n_style': 2}}
  (workdir / 'config.json').write_text(json.dumps(old))
  return str(workdir)


def test_domain_names_and_the_synthetic_split_never_import_tensorflow(old_afhq_workdir):
  """Domain names (of a config, of an old workdir's config.json) and the synthetic split: no TensorFlow, no TFDS."""
  _run_python(f'''
      import sys
      import dss_jax.datasets
      from configs import default, synthetic
      from dss_jax import eval_data
      from dss_jax.datasets import registry
      config = default.get_config()
      config.afhq_version = 'v2'
      assert registry.domain_names(config) == ['cat', 'dog', 'wild']
      config = synthetic.get_config()
      config.synthetic.test_per_domain = 3
      assert registry.domain_names(config) == [f'domain{{k}}' for k in range(5)]
      assert sum(len(b['label']) for b in eval_data.eval_batches(config, 'test')) == 15
      assert 'tensorflow' not in sys.modules and 'tensorflow_datasets' not in sys.modules

      # dss_jax.inference imports the networks; distrax (whose TFP imports TensorFlow) only when a flow runs.
      from dss_jax import inference
      config = inference.load_config({old_afhq_workdir!r})
      assert inference._domain_names(config) == ['cat', 'dog', 'wild']
      assert 'tensorflow' not in sys.modules, 'asking a workdir its domain names imported TensorFlow'
      assert not {{'tensorflow_datasets', 'dss_jax.input_pipeline', 'dss_jax.datasets.afhq'}} & set(sys.modules)
  ''')


def test_domain_names_need_no_tensorflow_installed(old_afhq_workdir):
  """With TensorFlow and TFDS unimportable, a workdir's domain names are still read (not the 'domain<k>' fallback)."""
  _run_python(f'''
      import sys
      sys.modules['tensorflow'] = sys.modules['tensorflow_datasets'] = None  # import raises ImportError
      from dss_jax import inference
      config = inference.load_config({old_afhq_workdir!r})
      assert config.afhq_version == 'v2' and 'dataset_config' not in config
      assert inference._domain_names(config) == ['cat', 'dog', 'wild']
  ''')


def test_old_dataset_config_key_is_mapped():
  assert registry.upgrade_config({'dataset': 'afhq', 'dataset_config': 'v2'}) == {'dataset': 'afhq',
                                                                                  'afhq_version': 'v2'}
  got = registry.upgrade_config({'dataset': 'synthetic', 'dataset_config': 'species', 'synthetic': {'n_style': 2}})
  assert got == {'dataset': 'synthetic', 'synthetic': {'n_style': 2, 'variant': 'species'}}
  assert registry.upgrade_config({'dataset': 'celeba_hq', 'dataset_config': 'celeba_hq'}) == {'dataset': 'celeba_hq'}
  assert registry.upgrade_config({'dataset': 'folder', 'dataset_config': 'v1'}) == {'dataset': 'folder'}
  new = default.get_config().to_dict()
  assert registry.upgrade_config(dict(new)) == new  # Today's keys pass unchanged.


def test_variant_and_version_come_from_their_own_keys():
  config = synthetic_config.get_config()
  config.synthetic.variant = 'species'
  assert registry.domain_names(config) == synthetic.domain_names(2, 'species')
  config = default.get_config()
  assert registry.tfds_config_name(config) == 'v1'
  config.afhq_version = 'v2'
  assert registry.tfds_config_name(config) == 'v2' and registry.domain_names(config) == ['cat', 'dog', 'wild']
  config.dataset, config.num_domains = 'celeba_hq', 2
  assert registry.tfds_config_name(config) == 'celeba_hq' and registry.domain_names(config) == ['female', 'male']
  config.dataset = 'mnist'
  with pytest.raises(ValueError, match="config.dataset must be one of .*'folder'"):
    registry.domain_names(config)


def _flag_config(*overrides):
  """The config main.py would get from `--config=configs/synthetic.py <overrides>` (lock_config=True)."""
  argv = ['main', f'--config={REPO / "configs" / "synthetic.py"}', *overrides]
  flag_values = flags.FlagValues()
  config_flags.DEFINE_config_file('config', None, '', flag_values=flag_values, lock_config=True, sys_argv=argv)
  flag_values(argv)
  return flag_values.config


def test_num_domains_follows_n_style_on_the_command_line():
  assert _flag_config().num_domains == 5
  config = _flag_config('--config.synthetic.n_style=3')
  assert config.num_domains == 7 and len(registry.domain_names(config)) == 7
  assert json.loads(config.to_json_best_effort())['num_domains'] == 7  # config.json holds the number.
  config = _flag_config('--config.synthetic.n_style=1', '--config.num_domains=4')  # An explicit value wins...
  with pytest.raises(errors.DomainCountError, match='has 3 domains but config.num_domains is 4'):
    registry.domain_names(config)  # ...and is checked.


def test_eval_batches_of_the_synthetic_split_are_views_of_its_arrays():
  config = synthetic_config.get_config()
  config.synthetic.test_per_domain, config.val_batch_size = 3, 4
  data = registry.arrays(config, 'test')
  batches = list(eval_data.eval_batches(config, 'val'))
  assert [len(b['label']) for b in batches] == [4, 4, 4, 3]
  np.testing.assert_array_equal(np.concatenate([b['image'] for b in batches]), data['image'])
  with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
    eval_data.eval_batches(config, 'dev')
