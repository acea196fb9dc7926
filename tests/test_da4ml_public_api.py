"""micae reaches da4ml through its public API only, so the next da4ml does not break it at import.

Public: the modules da4ml's top-level ``__all__`` exports (``da4ml.cmvm``, ``da4ml.trace``,
``da4ml.codegen``, ...) plus ``da4ml.trace.ops`` (its getting-started guide imports from it), and
only the names in their ``__all__``. A private name (a leading underscore), a module da4ml does
not export (``da4ml.cmvm.types``, ``da4ml.codegen.rtl.verilog``) or a private attribute of a
traced object is refused anywhere in src/micae; :mod:`micae.da4ml_api` is the one place that
may read a private attribute, and it says why.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import da4ml
import numpy as np
import pytest
from da4ml.trace import FixedVariableArray, comb_trace

from micae.da4ml_api import kif, load_pipeline, one_stage, pipeline_type

SRC = Path(__file__).resolve().parents[1] / "src" / "micae"
ADAPTER = SRC / "da4ml_api.py"
DOCUMENTED = {"da4ml.trace.ops"}


def public_modules() -> set[str]:
    return {"da4ml"} | {f"da4ml.{name}" for name in da4ml.__all__} | DOCUMENTED


def exported(module: str) -> set[str]:
    mod = importlib.import_module(module)
    names = getattr(mod, "__all__", None)
    return set(names) if names is not None else {n for n in dir(mod) if not n.startswith("_")}


def private_attributes() -> set[str]:
    """Private attributes of da4ml's traced objects (``_vars``, ``_factor``, ...), read off live ones."""
    x = FixedVariableArray.from_kif(np.array([1, 1]), np.array([3, 3]), np.array([2, 2]))
    y = x @ np.array([[1.0, 2.0], [3.0, -1.0]])
    names = set(vars(x)) | set(vars(y[0]))
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def violations(source: str, where: str, *, allow_private_attributes: bool = False) -> list[str]:
    """Every use of da4ml beyond its public API in ``source``."""
    public, private_attrs, found = public_modules(), private_attributes(), []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "da4ml" and alias.name not in public:
                    found.append(f"{where}:{node.lineno}: import {alias.name} (not a public da4ml module)")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "da4ml":
            if node.module not in public:
                found.append(f"{where}:{node.lineno}: from {node.module} (not a public da4ml module)")
                continue
            names = exported(node.module)
            for alias in node.names:
                if alias.name.startswith("_") or alias.name not in names:
                    found.append(f"{where}:{node.lineno}: {alias.name} is not exported by {node.module}")
        elif isinstance(node, ast.Attribute) and node.attr in private_attrs and not allow_private_attributes:
            found.append(f"{where}:{node.lineno}: .{node.attr} is a private attribute of da4ml's objects")
    return found


def test_src_uses_only_public_da4ml():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = str(path.relative_to(SRC.parent))
        found += violations(path.read_text(), rel, allow_private_attributes=path == ADAPTER)
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    "code",
    [
        "from da4ml.cmvm.types import CombLogic",
        "from da4ml.cmvm import _minimal_kif",
        "import da4ml.codegen.rtl.verilog",
        "from da4ml.codegen.rtl.verilog import pipeline_logic_gen",
        "from da4ml.trace.ops import _quantize",
        "def f(v):\n    return v._factor < 0",
        "def f(a):\n    return a._vars.ravel()",
    ],
)
def test_the_check_catches_internals(code):
    assert violations(code, "example")


def test_the_check_passes_the_public_api():
    code = "from da4ml.cmvm import CombLogic, QInterval\nfrom da4ml.trace import comb_trace, to_pipeline\n"
    code += "from da4ml.codegen import VerilogModel\nimport da4ml\nv = da4ml.__version__\n"
    assert violations(code, "example") == []


def _comb():
    x = FixedVariableArray.from_kif(np.array([1, 0, 1]), np.array([3, 4, 2]), np.array([2, 0, 5]))
    w = np.array([[1.0, -2.0, 0.0], [3.0, 0.5, 0.0], [-1.25, 0.0, 0.0]])
    return comb_trace(x, x @ w)


def test_kif_equals_da4mls_own_port_widths():
    """:func:`micae.da4ml_api.kif` (micae's one range rule) gives what da4ml's public CombLogic says,
    a constant-zero output included."""
    comb = _comb()
    assert [kif(q) for q in comb.inp_qint] == [tuple(int(v) for v in c) for c in comb.inp_kifs.T]
    assert [kif(q) for q in comb.out_qint] == [tuple(int(v) for v in c) for c in comb.out_kifs.T]
    assert kif(comb.out_qint[2]) == (0, 0, 0)


def test_kif_equals_da4mls_minimal_kif_on_every_range():
    """Against da4ml's own (non-public) ``minimal_kif`` where this version has one: 20000 random ranges."""
    types = importlib.import_module("da4ml.types" if hasattr(da4ml, "types") else "da4ml.cmvm.types")
    minimal = getattr(types, "minimal_kif", None) or types._minimal_kif
    rng = np.random.default_rng(0)
    for _ in range(20000):
        f = int(rng.integers(-4, 12))
        lo = int(rng.integers(-5000, 5000))
        hi = lo + int(rng.choice([0, 1, 3, 100, 5000]))
        q = types.QInterval(lo * 2.0**-f, hi * 2.0**-f, 2.0**-f)
        assert kif(q) == tuple(int(v) for v in minimal(q)), q


def test_pipeline_type_builds_loads_and_saves(tmp_path):
    comb = _comb()
    pipe = one_stage(comb)
    assert isinstance(pipe, pipeline_type()) and pipe.solutions == (comb,)
    pipe.save(tmp_path / "p.json")
    again = load_pipeline(tmp_path / "p.json")
    assert np.array_equal(again.solutions[0].predict(np.ones((4, 3))), comb.predict(np.ones((4, 3))))
    assert again.reg_bits == pipe.reg_bits
