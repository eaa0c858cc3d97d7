"""Argument checks shared by the cells and the forecasting pipeline, in Keras'
message format: "Received an invalid value for argument `x`, expected ...,
got ...", and `warn`, which points a warning at the user's line. Plain
Python: importing it loads no framework."""

import math
import numbers
import os
import sys
import warnings

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
LARGEST = 2**31 - 1  # sizes and counts index int32 arrays and tensors


def invalid(name, expected, value):
    """The ValueError for argument `name` holding `value` instead of `expected`."""
    return ValueError(f"Received an invalid value for argument `{name}`, expected {expected}, got {value!r}.")


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_positive_int(name, value, maximum=None):
    """A positive int (NumPy's included), at most `maximum` if given."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise invalid(name, "a positive integer", value)
    if maximum is not None and value > maximum:
        raise invalid(name, f"a positive integer up to {maximum}", value)
    return int(value)


def check_rate(name, value):
    """A probability in [0, 1), as dropout rates are."""
    if not _is_number(value) or not _finite(value) or not 0.0 <= value < 1.0:
        raise invalid(name, "a float in [0, 1)", value)
    return float(value)


def _finite(value):
    """Whether a real number is finite (ints too large for a float are not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_positive_float(name, value):
    if not _is_number(value) or not _finite(value) or value <= 0:
        raise invalid(name, "a positive finite float", value)
    return float(value)


def check_bool(name, value):
    if not isinstance(value, bool):
        raise invalid(name, "True or False", value)
    return value


def check_choice(name, value, choices):
    """`value` if it is one of `choices` (hashable values)."""
    if not isinstance(value, str | int | float | type(None)) or value not in choices:
        raise invalid(name, f"one of {sorted(choices, key=str)}", value)
    return value


def check_fraction(name, value):
    """A real number strictly between 0 and 1 (a share of a time span)."""
    if not _is_number(value) or not 0 < value < 1:
        raise invalid(name, "a fraction in (0, 1)", value)
    return float(value)


def check_non_negative_int(name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise invalid(name, "a non-negative integer", value)
    return int(value)


def check_optional_name(name, value):
    """None or a non-empty str, as column-name arguments are."""
    if value is not None and (not isinstance(value, str) or not value):
        raise invalid(name, "None or a column name (a non-empty str)", value)
    return value


def check_fitted(estimator):
    """scikit-learn's `check_is_fitted` with tsgate's message: a
    NotFittedError saying to call fit (or load)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, msg="This %(name)s is not fitted yet; call fit first (or %(name)s.load).")


def warn(message, category=UserWarning):
    """`warnings.warn(message)` attributed to the user's line: the first
    caller outside the tsgate package, however deep inside tsgate the call
    is (Python 3.12's `skip_file_prefixes`, by hand for 3.10 and 3.11)."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
