"""A Cox model whose likelihood is monotone: its coefficients are infinite in effect.

Five patient-lines, levels 0/1/2 (0 the reference): the only event while all five are at risk
(month 8) is in level 0, and the second event (month 18) has only levels 1 and 2 at risk. The
partial likelihood then keeps increasing as both log hazard ratios go to minus infinity
(Heinze & Schemper 2001, Biometrics 57:114-119); R's ``coxph`` warns "Loglik converged before
variable 1,2; coefficient may be infinite". The fit must say so by its numbers (a standard
error that is not a number, limits not given), never by NumPy's "invalid value in sqrt" or
"overflow in exp" warnings printed to a user's console.
"""

from __future__ import annotations

import warnings

import numpy as np

from mmrwe.stats import CoxPH

LEVEL = np.array([1, 0, 1, 1, 2])
MONTHS = [18.0, 8.0, 9.0, 10.0, 19.0]
EVENT = [1, 1, 0, 0, 0]


def test_infinite_coefficients_are_not_numbers_without_numpy_warnings() -> None:
    x = np.stack([(LEVEL == 1).astype(float), (LEVEL == 2).astype(float)], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = CoxPH().fit(x, MONTHS, EVENT)
    assert np.all(fit.params_ < -20)  # heading to minus infinity
    assert np.isnan(fit.se_).all()
    assert fit.summary_["lower"].is_nan().all() and fit.summary_["upper"].is_nan().all()
    assert fit.summary_["p"].is_nan().all()
