"""Every figure nncz draws.

Each function takes plain arrays or pandas DataFrames (it never reads files and never needs
torch) and returns a :class:`matplotlib.figure.Figure`; :func:`save_figure` writes one
atomically as PNG (and PDF on request).

==============================  ===============================================================
``plot_zphot_zspec``            z_phot vs z_spec density, 1:1 line, outlier bounds, metrics
``plot_zphot_zspec_panels``     the same for several configurations side by side (Figure 2)
``plot_metric_vs_z``            sigma_NMAD / eta per redshift bin, several curves (Figure 3)
``plot_metric_vs_z_panels``     the same in side-by-side panels, e.g. LSDR10 | PS1 (Figure 3)
``plot_example_pdfs``           individual PDFs with z_spec, z_mean, 68% interval (Figure 4)
``pick_example_pdfs``           indices of representative good and outlier objects
``plot_pit``                    PIT histograms before / after temperature scaling (Figure 5)
``plot_nz``                     stacked N(z) against the true histogram (Figure 6)
``plot_colour_z``               colours vs redshift, optionally by class (Figure 7)
``plot_colour_z_rows``          the same for several samples, one row each (Figure 7)
``evaluation_figures``          the figure set of ``nncz evaluate``, by name
``save_figure``                 atomic PNG/PDF writer (``save_figures``: a named set)
==============================  ===============================================================
"""

from nncz.plots._common import save_figure
from nncz.plots.binned import plot_metric_vs_z, plot_metric_vs_z_panels, plot_nz
from nncz.plots.calibration import plot_pit
from nncz.plots.colours import plot_colour_z, plot_colour_z_rows
from nncz.plots.evaluation import evaluation_figures, save_figures
from nncz.plots.pdfs import pick_example_pdfs, plot_example_pdfs
from nncz.plots.zz import plot_zphot_zspec, plot_zphot_zspec_panels

__all__ = [
    "evaluation_figures",
    "pick_example_pdfs",
    "plot_colour_z",
    "plot_colour_z_rows",
    "plot_example_pdfs",
    "plot_metric_vs_z",
    "plot_metric_vs_z_panels",
    "plot_nz",
    "plot_pit",
    "plot_zphot_zspec",
    "plot_zphot_zspec_panels",
    "save_figure",
    "save_figures",
]
