"""Configs are schemas: every bad value of a run YAML, --set, an option, a sweep, search or findings file or the
synth options is refused before anything runs, on one line ``error: <key> = <value>: <allowed> (fix: <where>)``,
exit 2. Runs the real ``micae`` entry in this process (nothing trains: a refused config never reaches TensorFlow).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO

ECONT = REPO / "models" / "econt.yaml"
DIGITS = REPO / "models" / "digits_micae.yaml"
LINE = re.compile(
    r"^error: (sweep point \S+: )?(?P<key>[\w.\[\]-]+) = (?P<value>\{.*?\}|\[.*?\]|'[^']*'|[^\s:]+): "
    r"(?P<allowed>.+) \(fix: .+\)$"
)


def micae(capsys, *argv) -> tuple[int, str]:
    """Run ``micae ARGV`` as the console script does; (exit code, the one error line)."""
    from micae.cli.common import run_cli
    from micae.cli.main import main

    code = run_cli(main, [str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return code, lines[0]


def write(tmp_path: Path, name: str, doc: dict) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def no_data(monkeypatch):
    """Loading data (or training) fails the test: a refused config must stop before."""
    import micae.data
    import micae.train.run

    def boom(*a, **k):
        raise AssertionError("data was loaded for a config that should have been refused")

    monkeypatch.setattr(micae.data, "load_dataset", boom)
    monkeypatch.setattr(micae.train.run, "load_run_dataset", boom)
    monkeypatch.setattr(micae.train.run, "train_run", boom)


def run_yaml(**sections) -> dict:
    return {"name": "bad", "dataset": {"n_samples": 100}, **sections}


# (case, run YAML, extra argv, key, value shown, what is allowed)
TRAIN_CASES = [
    ("lr_text", run_yaml(train={"learning_rate": "abc"}), [], "train.learning_rate", "'abc'", "must be a positive"),
    ("patience_negative", run_yaml(train={"patience": -3}), [], "train.patience", "-3", "must be an integer >= 0"),
    ("n_samples_text", {"dataset": {"n_samples": "lots"}}, [], "dataset.n_samples", "'lots'", "must be an integer"),
    ("iterations_fraction", run_yaml(train={"emd_iterations": 1.5}), [], "train.emd_iterations", "1.5", "integer"),
    ("epochs_text", run_yaml(train={"epochs": "abc"}), [], "train.epochs", "'abc'", "must be an integer >= 1"),
    ("dataset_unknown", run_yaml(dataset={"name": "mnist"}), [], "dataset.name", "'mnist'", "must be one of"),
    (
        "quant_half",
        run_yaml(encoder={"latent_quant": {"bits": 8}}),
        [],
        "encoder.latent_quant",
        "{'bits': 8}",
        "integer",
    ),
    ("top_level_typo", run_yaml(epochs=3), [], "epochs", "3", "unknown key; allowed: dataset, decoder"),
    ("section_not_mapping", run_yaml(train=5), [], "train", "5", "must be a mapping"),
    ("run_synth_block", run_yaml(synth={"clock_ns": "fast"}), [], "synth.clock_ns", "'fast'", "must be a positive"),
    ("decoder_bool", run_yaml(decoder={"quantized": "yes"}), [], "decoder.quantized", "'yes'", "must be true or false"),
    (
        "set_encoder_typo",
        run_yaml(),
        ["--set", "encoder.filtrs=4"],
        "encoder.filtrs",
        "4",
        "unknown key; encoder takes",
    ),
    ("set_mode", run_yaml(), ["--set", "train.mode=frozen"], "train.mode", "'frozen'", "must be one of 'joint'"),
    ("set_pad", run_yaml(), ["--set", "encoder.pad=[[0,-1],[0,1]]"], "encoder.pad[0][1]", "-1", "integer >= 0"),
    ("set_noise", run_yaml(), ["--set", "train.noise=gauss"], "train.noise", "'gauss'", "must be dropout:P"),
    ("set_limit", run_yaml(), ["--set", "min_compression=0"], "min_compression", "0", "must be a positive number"),
    ("set_not_section", run_yaml(), ["--set", "train.epochs.x=1"], "train.epochs.x", "1", "not a section"),
    ("option_lr", run_yaml(), ["--lr", "abc"], "train.learning_rate", "'abc'", "must be a positive number"),
    ("option_epochs", run_yaml(), ["--epochs", "0"], "train.epochs", "0", "must be an integer >= 1"),
    ("option_objective", run_yaml(), ["--objective", "sparse"], "train.objective", "'sparse'", "must be one of 'ae'"),
    ("option_latent_bits", run_yaml(), ["--latent-bits", "x"], "encoder.latent_quant.bits", "'x'", "integer"),
]


@pytest.mark.parametrize("case, doc, argv, key, value, allowed", TRAIN_CASES, ids=[c[0] for c in TRAIN_CASES])
def test_bad_run_configs_are_one_line_before_any_data(tmp_path, capsys, no_data, case, doc, argv, key, value, allowed):
    path = write(tmp_path, "run.yaml", doc)
    code, line = micae(capsys, "train", "--config", path, "--out", tmp_path / "runs", *argv)
    m = LINE.match(line)
    assert code == 2 and m, line
    assert (m["key"], m["value"]) == (key, value) and allowed in m["allowed"], line
    where = argv[0] if argv and argv[0] != "--set" else (f"--set {argv[1]}" if argv else str(path))
    assert where in line.split("(fix: ")[1], line  # the fix names where the value came from
    assert not (tmp_path / "runs").exists()


def test_a_bad_stack_level_is_named_with_its_index(tmp_path, capsys, no_data):
    levels = "stack.levels=[{latent: 8}, {latent: 8}]"
    code, line = micae(
        capsys, "train", "--config", DIGITS, "--out", tmp_path, "--set", "stack.enabled=true", "--set", levels
    )
    assert code == 2 and line.startswith("error: stack.levels[1].latent = 8: stage 3: does not compress"), line


def test_an_encoder_key_typo_in_set_fails_before_the_data_set_is_built(tmp_path, capsys, no_data):
    code, line = micae(capsys, "train", "--config", ECONT, "--out", tmp_path, "--set", "encoder.filtrs=4")
    assert code == 2 and "encoder.filtrs = 4: unknown key" in line and "(fix: correct --set encoder.filtrs=4)" in line


def test_a_valid_config_is_kept_as_written(tmp_path):
    """Validation changes nothing: raw is the merged YAML (what config.yaml of the run holds)."""
    from micae.train.config import load_config

    cfg = load_config(ECONT)
    written = yaml.safe_load(ECONT.read_text())
    assert cfg.raw["encoder"] == written["encoder"] and cfg.raw["train"]["learning_rate"] == 0.003
    assert cfg.model.train.learning_rate == 0.003 and cfg.model.encoder.latent == 16
    assert cfg.raw["synth"] == {"pnr": "nexus", "clock_ns": 10} and "synth" not in cfg.training_raw()


# ---- sweep, search and findings files --------------------------------------------------------------------------

SWEEP = {"base": str(ECONT), "set": {"dataset.n_samples": 200}, "grid": {"encoder.latent": [8, 16]}}
SWEEP_CASES = [
    ("pnr", {"synth": {"pnr": "xilinx"}}, "synth.pnr", "'xilinx'", "must be one of 'off', 'nexus', 'ecp5'"),
    ("clock", {"synth": {"clock_ns": "fast"}}, "synth.clock_ns", "'fast'", "must be a positive number"),
    ("backend", {"synth": {"backend": "Quartus"}}, "synth.backend", "'Quartus'", "must be one of 'Vitis', 'Vivado'"),
    ("synth_typo", {"synth": {"vectrs": 3}}, "synth.vectrs", "3", "unknown key; synth takes"),
    ("require_timing", {"synth": {"require_timing": True}}, "synth.require_timing", "True", "needs a timing"),
    ("grid_value", {"grid": {"train.learning_rate": [0.1, "abc"]}}, "train.learning_rate", "'abc'", "positive"),
    ("file_typo", {"grids": {}}, "grids", "{}", "unknown key; allowed: base, grid"),
    ("grid_not_list", {"grid": {"encoder.latent": 8}}, "grid.encoder.latent", "8", "must be a list"),
]


@pytest.mark.parametrize("case, extra, key, value, allowed", SWEEP_CASES, ids=[c[0] for c in SWEEP_CASES])
def test_a_bad_sweep_fails_before_the_first_point_trains(tmp_path, capsys, case, extra, key, value, allowed):
    path = write(tmp_path, "s.yaml", {**SWEEP, **extra})
    code, line = micae(capsys, "sweep", "--config", path, "--out", tmp_path / "out")
    m = LINE.match(line)
    assert code == 2 and m, line
    assert (m["key"], m["value"]) == (key, value) and allowed in m["allowed"], line
    assert not (tmp_path / "out").exists()  # no point folder, no Dask cluster


SEARCH = {"base": str(ECONT), "set": {"dataset.n_samples": 200}, "synth": {"rtl": "auto"}}
SEARCH_CASES = [
    ("range_half", {"search": {"encoder.latent": {"low": 8}}}, "search.encoder.latent", "{'low': 8}", "high is"),
    ("neither", {"search": {"encoder.latent": 3}}, "search.encoder.latent", "3", "is not a range or a list"),
    ("trials", {"search": {"encoder.latent": [8, 16]}, "trials": 0}, "trials", "0", "must be an integer >= 1"),
    ("choice", {"search": {"train.learning_rate": [0.1, "fast"]}}, "train.learning_rate", "'fast'", "positive"),
    ("synth", {"search": {"encoder.latent": [8]}, "synth": {"pnr": "vivado"}}, "synth.pnr", "'vivado'", "one of"),
]


@pytest.mark.parametrize("case, extra, key, value, allowed", SEARCH_CASES, ids=[c[0] for c in SEARCH_CASES])
def test_a_bad_search_fails_before_the_study_starts(tmp_path, capsys, case, extra, key, value, allowed):
    path = write(tmp_path, "s.yaml", {**SEARCH, **extra})
    code, line = micae(capsys, "sweep", "--config", path, "--out", tmp_path / "out")
    m = LINE.match(line)
    assert code == 2 and m, line
    assert (m["key"], m["value"]) == (key, value) and allowed in m["allowed"], line
    assert not (tmp_path / "out").exists()


FINDINGS = {"datasets": {"digits": {"base": str(DIGITS), "latent": 4, "sweep_latents": [2, 4]}}}
FINDINGS_CASES = [
    ("tolerance", {"tolerances": {"similar": -1}}, "tolerances.similar", "-1", "must be a number >= 0"),
    ("latent", {"datasets": {"digits": {"base": str(DIGITS), "latent": 0}}}, "datasets.digits.latent", "0", ">= 1"),
    ("sweep_synth", {"sweep_synth": {"rtl": "sometimes"}}, "sweep_synth.rtl", "'sometimes'", "one of 'auto'"),
    ("workers", {"workers": "two"}, "workers", "'two'", "must be an integer >= 1"),
]


@pytest.mark.parametrize("case, extra, key, value, allowed", FINDINGS_CASES, ids=[c[0] for c in FINDINGS_CASES])
def test_a_bad_findings_file_is_refused(tmp_path, capsys, case, extra, key, value, allowed):
    path = write(tmp_path, "study.yaml", {**FINDINGS, **extra})
    code, line = micae(capsys, "findings", "--config", path, "--out", tmp_path / "out")
    m = LINE.match(line)
    assert code == 2 and m, line
    assert (m["key"], m["value"]) == (key, value) and allowed in m["allowed"], line


COMMAND_CASES = [
    (
        "sweep_jobs",
        ["sweep", "--config", ECONT, "--jobs", "0"],
        "jobs",
        "0",
        "must be an integer >= 1",
        "--jobs/--workers",
    ),
    (
        "sweep_workers",
        ["sweep", "--config", ECONT, "--workers", "two"],
        "jobs",
        "'two'",
        "integer >= 1",
        "--jobs/--workers",
    ),
    ("findings_workers", ["findings", "--workers", "0"], "workers", "0", "must be an integer >= 1", "--workers"),
]


@pytest.mark.parametrize("case, argv, key, value, allowed, fix", COMMAND_CASES, ids=[c[0] for c in COMMAND_CASES])
def test_sweep_and_findings_options_are_schema_checked_before_anything_runs(
    tmp_path, capsys, case, argv, key, value, allowed, fix
):
    code, line = micae(capsys, *argv, "--out", tmp_path / "out")
    m = LINE.match(line)
    assert code == 2 and m, line
    assert (m["key"], m["value"]) == (key, value) and allowed in m["allowed"], line
    assert f"(fix: correct {fix}; see micae {argv[0]} --help)" in line, line
    assert not (tmp_path / "out").exists()


def test_sweep_findings_and_report_options_come_from_their_schemas():
    """Every field of each command's schema is an option with its description as help (one list, no argparse
    written by hand)."""
    from micae.cli.main import build_parser
    from micae.config.commands import FindingsCommand, ReportCommand, SweepCommand

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices
    for command, schema in (("sweep", SweepCommand), ("findings", FindingsCommand), ("report", ReportCommand)):
        actions = {a.dest: a for a in sub[command]._actions if a.dest not in ("help", "debug")}
        assert set(actions) == set(schema.model_fields), command
        for name, field in schema.model_fields.items():
            assert " ".join(field.description.split())[:40] in actions[name].help, (command, name)
    assert sub["sweep"].parse_args(["--config", "s.yaml", "--workers", "3"]).jobs == "3"  # the old spelling stays


# ---- micae synth: options, the run's synth: block, help ----------------------------------------------------------


@pytest.fixture
def run_folder(tmp_path) -> Path:
    """A run folder as micae train leaves it (the encoder is never read: a refused request stops before)."""
    run = tmp_path / "models" / "econt"
    run.mkdir(parents=True)
    (run / "encoder.h5").write_bytes(b"")
    cfg = yaml.safe_load(ECONT.read_text())
    (run / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return run


SYNTH_CASES = [
    ("clock", ["--clock-ns", "fast"], "clock_ns", "'fast'", "must be a positive number", "--clock-ns"),
    ("pnr", ["--pnr", "xilinx"], "pnr", "'xilinx'", "must be one of 'off', 'nexus', 'ecp5'", "--pnr"),
    ("vectors", ["--vectors", "0"], "vectors", "0", "must be an integer >= 1", "--vectors"),
    ("backend", ["--backend", "Quartus"], "backend", "'Quartus'", "'Vitis', 'Vivado' (any case)", "--backend"),
    ("routing", ["--require-timing", "--pnr", "off"], "require_timing", "True", "includes routing", "--pnr nexus"),
]


@pytest.mark.parametrize("case, argv, key, value, allowed, fix", SYNTH_CASES, ids=[c[0] for c in SYNTH_CASES])
def test_bad_synth_options_are_one_line(tmp_path, capsys, run_folder, case, argv, key, value, allowed, fix):
    code, line = micae(capsys, "synth", "--model", run_folder, "--firmware-root", tmp_path / "fw", *argv)
    m = LINE.match(line)
    assert code == 2 and m, line
    assert (m["key"], m["value"]) == (key, value) and allowed in m["allowed"] and fix in line, line
    assert not (tmp_path / "fw").exists()


def test_micae_synth_on_an_untrained_folder_names_micae_train(tmp_path, capsys):
    code, line = micae(capsys, "synth", "--model", tmp_path, "--firmware-root", tmp_path / "fw")
    assert code == 2 and line.startswith(f"error: {tmp_path} has no encoder.h5 (fix: train it first (micae train"), line
    assert "train_qat.py" not in line and "synthesize.py" not in line and not (tmp_path / "fw").exists()


def test_a_bad_synth_block_in_the_run_names_its_file(tmp_path, capsys, run_folder):
    cfg = yaml.safe_load((run_folder / "config.yaml").read_text())
    cfg["synth"] = {"backend": "Quartus"}
    (run_folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    code, line = micae(capsys, "synth", "--model", run_folder)
    assert code == 2 and line.startswith("error: synth.backend = 'Quartus': must be one of 'Vitis', 'Vivado'"), line
    assert str(run_folder / "config.yaml") in line


def test_micae_synth_on_a_run_takes_its_synth_block_and_options_override_it(run_folder):
    """`micae synth --model models/econt` gets the demo's settings (place and route on the Nexus at 10 ns)."""
    from micae.cli.synth import build_parser, request_from_args
    from micae.config.synth import SynthOptions

    req = request_from_args(build_parser().parse_args(["--model", str(run_folder)]))
    assert (req.pnr, req.options.clock_ns, req.options.part) == ("nexus", 10.0, "xcvu9p-flga2104-2L-e")
    assert req.options == SynthOptions(pnr="nexus", clock_ns=10)  # every other setting at its default, as make demo
    assert (req.source("pnr"), req.source("clock_ns"), req.source("part")) == ("run config", "run config", "default")
    req = request_from_args(
        build_parser().parse_args(
            ["--model", str(run_folder), "--clock-ns", "8", "--backend", "vivado", "--strategy", "resource"]
        )
    )
    assert (req.options.clock_ns, req.source("clock_ns"), req.pnr) == (8.0, "cli", "nexus")
    assert (req.options.backend, req.options.strategy) == ("Vivado", "Resource")  # any case, as hls4ml takes them
    opts = req.options_json()
    assert opts["sources"]["clock_ns"] == "cli" and opts["sources"]["pnr"] == "run config" and opts["clock_ns"] == 8.0
    from micae.report.settings import devices_note, settings_line
    from micae.results.report import ReportOptions

    opts = ReportOptions.model_validate(opts)  # report.json's options, as the flow files them
    assert "clock_ns 8.0 (cli)" in settings_line(opts) and "pnr nexus (run config)" in settings_line(opts)
    note = devices_note(opts)
    assert "Xilinx xcvu9p-flga2104-2L-e" in note and "Lattice LIFCL-40-9BG400C" in note


def test_micae_synth_logs_its_settings_their_sources_and_both_vendors(run_folder):
    """Before anything runs, the log names every setting's source (the run's config.yaml by path) and both devices."""
    from micae.cli.synth import build_parser, request_from_args, settings_lines

    req = request_from_args(build_parser().parse_args(["--model", str(run_folder), "--clock-ns", "8"]))
    settings, devices = settings_lines(req)
    assert "part xcvu9p-flga2104-2L-e (default)" in settings and "clock_ns 8.0 (cli)" in settings, settings
    assert "pnr nexus (run config)" in settings and str(run_folder / "config.yaml") in settings, settings
    assert "Xilinx xcvu9p-flga2104-2L-e (--part) for the hls4ml project" in devices, devices
    assert "Lattice LIFCL-40-9BG400C (--pnr nexus)" in devices, devices
    req = request_from_args(build_parser().parse_args(["--model", str(run_folder / "encoder.h5")]))
    settings, devices = settings_lines(req)
    assert "pnr off (default)" in settings and "a model file has no run config" in settings, settings
    assert "no place-and-route (--pnr off)" in devices, devices


def test_the_demo_settings_live_in_the_run_yaml_not_the_makefile():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^SYNTH_FLAGS \?=\s*$", makefile, re.M), "the Makefile passes no synth settings of its own"
    assert yaml.safe_load(ECONT.read_text())["synth"] == {"pnr": "nexus", "clock_ns": 10}


def test_synth_help_is_grouped_and_names_both_vendors(capsys):
    from micae.cli.main import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["synth", "--help"])
    out = capsys.readouterr().out
    titles = [line.rstrip(":") for line in out.splitlines() if line and not line.startswith(" ") and line.endswith(":")]
    assert titles[-6:] == ["model cut", "hls4ml", "verification", "RTL", "timing", "outputs"], titles
    assert "Xilinx" in out and "Lattice" in out and "synthesize.py" not in out
    flat = " ".join(out.split())
    assert "(run config synth.clock_ns; default 5)" in flat and "(run config synth.pnr; default off)" in flat


def test_train_help_shows_each_key_and_default(capsys):
    from micae.cli.main import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(config train.learning_rate; default 0.003)" in out and "then the YAML file (--config)" in out
    assert "train_qat.py" not in out


def test_sweep_help_lists_the_outputs_the_readme_lists(capsys):
    from micae.cli.main import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["sweep", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name in ("results.csv", "pareto_front.csv", "pareto.png", "sweep.json", "study.png", "summary.md"):
        assert name in out and name in (REPO / "sweeps" / "README.md").read_text(), name


def test_version_and_top_level_debug(capsys):
    """``micae --version`` is the package metadata's version, which is pyproject.toml's (no second copy)."""
    import tomllib

    from micae.cli.main import build_parser

    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--version"])
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"micae {pyproject}"
    assert build_parser().parse_args(["--debug", "report", "--name", "x"]).debug is True
    assert build_parser().parse_args(["report", "--name", "x", "--debug"]).debug is True


def test_debug_shows_the_traceback_of_a_config_error(tmp_path):
    from micae.cli.common import run_cli
    from micae.cli.main import main
    from micae.errors import ConfigError

    with pytest.raises(ConfigError, match="train.epochs = 'abc'"):
        run_cli(main, ["--debug", "train", "--out", str(tmp_path), "--set", "train.epochs=abc"])


def test_an_option_is_one_field(monkeypatch):
    """A new SynthOptions field is a micae synth option and a sweep synth: key, with no other edit."""
    from typing import Annotated

    from micae.cli.synth import build_parser
    from micae.config import synth
    from micae.config.types import Cli, Integer
    from micae.sweep.grid import synth_options

    class Wider(synth.SynthOptions):
        fanout: Annotated[Integer(ge=1), Cli(group="RTL")] = 4
        """most loads per net"""

    monkeypatch.setattr(synth, "SynthOptions", Wider)
    import micae.flow.request as request

    class Request(request.SynthRequest):
        options: Wider = Wider()

    monkeypatch.setattr(request, "SynthRequest", Request)
    help_text = build_parser().format_help()
    flat = " ".join(help_text.split())
    assert "--fanout FANOUT" in help_text and "most loads per net (run config synth.fanout; default 4)" in flat
    import micae.config.synth as cs

    assert cs.SynthOptions is Wider and synth_options({"fanout": 2})["fanout"] == 2


def test_a_sweep_step_reports_its_error_line_and_exit_code(tmp_path, capsys):
    """A point's step gets its validated input as JSON and returns micae's exit code and one line (no scraping)."""
    from micae.sweep.child import run_job
    from micae.train.config import load_config

    raw = load_config(DIGITS).raw
    raw["train"]["epochs"] = "abc"  # a job file edited by hand is checked again
    code, error = run_job({"step": "train", "config": raw, "out": str(tmp_path)})
    assert code == 2 and error.startswith("train.epochs = 'abc': must be an integer >= 1"), error
    request = {"model": str(tmp_path / "none.h5"), "options": {"pnr": "xilinx"}}
    code, error = run_job({"step": "synth", "request": request})
    assert code == 2 and error.startswith("options.pnr = 'xilinx': must be one of"), error
    assert not any(tmp_path.iterdir())
