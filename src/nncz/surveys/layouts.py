"""The archives' table layouts: recognise a file's layout and rename it to the nncz names.

Every archive serves its catalogue in several layouts (upper-case FITS files, lower-case query
results, camelCase CAS tables...). A :class:`Layout` says how to recognise one (``marker``
columns present, ``absent`` columns missing; names compared without regard to case), which
data-model page it follows, and which other spellings (``aliases``) stand for each canonical
name of docs/SCHEMAS.md. :func:`detect_layout` picks the layout of a set of column names;
:mod:`nncz.surveys.normalise` renames and completes a table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["SURVEY_NAMES", "Layout", "LAYOUTS", "LayoutError", "detect_layout",
           "canonical_names", "layouts_of"]

#: survey key -> name used in messages
SURVEY_NAMES: dict[str, str] = {"lsdr10": "Legacy Surveys", "ps1": "PS1 DR2",
                                "unwise": "unWISE", "desi": "DESI DR1 redshifts",
                                "sdss": "SDSS specObj"}

LS_SWEEP_DOC = ("legacysurvey.org/dr9/files and /dr10/files, 'Sweep Catalogs' "
                "(DR9: no i band; DR10 south: g r i z)")


class LayoutError(KeyError):
    """A file is in a layout nncz knows, but lacks columns a stage needs (one-line message)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Layout:
    """One way an archive serves a survey's table.

    Attributes
    ----------
    survey : str
        ``lsdr10``, ``ps1``, ``unwise``, ``desi`` or ``sdss``.
    key : str
        Short identifier, e.g. ``ls_sweep``.
    name : str
        Human-readable name used in messages, e.g. ``"Legacy Surveys sweep (FITS)"``.
    doc : str
        The data-model page the layout follows.
    marker : tuple of str
        Columns (any case) that must all be present.
    absent : tuple of str
        Columns (any case) that must not be present.
    aliases : dict[str, tuple of str]
        Canonical name -> other spellings (any case) the layout uses for it.
    """

    survey: str
    key: str
    name: str
    doc: str
    marker: tuple[str, ...]
    absent: tuple[str, ...] = ()
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def matches(self, lower: set[str]) -> bool:
        """True when every marker is among ``lower`` (lower-case names) and no absent one is."""
        return (all(m.lower() in lower for m in self.marker)
                and not any(a.lower() in lower for a in self.absent))


def _ls_layouts() -> list[Layout]:
    return [
        Layout("lsdr10", "ls_datalab", "Legacy Surveys Data Lab ls_dr10.tractor query "
               "(lower case, ls_id; the nncz mock writes it)",
               "datalab.noirlab.edu ls_dr10.tractor table", ("ls_id", "ra", "dec")),
        Layout("lsdr10", "ls_tractor", "Legacy Surveys tractor catalogue (tractor-<brick>.fits)",
               "legacysurvey.org/dr9/catalogs and /dr10/catalogs (Tractor Catalog Format)",
               ("release", "brickid", "objid", "brick_primary", "flux_g"), ("ls_id",)),
        Layout("lsdr10", "ls_sweep", "Legacy Surveys sweep (sweep-<brickmin>-<brickmax>.fits: "
               "BRICK_PRIMARY objects only)", LS_SWEEP_DOC,
               ("release", "brickid", "objid", "flux_g"), ("ls_id", "brick_primary")),
    ]


_PS1_ALIASES = {"raMean": ("rastack", "ra"), "decMean": ("decstack", "dec"),
                "objID": ("objid",)}


def _ps1_layouts() -> list[Layout]:
    doc = ("MAST PS1 DR2 CasJobs schema (ObjectThin, StackObjectThin, StackObjectAttributes, "
           "MeanObject); astroquery Catalogs panstarrs dr2 'stack'/'mean' tables")
    return [
        Layout("ps1", "ps1_stack", "PS1 DR2 stack magnitudes (ObjectThin + StackObjectThin, "
               "CasJobs or astroquery 'stack')", doc, ("objid", "gkronmag"),
               aliases=_PS1_ALIASES),
        Layout("ps1", "ps1_stack_flux", "PS1 DR2 stack fluxes [Jy] (StackObjectAttributes)",
               doc, ("objid", "gkronflux"), ("gkronmag",), aliases=_PS1_ALIASES),
        Layout("ps1", "ps1_mean", "PS1 DR2 mean magnitudes (MeanObject, astroquery 'mean')",
               doc, ("objid", "gmeankronmag"), ("gkronmag", "gkronflux"),
               aliases=_PS1_ALIASES),
    ]


def _unwise_layouts() -> list[Layout]:
    doc = "catalog.unwise.me/catalogs.html (Schlafly, Meisner & Green 2019)"
    merged = {f"{p}_{b}": (f"{p}_{k}",) for p in ("flux", "dflux", "flags_unwise",
                                                  "flags_info")
              for b, k in (("w1", 0), ("w2", 1))}
    return [
        Layout("unwise", "unwise_datalab", "unWISE Data Lab unwise_dr1.object (per-band "
               "columns *_w1, *_w2; the nncz mock writes it)",
               "datalab.noirlab.edu unwise_dr1.object table", ("unwise_objid", "flux_w1")),
        Layout("unwise", "unwise_merged", "unWISE band-merged catalogue (vector columns "
               "flux[2], dflux[2], flags_unwise[2], flags_info[2])", doc,
               ("unwise_objid", "flux_0", "flux_1"), aliases=merged),
        Layout("unwise", "unwise_band", "unWISE single-band catalogue (one file per band: "
               "<coadd_id>.1.cat.fits = W1, .2.cat.fits = W2)", doc,
               ("unwise_detid", "flux", "dflux", "flags_unwise")),
    ]


def _desi_layouts() -> list[Layout]:
    doc = ("desidatamodel DESI_SPECTRO_REDUX/SPECPROD/zcatalog (zall-pix-SPECPROD.fits, "
           "zpix-SURVEY-PROGRAM.fits; DR1 'iron' v1)")
    return [
        Layout("desi", "desi_zall", "DESI zall-pix redshift catalogue (with ZCAT_PRIMARY)", doc,
               ("targetid", "z", "zwarn", "zcat_primary")),
        Layout("desi", "desi_zpix", "DESI zpix redshift catalogue (one survey/program)", doc,
               ("targetid", "z", "zwarn"), ("zcat_primary",)),
    ]


_SDSS_ALIASES = {"ra": ("plug_ra",), "dec": ("plug_dec",), "zErr": ("z_err",),
                 "zNoqso": ("z_noqso",), "zErrNoqso": ("zerr_noqso", "z_err_noqso"),
                 "zWarningNoqso": ("zwarning_noqso",), "classNoqso": ("class_noqso",),
                 "sciencePrimary": ("specprimary",)}


def _sdss_layouts() -> list[Layout]:
    return [
        Layout("sdss", "sdss_fits", "SDSS specObj FITS (specObj-dr19.fits: SPECOBJID, PLUG_RA, "
               "Z_ERR, ZWARNING, *_NOQSO)", "data.sdss.org/datamodel/files/SPECTRO_REDUX/"
               "specObj.html", ("specobjid", "plug_ra", "z_err"), aliases=_SDSS_ALIASES),
        Layout("sdss", "sdss_cas", "SDSS CAS SpecObj/SpecObjAll (specObjID, ra, zErr, "
               "z_noqso, zErr_noqso, zWarning_noqso, class_noqso)",
               "skyserver.sdss.org schema browser, SpecObjAll", ("specobjid", "zerr"),
               ("plug_ra",), aliases=_SDSS_ALIASES),
    ]


#: every known layout, most specific first within a survey
LAYOUTS: tuple[Layout, ...] = (*_ls_layouts(), *_ps1_layouts(), *_unwise_layouts(),
                               *_desi_layouts(), *_sdss_layouts())


def layouts_of(survey: str) -> list[Layout]:
    """The layouts of one survey."""
    if survey not in SURVEY_NAMES:
        raise ValueError(f"unknown survey {survey!r}; known: {sorted(SURVEY_NAMES)}")
    return [lay for lay in LAYOUTS if lay.survey == survey]


def detect_layout(columns: Iterable[str], survey: str | None = None,
                  source: str = "table") -> Layout:
    """The layout of a table with these column names.

    Parameters
    ----------
    columns : iterable of str
        Column names (vector FITS columns already split into ``name_0``, ``name_1``...).
    survey : str, optional
        Restrict to this survey's layouts.
    source : str
        File name used in the message.

    Raises
    ------
    LayoutError
        No layout matches: the message names the survey(s) and the columns each layout
        looks for.
    """
    lower = {str(c).lower() for c in columns}
    candidates = layouts_of(survey) if survey else list(LAYOUTS)
    for layout in candidates:
        if layout.matches(lower):
            return layout
    wanted = "; ".join(f"{lay.name}: {list(lay.marker)}" for lay in candidates)
    what = SURVEY_NAMES[survey] if survey else "any survey nncz reads"
    raise LayoutError(f"{source}: not a {what} table in a layout nncz knows (looked for {wanted})")


def canonical_names(present: Sequence[str], layout: Layout,
                    wanted: Sequence[str]) -> dict[str, str]:
    """{file column: canonical name} for each wanted canonical name the file holds.

    A wanted name matches a file column of the same name in any letter case, or one of the
    layout's aliases for it. An exact-case match is left out (no rename needed).
    """
    lower: dict[str, str] = {}
    for name in present:
        lower.setdefault(str(name).lower(), str(name))
    exact = set(map(str, present))
    out: dict[str, str] = {}
    for want in wanted:
        if want in exact:
            continue
        for spelling in (want, *layout.aliases.get(want, ())):
            actual = lower.get(spelling.lower())
            if actual is not None and actual not in out:
                out[actual] = want
                break
    return out
