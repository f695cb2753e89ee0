"""Random-forest photo-z baseline, saved as plain node arrays (npz + JSON), never pickled.

After ``fit`` the scikit-learn forest is exported to :class:`ForestArrays` (one flat array per
node attribute, all trees concatenated) and every prediction, before and after ``save/load``,
goes through that export, so a loaded model predicts bit-for-bit what the fitted one did.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nncz.baselines._common import PointPhotoZ, check_grid_params
from nncz.io import atomic_write

logger = logging.getLogger(__name__)

FOREST_FILE = "forest.npz"
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
        """Write the arrays to ``path`` (npz, compressed), atomically."""
        arrays = {k: getattr(self, k) for k in _ARRAYS}
        arrays["max_depth"] = np.array(self.max_depth)

        def write(temp: Path) -> None:
            with open(temp, "wb") as handle:
                np.savez_compressed(handle, **arrays)

        return atomic_write(path, write)

    @classmethod
    def load(cls, path: Path) -> ForestArrays:
        """Read arrays written by :meth:`save` (``allow_pickle=False``)."""
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in _ARRAYS}
            return cls(**arrays, max_depth=int(data["max_depth"]))


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
    """

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
    ) -> None:
        self.param_grid = param_grid
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.seed = seed
        self.validation_fraction = validation_fraction

    def _param_checks(self) -> dict[str, bool]:
        return check_grid_params(self)

    def _fit_arrays(self, x_train, y_train, x_valid, y_valid) -> None:
        from sklearn.ensemble import RandomForestRegressor

        def fit_one(params: dict[str, Any]) -> ForestArrays:
            forest = RandomForestRegressor(**params, n_jobs=self.n_jobs, random_state=self.seed)
            return ForestArrays.from_sklearn(forest.fit(x_train, y_train))

        grid = self.DEFAULT_GRID if self.param_grid is None else self.param_grid
        self.forest_ = self._grid_search(
            grid, fit_one, lambda f: f.predict(x_valid), y_valid, self.scoring
        )

    def _predict_array(self, x: np.ndarray) -> np.ndarray:
        return self.forest_.predict(x)

    def _save_model(self, directory: Path) -> list[str]:
        self.forest_.save(directory / FOREST_FILE)
        return [FOREST_FILE]

    def _load_model(self, directory: Path, meta: dict) -> None:
        self.forest_ = ForestArrays.load(directory / FOREST_FILE)

    def shap_model(self) -> dict[str, Any]:
        """The fitted forest in the form ``shap.TreeExplainer`` takes."""
        self._check_fitted()
        return self.forest_.to_shap()
