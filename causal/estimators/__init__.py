"""Effect estimators with honest uncertainty, one family per module.

All follow the scikit-learn style protocol of :mod:`causal.estimators.base`:
``est.fit(data, treatment=..., outcome=..., covariates=...)`` returns the
estimator; ``est.ate()`` (``est.att()`` where the design supports it) returns an
:class:`Estimate` with a real interval. The heterogeneous-effect estimators (meta-learners,
double ML, the causal forest) add ``est.effect(X)``, the CATE at the rows of ``X``, scored
against a simulator's truth by :func:`pehe` (see ``docs/heterogeneous.md``).
"""

from causal.estimators.base import BaseEstimator, Estimate
from causal.estimators.bootstrap import bootstrap
from causal.estimators.checks import check_estimator
from causal.estimators.dml import InteractiveDML, LinearDML, NonParamDML
from causal.estimators.driver import METHODS, STRATEGY_METHODS, assume, estimate
from causal.estimators.forest import CausalForest
from causal.estimators.frontdoor import FrontDoor
from causal.estimators.iv import TwoStageLeastSquares, Wald, WeakInstrumentWarning
from causal.estimators.learners import DRLearner, RLearner, SLearner, TLearner, XLearner
from causal.estimators.matching import CovariateMatching, PropensityMatching
from causal.estimators.metrics import pehe
from causal.estimators.panel import DiD
from causal.estimators.policy import CatePolicy, PolicyTree, dr_scores, policy_from_cate, policy_value
from causal.estimators.simple import DifferenceInMeans, RegressionAdjustment
from causal.estimators.synth import SyntheticControl, simplex_least_squares
from causal.estimators.uplift import auuc, plot_uplift, qini_coefficient, qini_curve, uplift_curve
from causal.estimators.weighting import AIPW, IPW, OverlapWarning

__all__ = ["Estimate", "BaseEstimator", "DifferenceInMeans", "RegressionAdjustment", "DiD",
           "SyntheticControl", "simplex_least_squares", "TwoStageLeastSquares", "Wald",
           "WeakInstrumentWarning", "FrontDoor", "IPW", "AIPW", "OverlapWarning", "bootstrap",
           "PropensityMatching", "CovariateMatching", "estimate", "assume", "METHODS",
           "STRATEGY_METHODS", "check_estimator",
           # heterogeneous effects (the CATE): meta-learners, double ML, the causal forest, and their score
           "SLearner", "TLearner", "XLearner", "DRLearner", "RLearner", "LinearDML", "InteractiveDML",
           "NonParamDML", "CausalForest", "pehe",
           # policy learning and uplift
           "dr_scores", "policy_value", "policy_from_cate", "CatePolicy", "PolicyTree", "uplift_curve",
           "qini_curve", "auuc", "qini_coefficient", "plot_uplift"]
