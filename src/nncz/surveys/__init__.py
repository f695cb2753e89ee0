"""Survey knowledge: column names, quality cuts, magnitudes, dust, feature sets.

- :mod:`nncz.surveys.lsdr10` - Legacy Surveys DR10
- :mod:`nncz.surveys.ps1` - Pan-STARRS1 DR2
- :mod:`nncz.surveys.unwise` - unWISE
- :mod:`nncz.surveys.dust` - SFD E(B-V) and extinction coefficients
- :mod:`nncz.surveys.featuresets` - named feature sets (``featuresets.yaml``)
"""

from nncz.surveys.featuresets import FeatureSet, builtin_feature_sets, get_feature_set
from nncz.surveys.lsdr10 import select_lsdr10
from nncz.surveys.ps1 import select_ps1, select_ps1_band
from nncz.surveys.unwise import select_unwise

__all__ = ["FeatureSet", "builtin_feature_sets", "get_feature_set", "select_lsdr10",
           "select_ps1", "select_ps1_band", "select_unwise"]
