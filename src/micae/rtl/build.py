"""``write_rtl``: an ``IntegerEncoder`` -> ``firmware/<name>/rtl/`` (Verilog, testbench, vectors, run_sim.sh)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import da4ml
import numpy as np

from micae.errors import ConfigError, ConstraintError
from micae.fixed.graph import IntegerEncoder
from micae.results.base import write_result
from micae.results.rtl import MANIFEST, RtlManifest
from micae.results.rtl import load_manifest as load_manifest
from micae.rtl import delay_model, emit
from micae.rtl.testbench import VECTORS_IN, VECTORS_OUT, run_sim_script, testbench, write_vectors
from micae.rtl.trace import TracedEncoder, trace_encoder

SOURCES_LIST = "sources.f"

_KEYWORDS = frozenset(
    """always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign default
    defparam design disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive
    endspecify endtable endtask event for force forever fork function generate genvar highz0 highz1 if ifnone
    incdir include initial inout input instance integer join large liblist library localparam macromodule
    medium module nand negedge nmos nor noshowcancelled not notif0 notif1 or output parameter pmos posedge
    primitive pull0 pull1 pulldown pullup pulsestyle_onevent pulsestyle_ondetect rcmos real realtime reg
    release repeat rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled signed small specify specparam
    strong0 strong1 supply0 supply1 table task time tran tranif0 tranif1 tri tri0 tri1 triand trior trireg
    unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor
    bit byte logic int shortint longint class interface package program property sequence string type
    mux negative shift_adder multiplier lookup_table""".split()
)
"""Verilog-2005 keywords, common SystemVerilog ones, and da4ml's primitive module names."""


def verilog_name(name: str) -> str:
    """A safe Verilog identifier from an encoder name (never a keyword or a da4ml primitive)."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name) or "encoder"
    ident = ident if ident[0].isalpha() else f"m_{ident}"
    return f"{ident}_enc" if ident.lower() in _KEYWORDS else ident


def _check_vectors(encoder: IntegerEncoder, vin, vout) -> tuple[np.ndarray, np.ndarray]:
    if vin is None:
        from micae.verify.vectors import build_vector_set

        vin, _ = build_vector_set(encoder, 2000, seed=0)
    vin = np.asarray(vin, dtype=np.int64).reshape(len(vin), -1)
    if vin.shape[1] != encoder.n_inputs:
        raise ConfigError(
            f"input vectors have {vin.shape[1]} values per row, the encoder takes {encoder.n_inputs}",
            "pass integer input codes of shape (n, n_inputs)",
        )
    if len(vin) == 0:
        raise ConfigError("no input vectors given", "pass at least one input vector")
    vout = encoder.latents(vin) if vout is None else np.asarray(vout, dtype=np.int64).reshape(len(vout), -1)
    vin = encoder.live(vin)  # masked inputs have no port
    if vout.shape != (len(vin), encoder.n_latent):
        raise ConfigError(
            f"expected latents have shape {vout.shape}, need {(len(vin), encoder.n_latent)}",
            "pass one row of latent codes per input vector",
        )
    return vin, vout


def write_rtl(
    encoder: IntegerEncoder,
    out_dir: str | Path,
    *,
    latency_cutoff: float | None = None,
    clock_ns: float = 5.0,
    vectors_in: np.ndarray | None = None,
    vectors_out: np.ndarray | None = None,
    rounding: str = "half_even",
    solver_options: dict | None = None,
    traced: TracedEncoder | None = None,
    family: str | delay_model.DelayModel | None = None,
) -> RtlManifest:
    """Write the pipelined encoder, a self-checking testbench and its vectors; return its manifest (rtl.json).

    ``latency_cutoff`` is the most adder levels between two registers (da4ml's
    unit); ``None`` derives it from ``clock_ns`` (:func:`emit.cutoff_for_clock`).
    ``vectors_in``/``vectors_out`` are integer codes (n, n_inputs)/(n, n_latent);
    ``None`` builds a stress set (ties, saturation, random) and its expected
    latents from the integer model. ``rounding`` is one of
    :data:`micae.fixed.traced.ROUNDING_MODES`: the exact ``half_even`` (default),
    ``half_even_tiemux`` and ``half_even_textbook`` constructions, or the
    deliberately wrong ``half_up`` / ``da4ml_native`` (to prove the checks catch
    them, and as the benchmark baseline). ``solver_options`` go to da4ml's CMVM
    solver; ``traced`` reuses an existing :func:`trace_encoder` result.

    ``family`` (``"nexus"``, ``"ecp5"``, see :data:`micae.rtl.delay_model.MODELS`, or a
    :class:`~micae.rtl.delay_model.DelayModel`) with no
    ``latency_cutoff`` cuts the stages from that family's delay model instead: the fewest balanced
    stages the model says meet ``clock_ns`` (``da4ml.latency_cutoff`` is then None). With a family,
    the section's ``timing_estimate`` holds the model's predicted stage delays (an estimate, not
    timing analysis); without one it is None.
    """
    if clock_ns <= 0:
        raise ConfigError(f"clock period must be positive, got {clock_ns}", "pass clock_ns > 0 (e.g. 5.0 for 200 MHz)")
    vin, vout = _check_vectors(encoder, vectors_in, vectors_out)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if traced is None:
        traced = trace_encoder(encoder, rounding=rounding, solver_options=solver_options)
    pipe, pipelining = _pipeline(traced, clock_ns, latency_cutoff, family)
    top = verilog_name(encoder.name)
    ports = {
        "input": emit.port_doc(encoder.input_type, encoder.n_live, _input_order(encoder)),
        "output": emit.port_doc(
            encoder.latent_type, encoder.n_latent, "latent index 0 .. n_latent-1 (dense output order)"
        ),
    }
    _, packed_out = emit.output_layout(traced, pipe)
    _, packed_in = emit.input_layout(traced, pipe)
    if packed_out == 0 or packed_in == 0:
        raise ConstraintError(
            f"every latent of {encoder.name!r} is a constant (no weight reaches the output)",
            "check the exported weights; nothing to build",
        )
    files = _write_files(out, encoder, traced, pipe, top, ports, clock_ns, vin, vout)
    manifest = RtlManifest(
        top=top,
        ports=ports,
        latency_cycles=emit.latency_cycles(pipe),
        clock_ns=float(clock_ns),
        files=files,
        vectors=int(len(vin)),
        rounding=traced.rounding,
        da4ml=_da4ml_section(traced, pipe, pipelining),
        timing_estimate=pipelining["estimate"],
        # port element k is flat input input_columns[k]: simulators feed codes[:, input_columns]
        input_columns=[int(c) for c in encoder.live_columns],
        input_positions=encoder.n_inputs,
    )
    write_result(out / MANIFEST, manifest)
    return manifest


def _pipeline(traced: TracedEncoder, clock_ns: float, latency_cutoff: float | None, family) -> tuple:
    """da4ml's pipeline and how it was cut: by a family's delay model (timing-driven) or by adder levels."""
    timing_driven = family is not None and latency_cutoff is None
    cutoff = emit.cutoff_for_clock(clock_ns) if latency_cutoff is None else latency_cutoff
    model = delay_model.model_for(family) if family is not None else None
    if timing_driven:
        pipe, estimate = delay_model.pipeline_for_clock(traced.comb, model, clock_ns)
    else:
        pipe = emit.make_pipeline(traced.comb, cutoff)
        estimate = delay_model.estimate_for_pipeline(pipe, model, clock_ns) if model else None
    return pipe, {"timing_driven": timing_driven, "cutoff": cutoff, "estimate": estimate}


def _write_files(out: Path, encoder, traced, pipe, top: str, ports: dict, clock_ns: float, vin, vout) -> list[str]:
    """Verilog (one module per stage + top), testbench, vectors, run_sim.sh, da4ml's pipeline; returns the names."""
    core = f"{top}_core"
    for stale in out.glob(f"{core}_stage*.v"):  # from an earlier, deeper pipeline
        stale.unlink()
    datapath = emit.write_datapath(pipe, core, out)
    (out / f"{top}.v").write_text(emit.top_module(top, core, traced, pipe, ports, clock_ns))
    sources = datapath + [f"{top}.v"]
    (out / SOURCES_LIST).write_text("\n".join(sources) + "\n")
    write_vectors(out / VECTORS_IN, vin, encoder.input_type)
    write_vectors(out / VECTORS_OUT, vout, encoder.latent_type)
    tb = f"{top}_tb.v"
    lat = emit.latency_cycles(pipe)
    (out / tb).write_text(
        testbench(top, ports["input"]["bus_width"], ports["output"]["bus_width"], len(vin), lat, clock_ns)
    )
    script = out / "run_sim.sh"
    script.write_text(run_sim_script(top, sources))
    os.chmod(script, 0o755)
    pipe.save(out / "da4ml_pipeline.json")
    return sources + [tb, VECTORS_IN, VECTORS_OUT, "run_sim.sh", SOURCES_LIST, "da4ml_pipeline.json", MANIFEST]


def _da4ml_section(traced: TracedEncoder, pipe, pipelining: dict) -> dict:
    timing_driven = pipelining["timing_driven"]
    return {
        "version": da4ml.__version__,
        "cost": round(float(pipe.cost), 1),
        "latency_cutoff": None if timing_driven else float(pipelining["cutoff"]),
        "pipelining": "timing-driven (micae delay model)" if timing_driven else "adder levels (da4ml rule)",
        "stages": len(pipe.solutions),
        "adder_levels": float(traced.adder_depth),
        "register_bits": int(pipe.reg_bits),
        "solver_options": {k: v for k, v in traced.solver_options.items() if _jsonable(v)},
    }


def _jsonable(v) -> bool:
    return isinstance(v, (str, int, float, bool)) or v is None


def _input_order(encoder: IntegerEncoder) -> str:
    shape = tuple(encoder.input_shape)
    if len(shape) == 3:
        order = f"row-major (H, W, C) = {shape}: j = (h*{shape[1]} + w)*{shape[2]} + c (Keras channels_last flatten)"
    else:
        order = f"row-major over input shape {shape} (Keras flatten order)"
    if encoder.masked:
        order += f"; only the {encoder.n_live} live positions j in rtl.json input_columns, in that order"
    return order
