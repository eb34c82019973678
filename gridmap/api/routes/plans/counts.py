"""Member counts of drawn shapes as each account may see them (任意形状的党员数).

A client may send any polygon, and the number of members living in it would locate them: a
10 × 10 m box around a home answers 1. So wherever the plans API counts members in a shape
(live figures of drawn cells, the members that move between cells in a diff):

- members are counted only in the caller's area; a shape reaching beyond it gets no member
  counts (``members_hidden = "outside_area"``);
- for roles that may not see personal data, the counts of a shape that is not a whole cell —
  a cell of the saved plan as the current grid layer has it too, so that saving a tiny cell
  does not make it one — are shown only from ``min_count_shown`` (``GRIDMAP_MIN_COUNT_SHOWN``,
  default 3) up. Below that they are ``None`` with ``members_hidden = "few"`` — zero included, or
  shrinking boxes answering "0" or "<3" would still find a home. When the total is shown but
  the full or the probationary part is below the threshold, both parts are ``None``
  (``members_hidden = "split"``): the total minus one part would give the other.

Members count in the cell of the building the latest analysis placed them in (落位, stored with
its run: :func:`gridmap.placed_members.stored_member_homes`), as every other figure counts them;
only members or buildings loaded or changed since that run are placed again by the rule.

Every row also carries ``members_min_shown``, the threshold, for the editor to say "<3".

Examples
--------
>>> import pandas as pd
>>> rows = pd.DataFrame({"members": [1, 5, 9], "members_full": [1, 4, 6],
...                      "members_probationary": [0, 1, 3]})
>>> shown = hide_member_counts(rows, masked=True, whole=[False, False, False],
...                            outside=[False, False, False], min_shown=3)
>>> shown[["members", "members_full", "members_hidden"]].values.tolist()
[[None, None, 'few'], [5, None, 'split'], [9, 6, None]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import shapely

__all__ = ["hide_member_counts", "reaching_beyond", "whole_cells"]

MEMBER_COUNTS = ("members", "members_full", "members_probationary")
SAME_CELL_M2 = 1.0  # outlines differing by less than this are the same cell (digitising dust)


def hide_member_counts(
    frame: pd.DataFrame,
    *,
    masked: bool,
    whole: Sequence[bool] | np.ndarray,
    outside: Sequence[bool] | np.ndarray,
    min_shown: int,
) -> pd.DataFrame:
    """``frame`` with its member counts (those of :data:`MEMBER_COUNTS` it has) hidden where
    the rules of this module say so, plus ``members_hidden`` and ``members_min_shown``.

    ``masked``: the caller may not see personal data; ``whole``: per row, the shape is a whole
    cell (see above); ``outside``: per row, the shape reaches beyond the caller's area.
    """
    out = frame.copy()
    present = [c for c in MEMBER_COUNTS if c in out]
    outside = np.asarray(outside, dtype=bool)
    arbitrary = ~np.asarray(whole, dtype=bool) if masked else np.zeros(len(out), dtype=bool)
    total = out["members"].to_numpy(dtype=np.int64)
    few = ~outside & arbitrary & (total < min_shown)
    split = np.zeros(len(out), dtype=bool)
    if "members_full" in out and "members_probationary" in out:
        parts = np.minimum(out["members_full"].to_numpy(np.int64), out["members_probationary"].to_numpy(np.int64))  # fmt: skip
        split = ~outside & ~few & arbitrary & (parts < min_shown)
    for column in present:
        values = out[column].astype(object)
        hide = outside | few | (split if column != "members" else False)
        values[hide] = None
        out[column] = values
    hidden = np.full(len(out), None, dtype=object)
    hidden[split], hidden[few], hidden[outside] = "split", "few", "outside_area"
    out["members_hidden"] = pd.Series(hidden, index=out.index, dtype=object)
    out["members_min_shown"] = min_shown
    return out


def reaching_beyond(shapes: np.ndarray, area_shape) -> np.ndarray:
    """Per shape (metric CRS): does more than :data:`SAME_CELL_M2` of it lie outside
    ``area_shape`` (the caller's area, same CRS)?"""
    shapes = np.asarray(shapes, dtype=object)
    if area_shape is None:
        return np.ones(len(shapes), dtype=bool)
    return shapely.area(shapely.difference(shapes, area_shape)) > SAME_CELL_M2


def whole_cells(codes: Sequence, shapes: np.ndarray, stored_codes: Sequence, stored: np.ndarray) -> np.ndarray:  # fmt: skip
    """Per shape: is it one of the ``stored`` cells (of the saved plan, of the current grid
    layer), same code and (within :data:`SAME_CELL_M2`) the same outline? One metric CRS."""
    where = {code: i for i, code in enumerate(stored_codes)}
    found = np.array([where.get(code, -1) for code in codes], dtype=np.int64)
    result = np.zeros(len(found), dtype=bool)
    known = found >= 0
    if known.any():
        pairs = shapely.symmetric_difference(np.asarray(shapes, dtype=object)[known], np.asarray(stored, dtype=object)[found[known]])  # fmt: skip
        result[known] = shapely.area(pairs) < SAME_CELL_M2
    return result
