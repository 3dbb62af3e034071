"""scripts/vector_benchmark.py's statistics: paired intervals and the negative-control table."""

import json
import sys

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / 'scripts'))
import vector_benchmark  # noqa: E402


def _write(root, setting, configuration, seed, mcc, uni_gap):
  path = root / setting / f'{configuration}_seed{seed}.json'
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps({'configuration': configuration, 'seed': seed, 'mcc': mcc, 'uni_gap': uni_gap,
                              'latent_spread_factor': [1.0, 1.0]}))


def test_paired_interval_covers_the_mean_and_excludes_zero_for_a_clear_shift():
  m, lo, hi = vector_benchmark.paired_interval([0.2, 0.25, 0.18, 0.22, 0.21])
  assert lo < m < hi and lo > 0
  m, lo, hi = vector_benchmark.paired_interval([0.1, -0.1, 0.05, -0.05, 0.0])
  assert lo < 0 < hi


def test_shift_interval_resamples_the_settings_independently():
  m, lo, hi = vector_benchmark.shift_interval([0.0, 0.01, -0.01], [0.2, 0.21, 0.19])
  assert m == pytest.approx(-0.2) and hi < 0
  m, lo, hi = vector_benchmark.shift_interval([0.2, 0.3, 0.1], [0.2, 0.1, 0.3])
  assert lo < 0 < hi


def test_controls_table_flags_an_advantage_that_vanishes(tmp_path):
  rng = np.random.default_rng(0)
  for seed in range(5):
    base = rng.uniform(0.2, 0.4)
    # 'dss' beats the baseline by ~0.2 MCC in main, by nothing where the theorem's condition fails.
    _write(tmp_path, 'main', 'stargan_v2', seed, base, 0.2)
    _write(tmp_path, 'main', 'dss', seed, base + 0.2 + 0.01 * seed, 0.05)
    _write(tmp_path, 'location_only', 'stargan_v2', seed, base, 0.2)
    _write(tmp_path, 'location_only', 'dss', seed, base + 0.01 * (seed - 2), 0.2 - 0.01 * seed)
    # 'flow' keeps its advantage in the other control.
    _write(tmp_path, 'main', 'flow', seed, base + 0.1, 0.2)
    _write(tmp_path, 'few_domains', 'stargan_v2', seed, base, 0.2)
    _write(tmp_path, 'few_domains', 'flow', seed, base + 0.1 + 0.02 * (seed - 2), 0.2)
    _write(tmp_path, 'few_domains', 'dss', seed, base + 0.2 + 0.01 * seed, 0.05)  # the same as in main
  lines = [line for line in vector_benchmark.controls_table(str(tmp_path)).splitlines()
           if line.startswith('| ') and '->' in line and not line.startswith('| configuration')]
  rows = {tuple(cell.strip() for cell in line.split('|')[1:3]): line for line in lines}
  assert set(rows) == {('dss', 'few_domains'), ('dss', 'location_only'), ('flow', 'few_domains')}
  mcc_cell = lambda row: row.split('|')[3]  # noqa: E731
  gap_cell = lambda row: row.split('|')[4]  # noqa: E731
  assert '**+0.220 -> -0.220' in mcc_cell(rows['dss', 'location_only'])  # shrinks: bold
  assert '**' in gap_cell(rows['dss', 'location_only'])                  # the gap advantage is gone too
  assert '**' not in mcc_cell(rows['flow', 'few_domains'])               # kept: not bold
  assert '**' not in mcc_cell(rows['dss', 'few_domains'])
  assert vector_benchmark.controls_table(str(tmp_path / 'empty')) == ''
