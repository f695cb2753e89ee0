"""Survey knowledge: column names, archive layouts, quality cuts, magnitudes, dust, feature sets.

- :mod:`nncz.surveys.lsdr10` - Legacy Surveys DR10 (and DR8/DR9 files)
- :mod:`nncz.surveys.ps1` - Pan-STARRS1 DR2
- :mod:`nncz.surveys.unwise` - unWISE
- :mod:`nncz.surveys.dust` - SFD E(B-V) and extinction coefficients
- :mod:`nncz.surveys.featuresets` - named feature sets (``featuresets.yaml``)
- :mod:`nncz.surveys.layouts`, :mod:`nncz.surveys.normalise`, :mod:`nncz.surveys.read` - the
  archives' layouts (sweeps, tractor, Data Lab, CasJobs, MAST, zcatalogs, specObj...) read
  as the archives serve them (docs/SCHEMAS.md)
- :mod:`nncz.surveys.prepare` - a model's features from a survey file, with the training cuts
"""

from nncz.surveys.featuresets import FeatureSet, builtin_feature_sets, get_feature_set
from nncz.surveys.layouts import LayoutError, detect_layout
from nncz.surveys.lsdr10 import select_lsdr10
from nncz.surveys.prepare import prepare_for_model
from nncz.surveys.ps1 import select_ps1, select_ps1_band
from nncz.surveys.read import read_survey
from nncz.surveys.unwise import select_unwise

__all__ = ["FeatureSet", "LayoutError", "builtin_feature_sets", "detect_layout",
           "get_feature_set", "prepare_for_model", "read_survey", "select_lsdr10", "select_ps1",
           "select_ps1_band", "select_unwise"]
