"""Report writer: JSON with numpy values, markdown table of mean ± std over seeds."""

import json
import pathlib

import numpy as np
import pytest

from dss_jax.metrics import report


def test_flatten_and_jsonable():
  m = {'mcc': {'mean': np.float32(0.5), 'per_domain': {0: 0.25, 1: 0.75}, 'per_factor': np.array([0.1, 0.2])},
       'pairs': [(0, 1)], 'name': 'x', 'ok': True}
  flat = report.flatten(m)
  assert flat == {'mcc/mean': 0.5, 'mcc/per_domain/0': 0.25, 'mcc/per_domain/1': 0.75,
                  'mcc/per_factor/0': pytest.approx(0.1), 'mcc/per_factor/1': pytest.approx(0.2),
                  'pairs/0/0': 0.0, 'pairs/0/1': 1.0}
  j = report.to_jsonable({**m, 'inf': float('inf')})
  assert json.loads(json.dumps(j))['mcc']['per_domain'] == {'0': 0.25, '1': 0.75}
  assert j['inf'] is None


def test_table_and_files(tmp_path):
  results = {'dss': [{'mcc': 0.9, 'fid': 10.0}, {'mcc': 0.8, 'fid': 12.0}],
             'stargan_v2': {'mcc': 0.6}}
  table = report.markdown_table(results, precision=2)
  lines = table.strip().split('\n')
  assert lines[0] == '| configuration | seeds | mcc | fid |'
  assert lines[2] == f'| dss | 2 | 0.85 ± {np.std([0.9, 0.8], ddof=1):.2f} | 11.00 ± 1.41 |'
  assert lines[3] == '| stargan_v2 | 1 | 0.60 | – |'
  json_path, md_path = report.write_report(results, str(tmp_path / 'out'), name='bench', columns=['fid'], title='T')
  data = json.loads(pathlib.Path(json_path).read_text())
  assert data['summary']['dss']['mcc']['mean'] == pytest.approx(0.85)
  assert data['per_seed']['stargan_v2'] == [{'mcc': 0.6}]
  assert pathlib.Path(md_path).read_text().startswith('# T\n\n| configuration | seeds | fid |')
