"""Effect estimators with honest uncertainty, one family per module.

All follow the scikit-learn style protocol of :mod:`causal.estimators.base`:
``est.fit(data, treatment=..., outcome=..., covariates=...)`` returns the
estimator; ``est.ate()`` (``est.att()`` where the design supports it) returns an
:class:`Estimate` with a real interval.
"""

from causal.estimators.base import BaseEstimator, Estimate
from causal.estimators.simple import DifferenceInMeans, RegressionAdjustment

__all__ = ["Estimate", "BaseEstimator", "DifferenceInMeans", "RegressionAdjustment"]
