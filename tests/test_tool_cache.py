"""micae's tool cache (micae.cache): where it lives, hits and misses, eviction, and a real yosys run reused."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from micae.cache import ToolCache, cache_root, evict, input_key
from micae.errors import ConfigError


def test_the_cache_folder_follows_micae_cache_then_xdg(monkeypatch, tmp_path):
    for var in ("MICAE_CACHE", "MICAE_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    assert cache_root() == Path.home() / ".cache" / "micae"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "micae"
    monkeypatch.setenv("MICAE_CACHE_DIR", str(tmp_path / "old"))
    assert cache_root() == tmp_path / "old"
    monkeypatch.setenv("MICAE_CACHE", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"
    monkeypatch.setenv("MICAE_CACHE", "off")
    assert cache_root() is None
    assert ToolCache("pnr").get("abc") is None and ToolCache("pnr").put("abc", {"x": "1"}) is None


def test_a_bad_size_limit_is_refused(monkeypatch):
    monkeypatch.setenv("MICAE_CACHE_MB", "lots")
    with pytest.raises(ConfigError, match="MICAE_CACHE_MB"):
        ToolCache("pnr")


def test_keys_change_with_any_input():
    base = input_key("yosys-sta", "0.23", b"module a; endmodule")
    assert base == input_key("yosys-sta", "0.23", b"module a; endmodule")
    assert base != input_key("yosys-sta", "0.24", b"module a; endmodule")
    assert base != input_key("yosys-sta", "0.23", b"module b; endmodule")
    assert input_key("ab", "c") != input_key("a", "bc")  # parts are length-prefixed


def test_miss_then_hit_returns_the_stored_files_and_when(tmp_path):
    cache = ToolCache("yosys-sta", root=tmp_path, limit=1 << 20)
    assert cache.get("k1") is None
    cache.put("k1", {"yosys.log": "LOG TEXT", "sub/b.bin": b"\x00\x01"}, seconds=12.5)
    hit = cache.get("k1")
    assert hit is not None and hit.seconds == 12.5
    assert (hit.path / "yosys.log").read_text() == "LOG TEXT"
    assert (hit.path / "sub" / "b.bin").read_bytes() == b"\x00\x01"
    assert hit.describe("yosys-sta") == {
        "hit": True,
        "kind": "yosys-sta",
        "key": "k1",
        "stored": hit.stored,
        "tool_seconds": 12.5,
    }


def test_eviction_removes_the_least_recently_used_entries_first(tmp_path):
    big = ToolCache("pnr", root=tmp_path, limit=10**9)
    for name in ("old", "mid", "new"):
        big.put(name, {"blob": b"x" * 1000})
    now = time.time()
    for age, name in ((300, "old"), (200, "mid"), (100, "new")):
        os.utime(tmp_path / "pnr" / name / "used", (now - age, now - age))
    assert big.get("old") is not None  # a hit makes "old" the most recently used
    removed = evict(tmp_path, limit=2500)
    assert [p.name for p in removed] == ["mid"]
    assert {p.name for p in (tmp_path / "pnr").iterdir()} == {"old", "new"}
    # a store past the limit evicts across kinds, oldest use first, and keeps the new entry
    small = ToolCache("yosys-sta", root=tmp_path, limit=2500)
    small.put("fresh", {"blob": b"y" * 1000})
    assert {p.name for p in (tmp_path / "pnr").iterdir()} == {"old"}
    assert small.get("fresh") is not None


def test_a_zero_limit_keeps_nothing(tmp_path):
    cache = ToolCache("pnr", root=tmp_path, limit=0)
    cache.put("k", {"f": "x"})
    assert cache.get("k") is None


@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys is not installed")
def test_a_second_identical_yosys_sta_run_is_read_from_the_cache(monkeypatch, tmp_path):
    from micae.rtl import write_rtl
    from micae.rtl.sta import logic_sta_and_resources
    from micae.rtl.warm import tiny_encoder

    monkeypatch.setenv("MICAE_CACHE", str(tmp_path / "cache"))
    enc = tiny_encoder()
    man = write_rtl(enc, tmp_path / "rtl", latency_cutoff=1)
    sta1, res1 = logic_sta_and_resources(tmp_path / "rtl", man.top, "xcvu9p-flga2104-2L-e", 5.0)
    assert sta1.cache is None and res1.cache is None
    sta2, res2 = logic_sta_and_resources(tmp_path / "rtl", man.top, "xcvu9p-flga2104-2L-e", 5.0)
    assert sta2.cache is not None and sta2.cache.kind == "yosys-sta" and sta2.cache.tool_seconds is not None
    assert res2.cache == sta2.cache
    assert sta2.stage_delays_ns == sta1.stage_delays_ns and res2.cells == res1.cells
    # other Verilog (another cut) is another key: the tool runs again
    man3 = write_rtl(enc, tmp_path / "rtl3", latency_cutoff=2)
    sta3, _ = logic_sta_and_resources(tmp_path / "rtl3", man3.top, "xcvu9p-flga2104-2L-e", 5.0)
    assert sta3.cache is None


def test_a_second_identical_place_and_route_is_read_from_the_cache(monkeypatch, tmp_path):
    """The tools are stand-ins (nextpnr's real report of a tiny encoder, fixtures/nextpnr): what is checked is
    that identical inputs skip the tools, the files come back into the work folder and the result says so."""
    from micae.rtl import pnr, write_rtl
    from micae.rtl.warm import tiny_encoder

    fixture = Path(__file__).parent / "fixtures" / "nextpnr"
    runs = []

    def fake_run(work, sources, top, family, synth_tool, nextpnr, dev_args, clock_ns, seed, timeout_s):
        runs.append(seed)
        shutil.copyfile(fixture / "tiny_nexus_report.json", work / "report.json")
        shutil.copyfile(fixture / "tiny_nexus_pnr.log", work / "pnr.log")
        (work / "yosys.log").write_text("yosys log\n")
        return {"cells": {"LUT4": 10, "CCU2": 3}, "carry_ins_undriven": 0}

    monkeypatch.setenv("MICAE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(pnr, "find_tool", lambda name: name)
    monkeypatch.setattr(pnr, "_version", lambda exe, work: f"{exe} 1.0")
    monkeypatch.setattr(pnr, "_run", fake_run)
    write_rtl(tiny_encoder(), tmp_path / "rtl", latency_cutoff=1)
    first = pnr.place_and_route(tmp_path / "rtl", family="nexus", clock_ns=5.0, work_dir=tmp_path / "w1")
    second = pnr.place_and_route(tmp_path / "rtl", family="nexus", clock_ns=5.0, work_dir=tmp_path / "w2")
    assert runs == [1] and first.cache is None
    assert second.cache is not None and second.cache.kind == "pnr"
    assert second.fmax_mhz == first.fmax_mhz and second.resources == first.resources
    assert (tmp_path / "w2" / "report.json").read_bytes() == (fixture / "tiny_nexus_report.json").read_bytes()
    pnr.place_and_route(tmp_path / "rtl", family="nexus", clock_ns=5.0, seed=2, work_dir=tmp_path / "w3")
    assert runs == [1, 2]  # another seed is another key


@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys is not installed")
def test_yosys_beside_place_and_route_leaves_its_result_for_the_resources_step(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from micae.flow.steps.timing import _yosys_beside
    from micae.rtl import write_rtl
    from micae.rtl.sta import logic_sta_and_resources
    from micae.rtl.warm import tiny_encoder

    monkeypatch.setenv("MICAE_CACHE", str(tmp_path / "cache"))
    man = write_rtl(tiny_encoder(), tmp_path / "rtl", latency_cutoff=1)
    opts = SimpleNamespace(part="xcvu9p-flga2104-2L-e", clock_ns=5.0)
    ctx = SimpleNamespace(request=SimpleNamespace(rtl_resources=True, options=opts), rtl_dir=tmp_path / "rtl", rtl=man)
    with _yosys_beside(ctx):
        pass  # place-and-route would run here
    sta, res = logic_sta_and_resources(tmp_path / "rtl", man.top, opts.part, opts.clock_ns)
    assert sta.cache is not None and res.cache is not None
