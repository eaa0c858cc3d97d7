"""Categorical covariates (`CategoricalEncoder`): columns of strings, pandas
categories or integers become one-hot indicator columns before a frame is
made a panel, with the categories learned at fit; an unknown category later
is an error naming the column and the value.
"""

import numbers

import numpy as np
from sklearn.preprocessing import OneHotEncoder

from tsgate.data.frames import check_columns, check_frame, plain


class CategoricalEncoder:
    """One-hot indicator columns for categorical `columns`, after
    scikit-learn's `OneHotEncoder` (one per column, categories learned at
    fit, sorted): column `c` with categories `a, b` becomes float columns
    `c_a`, `c_b` (`OneHotEncoder.get_feature_names_out`), 1.0 in the column of
    a row's category. Values must be strings or integers (a pandas category
    column of them too), none missing; a category not seen at fit is an
    error naming the column and the value.

    Fitted state: `categories_` {column: [categories]} (JSON-ready),
    `feature_names_` {column: (indicator column names)}."""

    def __init__(self, columns):
        self.columns = tuple(columns)

    def fit(self, df, name="df"):
        check_frame(df, name)
        check_columns(df, self.columns, name)
        self.categories_ = {c: sorted(set(_categories(df[c], c, name))) for c in self.columns}
        return self._build()

    def _build(self):
        self.encoders_ = {c: OneHotEncoder(categories=[np.asarray(cats, dtype=object)], sparse_output=False,
                                           dtype="float32").fit(np.asarray(cats, dtype=object).reshape(-1, 1))
                          for c, cats in self.categories_.items()}
        self.feature_names_ = {c: tuple(str(n) for n in encoder.get_feature_names_out([c]))
                               for c, encoder in self.encoders_.items()}
        return self

    def transform(self, df, columns=None, name="df"):
        """`df` with the categorical `columns` (default: all) replaced by
        their indicator columns, in place of the original column."""
        check_frame(df, name)
        columns = self.columns if columns is None else tuple(columns)
        check_columns(df, columns, name)
        frame = df
        for column in columns:
            values = _categories(df[column], column, name)
            known = set(self.categories_[column])
            unknown = [v for v in dict.fromkeys(values) if v not in known]
            if unknown:
                rows = np.flatnonzero(np.asarray([v == unknown[0] for v in values]))
                raise ValueError(f"Categorical column {column!r} of `{name}` has the category {unknown[0]!r} (rows "
                                 f"{rows[:3].tolist()}), which the forecaster did not see at fit; it knows "
                                 f"{self.categories_[column][:10]}.")
            indicators = self.encoders_[column].transform(np.asarray(values, dtype=object).reshape(-1, 1))
            at = list(frame.columns).index(column)
            frame = frame.drop(columns=column)
            for j, indicator in enumerate(self.feature_names_[column]):
                frame.insert(at + j, indicator, indicators[:, j])
        return frame

    def to_json(self):
        return {"columns": list(self.columns), "categories": self.categories_}

    @classmethod
    def from_json(cls, state):
        encoder = cls(state["columns"])
        encoder.categories_ = {c: list(state["categories"][c]) for c in encoder.columns}
        return encoder._build()


def _categories(column, name, frame_name):
    """The values of a categorical column as a list of str or int, checked:
    none missing, all strings or all integers."""
    missing = np.flatnonzero(np.asarray(column.isna()))
    if len(missing):
        raise ValueError(f"Categorical column {name!r} of `{frame_name}` has missing values (NaN/None) at rows "
                         f"{missing[:3].tolist()}; give every row a category.")
    values = [plain(v) for v in column.astype(object).tolist()]
    kinds = [str if isinstance(v, str) else int if isinstance(v, numbers.Integral) and not isinstance(v, bool)
             else None for v in values]
    odd = next((v for v, kind in zip(values, kinds) if kind is None or kind is not kinds[0]), None)
    if odd is not None:
        raise ValueError(f"Categorical column {name!r} of `{frame_name}` must hold strings or integers (all of one "
                         f"kind), got {odd!r} ({type(odd).__name__}).")
    return [int(v) for v in values] if kinds[0] is int else values
