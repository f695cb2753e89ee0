"""Write the model directories of tests/test_bundle.py with the code of commit 7be9f57.

They are the layouts nncz wrote before the common bundle (``nncz-model-3``): the baselines'
``meta.json`` directories and NNC's ``nncz-model-2`` bundle, each with the predictions that code
made on :func:`table` (``expected.npy``). Rerun only to regenerate them::

    git archive 7be9f57 src | tar -x -C /tmp/old
    OMP_NUM_THREADS=1 PYTHONPATH=/tmp/old/src python tests/data/old_layouts/make.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

FEATURES = ["c0", "c1", "c2", "c3"]
HERE = Path(__file__).parent


def table(n: int, seed: int) -> pd.DataFrame:
    """z a smooth function of c0 and c2; also the rows the stored predictions are made on."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, (n, len(FEATURES)))
    frame = pd.DataFrame(x, columns=FEATURES)
    frame["z_spec"] = 0.6 + 0.4 * np.tanh(1.2 * x[:, 0] - 0.7 * x[:, 2])
    return frame


def main() -> None:
    import nncz.bundle
    from nncz.baselines import ANNRegressionPhotoZ, RandomForestPhotoZ, XGBoostPhotoZ
    from nncz.estimator import NNCEstimator
    from nncz.grid import RedshiftGrid

    assert nncz.bundle.FORMAT == "nncz-model-2", "run with the code of 7be9f57"
    torch.set_num_threads(1)
    train, test = table(400, 1), table(60, 2)
    models = {
        "rf": RandomForestPhotoZ(param_grid={"n_estimators": [4], "max_depth": [4]}, n_jobs=1),
        "xgboost": XGBoostPhotoZ(param_grid={"max_depth": [2]}, n_estimators=20, n_jobs=1),
        "ann": ANNRegressionPhotoZ(hidden=(8,), max_epochs=3, verbose=False),
        "nnc": NNCEstimator(grid=RedshiftGrid(0.0, 1.5, 30), hidden=(8,), max_epochs=3,
                            n_members=2, verbose=False),
    }
    for name, model in models.items():
        model.fit(train, FEATURES).save(HERE / name)
        if name == "nnc":
            expected = model.predict_pdf(test)
        else:
            expected = model.predict(test)["z_phot_mean"].to_numpy()
        np.save(HERE / name / "expected.npy", expected)


if __name__ == "__main__":
    main()
