"""The C++ main of the Verilator simulation: streams binary vector files through the top module.

Command line: ``Vdut <in.bin> <expected.bin> <mismatch.bin> <n> <in_words> <out_words> <latency> [+verilator+...]``.
Both vector files hold ``n`` rows of little-endian ``uint32`` words (the flat bus,
:func:`micae.rtl.testbench.pack_words`). One vector enters per clock; every
output row seen with ``out_valid`` high is compared, all bits, with the
expected row. Each mismatching row is appended to ``mismatch.bin`` as its
``uint64`` index and the ``out_words`` words it got. The last stdout line is
``RESULT <n> <arrived> <mismatching rows>``.

Verilator is 2-state: an X in the design becomes 0 or 1, so an X never shows up
here. micae builds with ``--x-assign unique --x-initial unique`` and runs with
``+verilator+rand+reset+2``: every uninitialized register and every X assignment
starts from a random value, so a design that depended on one would mismatch
rather than pass by luck. The Icarus cross-check (4-state) is what sees X itself.
"""

DRIVER_CPP = r"""// micae Verilator driver (generated, see micae/rtl/verilator_driver.py)
#include "Vdut.h"
#include "verilated.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

template <typename T> static void put(T& port, const uint32_t* w, size_t nw) {
    uint64_t v = w[0];
    if (nw > 1) v |= static_cast<uint64_t>(w[1]) << 32;
    port = static_cast<T>(v);
}
template <std::size_t N> static void put(VlWide<N>& port, const uint32_t* w, size_t nw) {
    for (size_t i = 0; i < N; ++i) port[i] = i < nw ? w[i] : 0;
}
template <typename T> static void get(const T& port, uint32_t* w, size_t nw) {
    uint64_t v = static_cast<uint64_t>(port);
    w[0] = static_cast<uint32_t>(v);
    if (nw > 1) w[1] = static_cast<uint32_t>(v >> 32);
}
template <std::size_t N> static void get(const VlWide<N>& port, uint32_t* w, size_t nw) {
    for (size_t i = 0; i < nw; ++i) w[i] = i < N ? port[i] : 0;
}

// Sequential reader of fixed-size rows, in blocks.
struct Rows {
    FILE* f;
    size_t words, block, have = 0, pos = 0;
    std::vector<uint32_t> buf;
    Rows(const char* path, size_t words_, size_t block_ = 65536) : words(words_), block(block_) {
        f = std::fopen(path, "rb");
        if (!f) { std::fprintf(stderr, "cannot open %s\n", path); std::exit(2); }
        buf.resize(words * block);
    }
    const uint32_t* next() {
        if (pos == have) {
            have = std::fread(buf.data(), sizeof(uint32_t) * words, block, f);
            pos = 0;
            if (have == 0) { std::fprintf(stderr, "vector file too short\n"); std::exit(2); }
        }
        return buf.data() + words * pos++;
    }
};

int main(int argc, char** argv) {
    if (argc < 8) {
        std::fprintf(stderr, "usage: %s in exp mismatch n in_words out_words latency [+verilator+...]\n", argv[0]);
        return 2;
    }
    const uint64_t n = std::strtoull(argv[4], nullptr, 10);
    const size_t wi = std::strtoul(argv[5], nullptr, 10), wo = std::strtoul(argv[6], nullptr, 10);
    const uint64_t latency = std::strtoull(argv[7], nullptr, 10);
    Rows vin(argv[1], wi), vexp(argv[2], wo);
    FILE* bad = std::fopen(argv[3], "wb");
    if (!bad) { std::fprintf(stderr, "cannot write %s\n", argv[3]); return 2; }
    auto ctx = std::make_unique<VerilatedContext>();
    ctx->commandArgs(argc, argv);  // +verilator+rand+reset+2 +verilator+seed+<n>: random initial state
    auto top = std::make_unique<Vdut>(ctx.get());
    std::vector<uint32_t> zero(wi, 0), got(wo, 0);
    top->clk = 0;
    top->in_valid = 0;
    put(top->x, zero.data(), wi);
    top->eval();
    uint64_t n_in = 0, n_out = 0, errors = 0, cycles = 0;
    while (n_out < n && cycles < n + latency + 16) {
        if (n_in < n) { put(top->x, vin.next(), wi); top->in_valid = 1; ++n_in; }
        else { put(top->x, zero.data(), wi); top->in_valid = 0; }
        top->clk = 1;
        top->eval();  // rising edge: x sampled, y updated
        ++cycles;
        if (top->out_valid) {
            const uint32_t* want = vexp.next();
            get(top->y, got.data(), wo);
            if (std::memcmp(got.data(), want, wo * sizeof(uint32_t)) != 0) {
                ++errors;
                std::fwrite(&n_out, sizeof(n_out), 1, bad);
                std::fwrite(got.data(), sizeof(uint32_t), wo, bad);
            }
            ++n_out;
        }
        top->clk = 0;
        top->eval();
    }
    std::fclose(bad);
    top->final();
    typedef unsigned long long ull;
    std::printf("RESULT %llu %llu %llu\n", (ull)n, (ull)n_out, (ull)errors);
    return 0;
}
"""
