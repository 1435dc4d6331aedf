#pragma once
// Draws from std::mt19937_64 by formulas written here, not by the standard
// library's distributions (whose algorithms differ between libraries), so a
// seed gives the same workload and arrival times on every machine.
#include <cmath>
#include <cstdint>
#include <random>

namespace rs::ringperf {

using Rng = std::mt19937_64;

// Uniform in [0, 1), 53 random bits.
inline double uniform01(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1p-53; }

// Uniform in [0, n); the modulo bias is below 2^-40 for the n we use.
inline uint64_t uniform_index(Rng& rng, uint64_t n) { return rng() % n; }

// Exponential with mean 1 (a Poisson process' gap, in units of 1/rate).
inline double exponential1(Rng& rng) { return -std::log1p(-uniform01(rng)); }

}  // namespace rs::ringperf
