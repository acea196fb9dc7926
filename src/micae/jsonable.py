"""Turn numpy-laden results into plain JSON values (report.json, metrics.json)."""

from __future__ import annotations

import numpy as np


def jsonable(obj, max_array: int | None = None):
    """Plain Python values for ``json.dumps``: numpy scalars/arrays, Paths, tuples.

    Arrays with ``max_array`` or more elements become a short ``array(shape)`` note;
    anything else unknown becomes its ``str``.
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v, max_array) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, max_array) for v in obj]
    if isinstance(obj, np.ndarray):
        return f"array{obj.shape}" if max_array is not None and obj.size >= max_array else obj.tolist()
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)
