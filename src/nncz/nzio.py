"""Files of a tomographic n(z): a qp ensemble, a SACC file, a table, a figure, a JSON summary.

All three n(z) files hold the same numbers: the density per unit redshift of each tomographic
bin (integrating to 1) on the grid-bin centres ``z``, piecewise constant over ``[e_i, e_{i+1})``.

* qp (``.hdf5``): an :mod:`nncz.pdfio` file (a qp ``hist`` ensemble, float64), one
  distribution per tomographic bin; its ancillary table names the binning (``tomo_bin``,
  ``bin_low``, ``bin_high``, ``binned_by``) and holds ``n`` and ``weight_sum``; ``qp.read`` and
  :func:`nncz.pdfio.read_pdfs` both read it.
* SACC (``.sacc.fits``): one ``NZ`` tracer per bin, named ``nz_1 ... nz_k`` (``z`` = centres,
  ``nz`` = density); each tracer's metadata holds ``bin_low``, ``bin_high``, ``n``,
  ``weight_sum``, and the file's metadata the point estimate and the edges.
* table (``.csv``, or any format :func:`nncz.io.write_table` knows): columns ``z``, ``n_1 ...``.

``sacc`` is an optional dependency (``pip install sacc`` or ``nncz[nz]``), imported on first use.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nncz.io import atomic_write, write_table
from nncz.nz import TomographicNZ
from nncz.pdfio import PDFSet, write_pdfs

TRACER_PREFIX = "nz_"


def _import_sacc():
    try:
        import sacc
    except ImportError as error:  # pragma: no cover - exercised only without sacc
        raise ImportError("writing SACC files needs sacc: pip install sacc (or nncz[nz])"
                          ) from error
    return sacc


def _bin_ancil(result: TomographicNZ) -> dict[str, np.ndarray]:
    table = result.summary
    return {
        "tomo_bin": table["bin"].to_numpy(np.int64),
        "bin_low": table["bin_low"].to_numpy(np.float64),
        "bin_high": table["bin_high"].to_numpy(np.float64),
        "binned_by": np.array([result.point] * len(table)),
        "n": table["n"].to_numpy(np.int64),
        "weight_sum": table["weight_sum"].to_numpy(np.float64),
    }


def write_qp_nz(result: TomographicNZ, path: str | Path) -> Path:
    """Write the n(z) as a qp ``hist`` file (one distribution per tomographic bin, float64)."""
    return write_pdfs(path, PDFSet(result.nz, result.grid, ancil=_bin_ancil(result)),
                      packing="float64")


def to_sacc(result: TomographicNZ):
    """A ``sacc.Sacc`` holding one ``NZ`` tracer per tomographic bin (``nz_1 ... nz_k``)."""
    sacc = _import_sacc()
    data = sacc.Sacc()
    ancil = _bin_ancil(result)
    for j, density in enumerate(result.density):
        meta = {key: ancil[key][j].item() for key in ("bin_low", "bin_high", "n", "weight_sum")}
        meta["n_gal"] = meta.pop("n")
        data.add_tracer("NZ", f"{TRACER_PREFIX}{j + 1}", z=result.grid.centres.copy(),
                        nz=density.astype(np.float64), metadata=meta)
    data.metadata.update({
        "creator": "nncz nz",
        "binned_by": result.point,
        "tomo_edges": ",".join(f"{edge:.8g}" for edge in result.edges),
        "z_grid": json.dumps(result.grid.to_dict()),
        "n_boot": result.n_boot,
    })
    return data


def write_sacc(result: TomographicNZ, path: str | Path) -> Path:
    """Write :func:`to_sacc` to a FITS file, atomically (``sacc.Sacc.load_fits`` reads it)."""
    data = to_sacc(result)
    return atomic_write(path, lambda temp: data.save_fits(str(temp), overwrite=True))


def write_nz_figure(result: TomographicNZ, path: str | Path) -> Path:
    """Draw each bin's n(z) (with its bootstrap band and, if known, the true n(z)) to ``path``."""
    from nncz.plots._common import save_figure
    from nncz.plots.nz import plot_tomographic_nz

    width = result.grid.width
    fig = plot_tomographic_nz(result.grid.edges, result.density, result.summary,
                              None if result.nz_true is None else result.nz_true / width,
                              result.nz_err / width)
    return save_figure(fig, path)[0]


def summary_dict(result: TomographicNZ, extra: dict | None = None) -> dict:
    """JSON-ready summary: binning, grid, per-bin statistics and the covariance of the means."""
    bins = json.loads(result.summary.to_json(orient="records", double_precision=15))
    return {
        "binned_by": result.point,
        "tomo_edges": result.edges.tolist(),
        "nz_grid": result.grid.to_dict(),
        "n_boot": result.n_boot,
        "n_members": result.n_members,
        "bins": bins,
        "mean_cov": result.mean_cov.tolist(),
        **(extra or {}),
    }


def write_nz_outputs(result: TomographicNZ, directory: str | Path,
                     extra: dict | None = None) -> dict[str, Path]:
    """Write the n(z) files and figure into ``directory`` and return their paths by kind.

    Files: ``nz.sacc.fits``, ``nz_qp.hdf5``, ``nz_table.csv``, ``nz.png``
    (:func:`nncz.plots.nz.plot_tomographic_nz`) and ``summary.json`` (``extra`` entries are
    added to the summary).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "sacc": write_sacc(result, directory / "nz.sacc.fits"),
        "qp": write_qp_nz(result, directory / "nz_qp.hdf5"),
        "table": write_table(result.to_table(), directory / "nz_table.csv"),
        "figure": write_nz_figure(result, directory / "nz.png"),
    }
    summary = summary_dict(result, {**(extra or {}),
                                    "files": {k: p.name for k, p in paths.items()}})
    text = json.dumps(summary, indent=2, allow_nan=True)
    paths["summary"] = atomic_write(directory / "summary.json",
                                    lambda temp: Path(temp).write_text(text + "\n"))
    return paths
