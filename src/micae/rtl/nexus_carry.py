"""Work around yosys issue 4081: ``synth_nexus`` ties the first carry-in of each CCU2 chain to a VLO cell.

nextpnr-nexus expects that input undriven (an implicit 0) and stops with
"CCU2 ... CIN net ... driven by non-CCU2 cell". Rewriting those bits to ``"x"``
in the JSON netlist keeps the function (an undriven CIN is 0) and lets it pack.
A CIN tied to constant 1 (VHI or ``"1"``) cannot be dropped without changing
the sum, so it is reported instead of rewritten.
"""

from __future__ import annotations

from micae.errors import ToolError


def _const_nets(cells: dict, cell_type: str, port: str) -> set:
    nets: set = set()
    for cell in cells.values():
        if cell["type"] == cell_type:
            nets.update(cell["connections"].get(port, []))
    return nets


def undrive_carry_ins(netlist: dict) -> int:
    """Rewrite, in place, every CCU2 ``CIN`` tied to 0 to ``"x"``; returns how many were rewritten.

    Raises :class:`ToolError` for a CIN tied to 1 (nextpnr-nexus would reject it and ``x`` would be wrong).
    """
    count = 0
    for mod_name, module in netlist.get("modules", {}).items():
        cells = module.get("cells", {})
        low = _const_nets(cells, "VLO", "Z")
        high = _const_nets(cells, "VHI", "Z")
        for name, cell in cells.items():
            if cell["type"] != "CCU2" or "CIN" not in cell["connections"]:
                continue
            bit = cell["connections"]["CIN"][0]
            if bit in low or bit == "0":
                cell["connections"]["CIN"] = ["x"]
                count += 1
            elif bit in high or bit == "1":
                raise ToolError(
                    f"CCU2 {name!r} in module {mod_name!r} has its carry-in tied to 1, which nextpnr-nexus rejects",
                    "synthesize with another yosys version (synth_tool='yosys') or report the design to micae",
                )
    return count
