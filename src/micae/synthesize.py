"""The synthesize flow: guard -> vectors -> hls4ml project -> C model, csim, vendor, RTL -> reports.

Each step records its seconds; every verification level compares integer codes.
Outputs are staged and renamed into ``hls/<name>/`` and ``firmware/<name>/``
only when the flow completes (a failed verification still completes: its report
is the point).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from micae.errors import ConfigError, ConstraintError, ToolError, VerificationError
from micae.fixed.arith import quantize_float
from micae.hls.convert import HlsOptions
from micae.log import info, progress, timings
from micae.outputs import check_target, staged_output
from micae.verify.compare import compare_codes, values_to_codes

RTL_MODES = ("auto", "on", "off")
VENDOR_MODES = ("auto", "off", "require")


@dataclass
class SynthRequest:
    model: Path
    name: str | None = None
    hls_root: Path = Path("hls")
    firmware_root: Path = Path("firmware")
    options: HlsOptions = field(default_factory=HlsOptions)
    vectors: int = 10000
    data: Path | None = None
    vendor: str = "auto"
    rtl: str = "auto"
    latency_cutoff: float | None = None
    allow_inexact: bool = False
    force: bool = False
    seed: int = 0
    rtl_rounding: str = "convergent"
    rtl_resources: bool = True
    input_layer: str | None = None
    output_layer: str | None = None
    input_mask: Path | None = None

    def validate(self) -> None:
        self.options.validate()
        if self.vendor not in VENDOR_MODES:
            raise ConfigError(f"--vendor {self.vendor!r}", f"use one of {VENDOR_MODES}")
        if self.rtl not in RTL_MODES:
            raise ConfigError(f"--rtl {self.rtl!r}", f"use one of {RTL_MODES}")
        if self.vectors < 1:
            raise ConfigError(f"--vectors {self.vectors} must be >= 1", "use e.g. --vectors 10000")


def resolve_model(path: Path) -> tuple[Path, Path | None]:
    """A run folder (models/<name>/) gives its encoder.h5 and itself; a file gives itself."""
    path = Path(path)
    if path.is_dir():
        enc = path / "encoder.h5"
        if not enc.exists():
            raise ConfigError(
                f"{path} has no encoder.h5", "give a training run folder (models/<name>) or an .h5/.keras file"
            )
        return enc, path
    if not path.exists():
        raise ConfigError(
            f"model {path} does not exist", "give a training run folder (models/<name>) or an .h5/.keras file"
        )
    if path.suffix not in (".h5", ".keras"):
        raise ConfigError(f"model {path} is neither .h5 nor .keras", "save the encoder with model.save('encoder.h5')")
    return path, None


def default_name(model_file: Path, run_dir: Path | None) -> str:
    return run_dir.name if run_dir is not None else model_file.stem


def _qkeras_latents(keras_model, x: np.ndarray) -> np.ndarray:
    out = keras_model.predict(x, batch_size=4096, verbose=0)
    return np.asarray(out, dtype=np.float64).reshape(len(x), -1)


def _locate(slices: dict[str, slice], index: int) -> str:
    for name, s in slices.items():
        if s.start <= index < s.stop:
            return name
    return "?"


def _annotate(level: dict, slices: dict[str, slice]) -> dict:
    """Name the vector source (test split, ties, ...) of every mismatch."""
    rows = level.pop("mismatch_rows", [])
    for row in level.get("first_mismatches", []):
        row.append(_locate(slices, row[0]))
    level["mismatches_by_source"] = {name: int(sum(s.start <= r < s.stop for r in rows)) for name, s in slices.items()}
    return level


def synthesize(req: SynthRequest) -> dict:
    """Run the whole flow; returns the report (also written to firmware/<name>/report.json)."""
    from micae.models.extract import inspect_encoder, shared_encoder
    from micae.models.io import load_model
    from micae.report.build import write_reports
    from micae.verify.inputs import load_run_inputs, load_user_inputs
    from micae.verify.vectors import build_vector_set, coverage

    req.validate()
    timings(reset=True)
    t0 = time.perf_counter()
    model_file, run_dir = resolve_model(req.model)
    name = req.name or default_name(model_file, run_dir)
    # absolute, because tools run with their own working directories
    hls_dir, fw_dir = Path(req.hls_root).resolve() / name, Path(req.firmware_root).resolve() / name
    check_target(hls_dir, force=req.force)
    check_target(fw_dir, force=req.force)

    with progress("load model"):
        keras_model = shared_encoder(load_model(model_file))
    with progress("guard: exactness checks"):
        encoder, problems = None, []
        try:
            guard = inspect_encoder(keras_model, name=name)
            encoder, problems = guard.encoder, guard.problems
        except ConstraintError as exc:
            if not req.allow_inexact:
                raise
            problems = [exc.one_line()]
        if problems and not req.allow_inexact:
            raise ConstraintError(
                problems[0], "fix the model, or pass --allow-inexact to convert anyway and see the mismatches"
            )
        for p in problems:
            info(f"warning (--allow-inexact): {p}")
    input_shape = tuple(int(v) for v in keras_model.input_shape[1:])

    with progress("vectors: build"):
        if req.data is not None:
            test_x = load_user_inputs(req.data, input_shape)
        elif run_dir is not None:
            test_x = load_run_inputs(run_dir, input_shape)
        else:
            test_x = None
        rng = np.random.default_rng(req.seed)
        if encoder is not None:
            test_codes = (
                quantize_float(test_x.reshape(len(test_x), -1), encoder.input_type) if test_x is not None else None
            )
            codes, slices = build_vector_set(encoder, req.vectors, test_codes=test_codes, seed=req.seed)
            x = encoder.input_type.to_float(codes).astype(np.float32).reshape(-1, *input_shape)
        else:
            x = (
                test_x
                if test_x is not None
                else rng.uniform(-1, 1, size=(req.vectors, *input_shape)).astype(np.float32)
            )
            slices = {"test_split" if test_x is not None else "random_uniform": slice(0, len(x))}
            codes = None
        info(f"{len(x)} vectors: " + ", ".join(f"{k} {s.stop - s.start}" for k, s in slices.items()))

    with progress("qkeras: reference latents"):
        expected_f = _qkeras_latents(keras_model, x)

    verification: dict = {}
    vector_info = {"total": int(len(x)), "sources": {k: s.stop - s.start for k, s in slices.items()}}
    if encoder is not None:
        lat_frac = encoder.latent_type.frac
        expected = values_to_codes(expected_f, lat_frac)
        with progress("verify: integer model vs QKeras"):
            verification["integer_model"] = _annotate(compare_codes(expected, encoder.latents(codes)), slices)
        vector_info["coverage"] = coverage(encoder, codes)
    else:
        lat_frac = None
        expected = None

    with staged_output(hls_dir, force=req.force) as hls_stage, staged_output(fw_dir, force=req.force) as fw_stage:
        from micae.hls import convert as hconv
        from micae.hls.project import raise_testbench_precision, write_project_readme, write_tb_data
        from micae.verify.csim import build_csim, parse_results, run_csim

        project = hconv.project_name_for(name)
        hls_model = hconv.convert(keras_model, encoder, hls_stage, name, req.options)
        if lat_frac is None:
            lat_frac = _output_frac(hls_model)
            expected = _codes_or_scaled(expected_f, lat_frac)
        hconv.compile_c_model(hls_model)
        with progress("verify: c_model"):
            got = _codes_or_scaled(hconv.c_model_predict(hls_model, x), lat_frac)
            verification["c_model"] = _annotate(compare_codes(expected, got), slices)
        with progress("hls: tb_data and testbench"):
            write_tb_data(hls_stage, x, expected_f)
            raise_testbench_precision(hls_stage, project)
            write_project_readme(hls_stage, project, req.options.backend, len(x))
        exe = build_csim(hls_stage, project)
        results = run_csim(hls_stage, exe)
        with progress("verify: csim"):
            got = parse_results(results, lat_frac, expected.shape[1])
            verification["csim"] = _annotate(compare_codes(expected, got), slices)
        (fw_stage / "logs").mkdir(exist_ok=True)
        for log in ("csim_compile.log", "csim_run.log"):
            if (hls_stage / log).exists():
                (fw_stage / "logs" / log).write_text((hls_stage / log).read_text())

        vendor = _vendor_levels(req, hls_stage, fw_stage, expected, lat_frac, slices, verification)
        rtl = _rtl_route(req, encoder, fw_stage, codes, expected, slices, verification)

        report = {
            "micae_version": _version(),
            "model": _model_section(name, model_file, keras_model, encoder, problems),
            "options": {
                **req.options.__dict__,
                "vectors": req.vectors,
                "vendor": req.vendor,
                "rtl": req.rtl,
                "latency_cutoff": req.latency_cutoff,
                "seed": req.seed,
            },
            "vectors": vector_info,
            "verification": verification,
            "vendor": vendor,
            "rtl": rtl.get("section") if rtl else None,
            "routes": _routes(vendor, rtl, req.options),
            "paths": {"hls_project": str(hls_dir), "firmware": str(fw_dir)},
        }
        report["resources"], report["latency"] = _headline(report["routes"])
        report["timing_s"] = {**timings(), "total": round(time.perf_counter() - t0, 3)}
        report["ok"] = all(level.get("mismatches", 0) == 0 for level in verification.values())
        write_reports(fw_stage, report, run_dir)
    if not report["ok"]:
        bad = [k for k, v in verification.items() if v.get("mismatches")]
        first = verification[bad[0]]["first_mismatches"][:1]
        counts = ", ".join(f"{k} {verification[k]['mismatches']} of {verification[k]['vectors']}" for k in bad)
        raise VerificationError(
            f"hardware and QKeras disagree: {counts} vectors; first {first}",
            f"see {fw_dir / 'report.md'}",
        )
    return report


def _version() -> str:
    from micae import __version__

    return __version__


def _output_frac(hls_model) -> int:
    """Fractional bits of the hls4ml output type (for models micae could not read exactly)."""
    out_var = hls_model.get_output_variables()[0]
    prec = out_var.type.precision
    return int(prec.width - prec.integer)


def _codes_or_scaled(values: np.ndarray, frac: int) -> np.ndarray:
    """Integer codes at ``2**-frac``; off-grid values (inexact models) are rounded for the report."""
    try:
        return values_to_codes(values, frac)
    except ValueError:
        return np.rint(np.asarray(values) * 2.0**frac).astype(np.int64)


def _model_section(name, model_file, keras_model, encoder, problems) -> dict:
    sec = {
        "name": name,
        "file": str(model_file),
        "input_shape": [int(v) for v in keras_model.input_shape[1:]],
        "parameters": int(keras_model.count_params()),
        "exact": not problems,
        "problems": problems,
    }
    if encoder is not None:
        budget = encoder.bit_budget()
        sec.update(
            latent_size=encoder.n_latent,
            input_type=encoder.input_type.to_dict(),
            latent_type=encoder.latent_type.to_dict(),
            stages=[
                {
                    "layer": s.name,
                    "kind": s.kind,
                    "quantizer": s.quantizer_name,
                    "out_type": s.out.to_dict(),
                    "weight_frac": s.weight_frac,
                    "accumulator": s.acc_type(t).to_dict(),
                    "unrolled_nonzero_weights": int(np.count_nonzero(s.matrix)),
                    **{k: v for k, v in s.meta.items() if k != "weight_type"},
                }
                for s, t in zip(encoder.stages, encoder.stage_input_types())
            ],
            bit_budget=budget,
            compression_factor=budget["compression_factor"],
        )
    return sec


def _vendor_levels(req, hls_stage, fw_stage, expected, lat_frac, slices, verification) -> dict:
    from micae.hls.vendor import run_vendor_flow
    from micae.verify.csim import find_vendor_results, parse_results

    started = time.time()
    with progress("vendor: HLS flow"):
        result = run_vendor_flow(
            hls_stage,
            req.options.backend,
            mode=req.vendor,
            log_path=fw_stage / "logs" / "vendor.log",
            verilog_dest=fw_stage / "verilog",
        )
    if result.get("status") != "ran":
        for level in ("vendor_csim", "vendor_synth", "vendor_cosim"):
            verification[level] = {"status": "skipped", "reason": result.get("reason", "")}
        return result
    # a stand-in executable (tests of the orchestration) never counts as a vendor run
    tag = "stand-in (not a vendor run)" if result.get("stand_in") else "vendor"
    logs = find_vendor_results(hls_stage, newer_than=started - 1)
    for level, key in (("vendor_csim", "csim"), ("vendor_cosim", "cosim")):
        if key in logs:
            got = parse_results(logs[key], lat_frac, expected.shape[1])
            verification[level] = {**_annotate(compare_codes(expected, got), slices), "run": tag, "log": str(logs[key])}
        else:
            verification[level] = {"status": "no results", "reason": f"the {key} step wrote no results", "run": tag}
    reports = result.get("reports", {})
    verification["vendor_synth"] = {"status": "ran" if reports.get("csynth") else "no report", "run": tag}
    return result


def _rtl_route(req, encoder, fw_stage, codes, expected, slices, verification) -> dict | None:
    if req.rtl == "off":
        verification["rtl"] = {"status": "skipped", "reason": "--rtl off"}
        return None
    if encoder is None:
        reason = "the encoder could not be read exactly, so there is no integer model to build RTL from"
        if req.rtl == "on":
            raise ConstraintError(f"--rtl on: {reason}", "fix the model's quantizers (see the guard's message)")
        verification["rtl"] = {"status": "skipped", "reason": reason}
        return None
    from micae.rtl.route import run_rtl_route

    try:
        result = run_rtl_route(
            encoder,
            fw_stage / "rtl",
            codes,
            expected,
            part=req.options.part,
            clock_ns=req.options.clock_ns,
            latency_cutoff=req.latency_cutoff,
            rounding=req.rtl_rounding,
            resources=req.rtl_resources,
        )
    except (ConstraintError, ToolError) as exc:
        # auto: the route runs whenever the encoder and the machine allow it; say loudly why not
        if req.rtl == "on":
            raise
        info(f"warning: RTL route skipped: {exc.one_line()}")
        verification["rtl"] = {"status": "skipped", "reason": exc.one_line()}
        return None
    verification["rtl"] = _annotate(result["verification"], slices)
    return result


def _routes(vendor: dict, rtl: dict | None, options: HlsOptions) -> list[dict]:
    """Every route that produced resources or latency, each labelled with its estimator."""
    routes = []
    reports = (vendor or {}).get("reports") or {}
    stand_in = bool((vendor or {}).get("stand_in"))
    label = "stand-in (not a vendor run)" if stand_in else "vendor"
    if reports.get("csynth"):
        cs = reports["csynth"]
        routes.append(
            {
                "route": f"hls4ml + {vendor.get('tool')} csynth",
                "kind": label,
                "stand_in": stand_in,
                "resources": cs.get("resources"),
                "latency": cs.get("latency"),
            }
        )
    if reports.get("vivado_synth"):
        vs = reports["vivado_synth"]
        routes.append(
            {
                "route": "hls4ml + vivado synth",
                "kind": label,
                "stand_in": stand_in,
                "resources": vs.get("resources"),
                "latency": None,
            }
        )
    if rtl:
        routes.append(
            {
                "route": "micae rtl (da4ml) + yosys",
                "kind": "open-source",
                "stand_in": False,
                "resources": rtl.get("resources"),
                "latency": rtl.get("latency"),
                "da4ml_cost": rtl.get("section", {}).get("da4ml", {}).get("cost"),
            }
        )
    return routes


def _headline(routes: list[dict]) -> tuple[dict | None, dict | None]:
    """The resources/latency shown first: a real vendor report, else the open-source estimate."""
    real = [r for r in routes if r["kind"] == "vendor"]
    ordered = real + [r for r in routes if r["kind"] == "open-source"]
    res = next((r["resources"] for r in ordered if r.get("resources")), None)
    lat = next((r["latency"] for r in ordered if r.get("latency")), None)
    return res, lat
