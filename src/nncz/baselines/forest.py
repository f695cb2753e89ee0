"""Random-forest photo-z baseline, saved as plain node arrays (safetensors), never pickled.

After ``fit`` the scikit-learn forest is exported to :class:`ForestArrays` (one flat array per
node attribute, all trees concatenated) and every prediction, before and after ``save/load``,
goes through that export, so a loaded model predicts bit-for-bit what the fitted one did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nncz.baselines._common import PointPhotoZ, check_grid_params
from nncz.bundle import WEIGHTS_FILE, BundleFields
from nncz.cleaning import BadValuePolicy
from nncz.io import atomic_write
from nncz.paths import ModelFileError

_ARRAYS = ("left", "right", "feature", "threshold", "value", "node_weight", "roots")


@dataclass
class ForestArrays:
    """A regression forest as flat node arrays (all trees concatenated).

    Attributes
    ----------
    left, right : int64 (n_nodes,)
        Global index of each node's children; a leaf points to itself (left == own index
        marks a leaf).
    feature : int64 (n_nodes,)
        Feature tested at the node (0 at leaves, unused there).
    threshold : float64 (n_nodes,)
        Go left when ``x[feature] <= threshold`` (x rounded to float32 first, as scikit-learn).
    value : float64 (n_nodes,)
        Mean target of the training rows in the node (the prediction at a leaf).
    node_weight : float64 (n_nodes,)
        Weighted number of training rows in the node (used by SHAP's TreeExplainer).
    roots : int64 (n_trees,)
        Global index of each tree's root.
    max_depth : int
        Depth of the deepest tree (number of splits on the longest path; informative).
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    node_weight: np.ndarray
    roots: np.ndarray
    max_depth: int

    @classmethod
    def from_sklearn(cls, forest) -> ForestArrays:
        """Export a fitted ``sklearn.ensemble.RandomForestRegressor`` (single output)."""
        parts: dict[str, list[np.ndarray]] = {k: [] for k in _ARRAYS}
        offset, depth = 0, 0
        for estimator in forest.estimators_:
            tree = estimator.tree_
            n = tree.node_count
            leaf = tree.children_left == -1
            own = np.arange(n) + offset
            parts["left"].append(np.where(leaf, own, tree.children_left + offset))
            parts["right"].append(np.where(leaf, own, tree.children_right + offset))
            parts["feature"].append(np.where(leaf, 0, tree.feature).astype(np.int64))
            parts["threshold"].append(np.where(leaf, 0.0, tree.threshold))
            parts["value"].append(tree.value[:, 0, 0].astype(np.float64))
            parts["node_weight"].append(tree.weighted_n_node_samples.astype(np.float64))
            parts["roots"].append(np.array([offset]))
            offset += n
            depth = max(depth, int(tree.max_depth))
        arrays = {k: np.concatenate(v) for k, v in parts.items()}
        return cls(**arrays, max_depth=depth)

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    def predict(self, x: np.ndarray, chunk_rows: int = 4096) -> np.ndarray:
        """Mean of the trees' leaf values, shape (N,), for features ``x`` (N, n_features)."""
        x32 = np.asarray(x, dtype=np.float32).astype(np.float64)
        out = np.empty(len(x32))
        for start in range(0, len(x32), chunk_rows):
            rows = x32[start : start + chunk_rows]
            leaves = self.apply(rows)
            out[start : start + len(rows)] = self.value[leaves].sum(axis=1) / self.n_trees
        return out

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Global index of the leaf reached in every tree, shape (N, n_trees).

        ``x`` must already be rounded to float32 (see :meth:`predict`). All (row, tree) walks
        advance together, one level per step, and those that reach a leaf leave the set.
        """
        n_features = x.shape[1]
        children = np.stack([self.left, self.right], axis=1).ravel()
        is_leaf = self.left == np.arange(len(self.left))
        node = np.broadcast_to(self.roots, (len(x), self.n_trees)).ravel().copy()
        leaves = node.copy()
        offset = np.repeat(np.arange(len(x)) * n_features, self.n_trees)
        slot = np.arange(node.size)
        flat_x = np.ascontiguousarray(x).ravel()
        walking = ~is_leaf[node]
        node, offset, slot = node[walking], offset[walking], slot[walking]
        while node.size:
            go_right = flat_x[offset + self.feature[node]] > self.threshold[node]
            node = children[2 * node + go_right]
            arrived = is_leaf[node]
            leaves[slot[arrived]] = node[arrived]
            node, offset, slot = node[~arrived], offset[~arrived], slot[~arrived]
        return leaves.reshape(len(x), self.n_trees)

    def to_shap(self) -> dict[str, Any]:
        """The forest as the tree dictionary ``shap.TreeExplainer`` accepts (output = mean)."""
        bounds = np.append(self.roots, len(self.value))
        trees = []
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            own = np.arange(start, stop)
            leaf = self.left[start:stop] == own
            left = np.where(leaf, -1, self.left[start:stop] - start)
            right = np.where(leaf, -1, self.right[start:stop] - start)
            trees.append({
                "children_left": left, "children_right": right, "children_default": left,
                "features": np.where(leaf, -2, self.feature[start:stop]),
                "thresholds": self.threshold[start:stop],
                "values": self.value[start:stop, None] / self.n_trees,
                "node_sample_weight": self.node_weight[start:stop],
            })
        return {"trees": trees, "base_offset": 0.0, "input_dtype": np.float32,
                "internal_dtype": np.float64, "tree_output": "raw_value"}

    def save(self, path: Path) -> Path:
        """Write the arrays to ``path`` as safetensors (``max_depth`` as a 1-element array),
        atomically."""
        from safetensors.numpy import save_file

        arrays = {k: np.ascontiguousarray(getattr(self, k)) for k in _ARRAYS}
        arrays["max_depth"] = np.array([self.max_depth], dtype=np.int64)
        return atomic_write(path, lambda temp: save_file(arrays, str(temp)))

    @classmethod
    def load(cls, path: Path) -> ForestArrays:
        """Read arrays written by :meth:`save`, checking that each is there with its dtype."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        try:
            data = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as error:
            raise ModelFileError(f"{path}: not a readable safetensors file ({error})") from None
        for name in (*_ARRAYS, "max_depth"):
            kind = "f" if name in ("threshold", "value", "node_weight") else "i"
            if name not in data or data[name].ndim != 1 or data[name].dtype.kind != kind:
                raise ModelFileError(f"{path}: no 1-d {'float' if kind == 'f' else 'integer'} "
                                     f"array {name!r}")
        return cls(**{k: data[k] for k in _ARRAYS}, max_depth=int(data["max_depth"][0]))


class RandomForestPhotoZ(PointPhotoZ):
    """Random-forest regression of z on the features, hyper-parameters picked on validation.

    Parameters
    ----------
    param_grid : mapping of str to list, optional
        ``RandomForestRegressor`` arguments to search (None: :attr:`DEFAULT_GRID`); every
        combination is fitted on the training rows and scored on the validation rows.
    scoring : {"sigma_nmad", "eta", "rmse"}
        Validation score to minimise; sigma_NMAD is the headline metric of the method's table.
    n_jobs : int
        Threads for scikit-learn (2: the machines this runs on are small and shared).
    seed : int
        Seeds the forest and the validation hold-out.
    validation_fraction : float
        Fraction held out when ``fit`` gets no validation table.
    bad_values : {"fill", "drop"} or BadValuePolicy
        NNC's bad-value policy (:mod:`nncz.cleaning`): fill bad values (and add indicator
        features), or drop such rows in training and give them NaN.
    """

    kind = "rf"

    DEFAULT_GRID: Mapping[str, Sequence[Any]] = {
        "n_estimators": [200],
        "min_samples_leaf": [1, 3, 10],
        "max_features": [0.5, 1.0],
    }

    def __init__(
        self,
        param_grid: Mapping[str, Sequence[Any]] | None = None,
        scoring: str = "sigma_nmad",
        n_jobs: int = 2,
        seed: int = 0,
        validation_fraction: float = 0.1,
        bad_values: str | BadValuePolicy = "fill",
    ) -> None:
        self.param_grid = param_grid
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.seed = seed
        self.validation_fraction = validation_fraction
        self.bad_values = bad_values

    def _param_checks(self) -> dict[str, bool]:
        return check_grid_params(self)

    def _fit_arrays(self, x_train: np.ndarray, y_train: np.ndarray, x_valid: np.ndarray,
                    y_valid: np.ndarray) -> None:
        from sklearn.ensemble import RandomForestRegressor

        def fit_one(params: dict[str, Any]) -> ForestArrays:
            forest = RandomForestRegressor(**params, n_jobs=self.n_jobs, random_state=self.seed)
            return ForestArrays.from_sklearn(forest.fit(x_train, y_train))

        grid = self.DEFAULT_GRID if self.param_grid is None else self.param_grid
        self.forest_ = self._grid_search(
            grid, fit_one, lambda f: f.predict(x_valid), y_valid, self.scoring
        )

    def _predict_arrays(self, x: np.ndarray) -> np.ndarray:
        return self.forest_.predict(x)

    def _bundle_fields(self) -> dict[str, Any]:
        return {**super()._bundle_fields(), "n_trees": self.forest_.n_trees}

    def _write_payload(self, directory: Path) -> str:
        self.forest_.save(directory / WEIGHTS_FILE)
        return WEIGHTS_FILE

    def _restore_payload(self, fields: BundleFields, path: Path) -> None:
        super()._restore_payload(fields, path)
        self.forest_ = ForestArrays.load(path)
        if self.forest_.n_trees != fields.get("n_trees"):
            raise fields.fail("n_trees", f"the forest in {path.name} has "
                              f"{self.forest_.n_trees} trees")

    def shap_model(self) -> dict[str, Any]:
        """The fitted forest in the form ``shap.TreeExplainer`` takes."""
        self._check_fitted()
        return self.forest_.to_shap()
