"""scripts/vector_benchmark.py's statistics: paired intervals and the negative-control table."""

import json
import sys

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / 'scripts'))
import vector_benchmark  # noqa: E402


def _write(root, setting, configuration, seed, mcc, uni_gap, split='test'):
  path = root / split / setting / f'{configuration}_seed{seed}.json'
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps({'configuration': configuration, 'seed': seed, 'mcc': mcc, 'uni_gap': uni_gap,
                              'mcc_factor': [mcc, mcc], 'latent_spread_factor': [1.0, 1.0]}))


def test_paired_interval_is_a_t_interval_and_excludes_zero_for_a_clear_shift():
  m, lo, hi, p = vector_benchmark.paired_interval([0.2, 0.25, 0.18, 0.22, 0.21])
  assert lo < m < hi and lo > 0 and p < 0.001
  # t with 4 degrees of freedom: half-width 2.776 standard errors.
  d = np.array([0.1, -0.1, 0.05, -0.05, 0.0])
  m, lo, hi, p = vector_benchmark.paired_interval(d)
  assert hi - m == pytest.approx(2.776 * d.std(ddof=1) / np.sqrt(5), rel=1e-3) and p == pytest.approx(1.0)


def test_holm_adjusts_every_comparison_of_the_family():
  adjusted = vector_benchmark.holm([0.01, 0.04, 0.03, 0.5])
  assert adjusted == pytest.approx([0.04, 0.09, 0.09, 0.5])  # 4 x 0.01, max(3 x 0.03, 2 x 0.04), 1 x 0.5


def test_the_protocol_refuses_what_would_break_it():
  test_seed = vector_benchmark.TEST_SEEDS[0]
  with pytest.raises(SystemExit, match='test seeds'):
    vector_benchmark.check_split('dev', [0, test_seed])
  with pytest.raises(SystemExit, match='not test seeds'):
    vector_benchmark.check_split('test', [0], frozen_dirty=False)
  with pytest.raises(SystemExit, match='drop --set'):
    vector_benchmark.check_split('test', [test_seed], ['lr=0.1'], frozen_dirty=False)
  with pytest.raises(SystemExit, match='uncommitted'):
    vector_benchmark.check_split('test', [test_seed], frozen_dirty=True)
  vector_benchmark.check_split('test', [test_seed], frozen_dirty=False)  # A clean, frozen run goes.
  vector_benchmark.check_split('dev', [0, 1])


def test_a_metric_a_trivial_baseline_passes_is_flagged(tmp_path):
  for seed in range(3):
    _write(tmp_path, 'main', 'stargan_v2', seed, 0.30, 0.2)
    _write(tmp_path, 'main', 'dss', seed, 0.50, 0.1)
    _write(tmp_path, 'main', 'trivial:random_projection', seed, 0.35, 0.3)  # beats stargan_v2 on MCC only
  notes = vector_benchmark.uninformative(vector_benchmark.load(str(tmp_path), 'main'))
  assert 'uni_gap' not in notes and 'trivial:random_projection 0.350' in notes['mcc']
  assert 'MCC †' in vector_benchmark.table(str(tmp_path), 'main')


def test_controls_table_flags_an_advantage_that_vanishes(tmp_path):
  rng = np.random.default_rng(0)
  for seed in range(10):
    base = rng.uniform(0.2, 0.4)
    # 'dss' beats the baseline by ~0.2 MCC in main, by nothing where the theorem's condition fails.
    _write(tmp_path, 'main', 'stargan_v2', seed, base, 0.2)
    _write(tmp_path, 'main', 'dss', seed, base + 0.2 + 0.01 * seed, 0.05)
    _write(tmp_path, 'location_only', 'stargan_v2', seed, base, 0.2)
    _write(tmp_path, 'location_only', 'dss', seed, base + 0.01 * (seed - 5), 0.2 - 0.01 * seed)
    # 'flow' keeps its advantage in the other control.
    _write(tmp_path, 'main', 'flow', seed, base + 0.1, 0.2)
    _write(tmp_path, 'few_domains', 'stargan_v2', seed, base, 0.2)
    _write(tmp_path, 'few_domains', 'flow', seed, base + 0.1 + 0.02 * (seed - 5), 0.2)
    _write(tmp_path, 'few_domains', 'dss', seed, base + 0.2 + 0.01 * seed, 0.05)  # the same as in main
  lines = [line for line in vector_benchmark.controls_table(str(tmp_path)).splitlines()
           if line.startswith('| ') and '->' in line and not line.startswith('| configuration')]
  rows = {tuple(cell.strip() for cell in line.split('|')[1:3]): line for line in lines}
  assert set(rows) == {('dss', 'few_domains'), ('dss', 'location_only'), ('flow', 'few_domains')}
  mcc_cell = lambda row: row.split('|')[4]  # noqa: E731
  gap_cell = lambda row: row.split('|')[5]  # noqa: E731
  assert mcc_cell(rows['dss', 'location_only']).strip().startswith('**+0.245 -> -0.005')  # shrinks: bold
  assert '**' in gap_cell(rows['dss', 'location_only'])                  # the gap advantage is gone too
  assert '**' not in mcc_cell(rows['flow', 'few_domains'])               # kept: not bold
  assert '**' not in mcc_cell(rows['dss', 'few_domains'])
  assert vector_benchmark.controls_table(str(tmp_path / 'empty')) == ''


def test_attested_equivalences_chain_and_differences_are_exact(tmp_path, monkeypatch):
  import check_equivalence
  import provenance
  path = tmp_path / 'code_equivalence.json'
  path.write_text(json.dumps([{'from_hash': 'a', 'to_hash': 'b'}, {'from_hash': 'b', 'to_hash': 'c'}]))
  monkeypatch.setattr(provenance, 'EQUIVALENCE', str(path))
  assert provenance._equivalent('a', 'c') and provenance._equivalent('b', 'c')
  assert not provenance._equivalent('c', 'a') and not provenance._equivalent('a', 'd')
  old = {'mcc': 0.5, 'mcc_factor': [0.4, 0.6], 'train_seconds': 30.0, 'edit': {'purity': 0.7}}
  assert check_equivalence.differences(old, {**old, 'train_seconds': 31.0}) == []
  assert check_equivalence.differences(old, {**old, 'mcc': 0.5 + 1e-16}) == ['mcc: 0.5 -> 0.5000000000000001']
  assert check_equivalence.differences(old, {**old, 'edit': {'purity': 0.8}}) == ['edit.purity: 0.7 -> 0.8']
  # An image rerun is made beforehand: it attests only when it was trained at HEAD from a clean tree.
  reran = tmp_path / 'rerun.json'
  for stamp in ({'commit': 'abc1234', 'dirty': False}, {'commit': provenance._git('rev-parse', 'HEAD'), 'dirty': True}):
    reran.write_text(json.dumps({**old, **stamp}))
    with pytest.raises(SystemExit, match='needs a rerun of HEAD'):
      check_equivalence._reran_image('stored.json', str(reran))


def test_image_runs_are_paired_against_stargan_v2_and_checked_against_the_targets(monkeypatch):
  """Three seeds of the default and the baseline: the paired section computes the differences seed by seed
  (the t interval of vector_benchmark, Holm over the section) and names the run that misses a target."""
  import synthetic_benchmark as sb
  monkeypatch.setattr(sb, '_config_default', lambda name: (2, 3000))

  def run(config, seed, shape, mcc):
    metrics = {'z_effect': {'per_factor': [1.0, 0.9]}, 'reference_style': {'spearman': [0.85, 0.9]},
               'latent_quality': {'shape_accuracy': shape, 'content_corr': {'size': 0.9}, 'rotation_agreement': 0.9,
                                  'style_wasserstein_mean': 0.02}, 'latent_mcc': {'mean': 0.6}, 'mcc': {'mean': mcc}}
    return dict(metrics, configuration=config, seed=seed, dataset='synthetic/style_domains')

  runs = {('main', 2, 3000): [run('main', s, shape, mcc) for s, shape, mcc in
                              ((8101, 0.66, 0.74), (8102, 0.95, 0.70), (8103, 0.93, 0.72))],
          ('stargan_v2', 2, 3000): [run('stargan_v2', s, 0.95, mcc) for s, mcc in
                                    ((8101, 0.50), (8102, 0.52), (8103, 0.49))]}
  text = sb.paired_section(runs, {key: '' for key in runs})
  m, lo, hi, _ = vector_benchmark.paired_interval([0.74 - 0.50, 0.70 - 0.52, 0.72 - 0.49])
  assert f'| `configs/synthetic.py` | MCC | 3 | {m:+.3f} [{lo:+.3f}, {hi:+.3f}] |' in text
  assert 'over all 10 comparisons' in text
  assert '| `configs/synthetic.py` | 8101 | misses shape acc 0.66 |' in text
  assert '| `configs/synthetic.py` | 8102 | all met |' in text
  assert '| `:stargan_v2` | 8103 | all met |' in text


def test_targets_a_dataset_makes_meaningless_are_not_scored(monkeypatch):
  """On `species` a translation must change the shape: shape and rotation are neither targets nor paired
  comparisons there, while size still is; on style_domains the same run misses all three."""
  import synthetic_benchmark as sb
  monkeypatch.setattr(sb, '_config_default', lambda name: (2, 3000))

  def run(config, seed, dataset):
    metrics = {'z_effect': {'per_factor': [1.0, 0.9]}, 'reference_style': {'spearman': [0.85, 0.9]},
               'latent_quality': {'shape_accuracy': 0.02, 'content_corr': {'size': 0.39}, 'rotation_agreement': 0.13,
                                  'style_wasserstein_mean': 0.02}, 'latent_mcc': {'mean': 0.6}, 'mcc': {'mean': 0.7}}
    return dict(metrics, configuration=config, seed=seed, dataset=f'synthetic/{dataset}')

  for dataset, missed in (('species', 'misses size r 0.39 |'),
                          ('style_domains', 'misses shape acc 0.02, size r 0.39, rotation 0.13 |')):
    runs = {(c, 2, 3000): [run(c, s, dataset) for s in (8101, 8102)] for c in ('main', 'stargan_v2')}
    text = sb.paired_section(runs, {key: '' for key in runs})
    assert f'| `configs/synthetic.py` | 8101 | {missed}' in text
    assert ('| shape acc |' in text) == (dataset == 'style_domains')
    assert ('Not applied to this dataset: shape acc, rotation' in text) == (dataset == 'species')
  runs[('stargan_v2', 2, 3000)] = [run('stargan_v2', s, 'species') for s in (8101, 8102)]
  with pytest.raises(ValueError, match='several datasets'):
    sb.paired_section(runs, {key: '' for key in runs})


@pytest.mark.parametrize('args, refusal', [
    (['--seeds=8101'], 'are test seeds: run them with --split=test'),
    (['--split=test', '--steps=5'], 'A test run trains the committed configurations'),
    (['--split=test', '--variant=species', '--seeds=1'], 'A test run trains the committed configurations'),
    (['--variant=species', '--seeds=8102'], 'are test seeds: run them with --split=test'),
    (['--split=test', '--configs=main+lambda_sty=3'], 'changes a committed configuration'),
])
def test_the_image_protocol_refuses_what_would_break_it(tmp_path, args, refusal):
  import subprocess
  result = subprocess.run([sys.executable, str(REPO / 'scripts' / 'synthetic_benchmark.py'), *args,
                           f'--workdir={tmp_path}'], capture_output=True, text=True, timeout=120)
  assert result.returncode != 0 and refusal in result.stderr, result.stderr
  assert not list(tmp_path.iterdir())  # Nothing trained.


def test_a_dev_trial_changes_only_what_it_names():
  """`NAME+KEY=VALUE` (dev seeds only: the refusal above) builds NAME's config with the named keys changed."""
  import synthetic_benchmark as sb

  from dss_jax import workdir as workdir_lib
  for name in ('main', 'dss'):
    base = workdir_lib.flat(sb.make_config(name, None, 777, None))
    trial = workdir_lib.flat(sb.make_config(f'{name}+lambda_sty=3+ema_decay=0.999', None, 777, None))
    assert {k for k in base if base[k] != trial[k]} == {'lambda_sty', 'ema_decay'} and trial['lambda_sty'] == 3.0
  assert sb.run_name('main+lambda_sty=3', 2, 777) == 'main+lambda_sty=3_sd2_seed777'


def test_a_results_folder_with_other_json_files_builds_its_table(tmp_path):
  """docs/results also holds code_equivalence.json (a list): the table skips what is not a run's result."""
  import synthetic_benchmark as sb
  (tmp_path / 'code_equivalence.json').write_text(json.dumps([{'files': [], 'runs': []}]))
  sb.build_table(str(tmp_path))
  assert 'none yet' in (tmp_path / 'RESULTS.md').read_text()


def test_the_pooled_diagnosis_finds_what_tracks_the_codes_step(tmp_path):
  """Constructed diagnoses: the codes' step (latent - reference MCC) equals the read-back shifted in one
  configuration and is unrelated to the codes' spread; the pooled table must find the first and not the second."""
  import latent_mcc_diagnosis
  rng = np.random.default_rng(0)
  paths = []
  for config in ('main', 'stargan_v2'):
    for seed in (1, 2, 3):
      read_back = rng.uniform(0.7, 1.0, 5)
      per_domain = {str(u): {'latent_mcc': 0.5 + r, 'reference_mcc': 0.9, 'read_back': r,
                             'coverage_std_ratio': list(rng.uniform(0.8, 2.0, 2)),
                             'coverage_mean_shift': list(rng.uniform(0.0, 0.5, 2))} for u, r in enumerate(read_back)}
      path = tmp_path / f'{config}_sd2_seed{seed}.json'
      path.write_text(json.dumps({'per_domain': per_domain}))
      paths.append(str(path))
  result = latent_mcc_diagnosis.pooled(paths)
  assert set(result) == {'all', 'main', 'stargan_v2'}
  rho, p, n = result['main']['read-back']
  assert rho == pytest.approx(1.0) and n == 15 and p < 1e-6
  assert abs(result['all']['std F/E (max)'][0]) < 0.4 and result['all']['std F/E (max)'][2] == 30


def test_the_diagnosis_records_its_run_relative_to_the_repository():
  """A diagnosis copied into docs/results must name its run the same on every checkout (tests/test_docs.py)."""
  import latent_mcc_diagnosis
  run = REPO / 'runs' / 'benchmark' / 'main_sd2_seed8101'
  assert latent_mcc_diagnosis.repo_path(str(run)) == 'runs/benchmark/main_sd2_seed8101'
  assert latent_mcc_diagnosis.repo_path(str(REPO.parent / 'elsewhere')) == str(REPO.parent / 'elsewhere')
