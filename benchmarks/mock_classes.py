"""Which galaxy classes does the mock make hard? NNC per DESI class, without the W1/W2 S/N cut.

The method's LSDR10 cut (S/N >= 5 in g r z W1 W2) keeps ~0.1% of the mock's DESI ELGs at the
issue's W2 depth (19.5 AB), so the method's ELG row is nearly empty on mocks that fit on a
laptop. This diagnostic trains NNC on LSDR10 g r i z (S/N >= 5 in g r z only, every other cut
of the method) and prints sigma_NMAD / eta per class and magnitude on the test split, to check
the mock's physics: are ELGs and faint sources the hard ones?

    python benchmarks/mock_classes.py --mock nncz_reproduce/mock \
        --spec nncz_reproduce/datasets/spec.parquet
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from nncz.datasets import build_dataset
from nncz.estimator import NNCEstimator
from nncz.reproduce import TABLE1_ROWS
from nncz.reproduce.table import row_metrics
from nncz.spec import build_spec_sample

FEATURES = ["mag_g", "magerr_g", "mag_r", "magerr_r", "mag_i", "magerr_i", "mag_z", "magerr_z"]
FEATURE_SET = f"""\
lsdr10_optical:
  description: LSDR10 g r i z, S/N >= 5 in g r z only (diagnostic, not the method's set)
  primary: lsdr10
  z_range: [0.001, 2.0]
  snr_bands: [g, r, z]
  features: [{", ".join(FEATURES)}]
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mock", type=Path, required=True, help="mock universe folder (nncz mock)")
    p.add_argument("--spec", type=Path, default=None,
                   help="spectroscopic sample (default: built from the mock)")
    p.add_argument("--max-epochs", type=int, default=150)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    spec = args.spec or build_spec_sample(args.mock / "sdss_specobj.parquet",
                                          args.mock / "desi_dr1_zcat.parquet")[0]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sets.yaml"
        config.write_text(FEATURE_SET)
        data, funnel = build_dataset(spec, lsdr10=args.mock / "ls_dr10.parquet",
                                     feature_set="lsdr10_optical", feature_config=config,
                                     truth=args.mock / "truth.parquet")
    print(f"dataset: {len(data)} rows; DESI classes {funnel.notes['desi_class_counts']}")
    train, val, test = (data[data["split"] == s] for s in ("train", "val", "test"))
    started = time.perf_counter()
    est = NNCEstimator(max_epochs=args.max_epochs, batch_size=args.batch_size, seed=args.seed,
                       verbose=False).fit(train, FEATURES, validation=val)
    print(f"trained {len(est.history_)} epochs in {time.perf_counter() - started:.0f} s, "
          f"T = {est.temperature_:.3f}")
    predictions = pd.concat([test.reset_index(drop=True),
                             est.predict(test).reset_index(drop=True)], axis=1)
    print(f"{'subset (Table 1 definitions)':30s} {'n':>6s} {'sigma_NMAD':>10s} {'eta %':>7s}")
    for row in TABLE1_ROWS:
        if row.model != "nnc_lsdr10":
            continue
        m = row_metrics(predictions, row.subset)
        print(f"{row.label:30s} {m['n']:6d} {m['sigma_nmad']:10.4f} {m['eta']:7.2f}")


if __name__ == "__main__":
    main()
