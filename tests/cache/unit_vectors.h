// Embeddings for the semantic store's tests: random unit vectors, and vectors at an exact cosine from one.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace rs::cache::testing {

// Uniform on the sphere: Gaussian components, normalised.
inline std::vector<float> random_unit(std::mt19937_64& random, uint32_t dims) {
  std::normal_distribution<double> gaussian;
  std::vector<double> v(dims);
  double norm = 0;
  for (double& x : v) {
    x = gaussian(random);
    norm += x * x;
  }
  norm = std::sqrt(norm);
  std::vector<float> unit(dims);
  for (uint32_t i = 0; i < dims; ++i) unit[i] = static_cast<float>(v[i] / norm);
  return unit;
}

// A unit vector at `cosine` from unit vector `u`: u rotated toward a random direction orthogonal to it.
inline std::vector<float> at_cosine(const std::vector<float>& u, double cosine, std::mt19937_64& random) {
  const std::vector<float> r = random_unit(random, static_cast<uint32_t>(u.size()));
  double along = 0;
  for (size_t i = 0; i < u.size(); ++i) along += double{u[i]} * r[i];
  std::vector<double> w(u.size());  // r less its component along u, normalised
  double norm = 0;
  for (size_t i = 0; i < u.size(); ++i) {
    w[i] = r[i] - along * u[i];
    norm += w[i] * w[i];
  }
  norm = std::sqrt(norm);
  const double sine = std::sqrt(1 - cosine * cosine);
  std::vector<float> v(u.size());
  for (size_t i = 0; i < u.size(); ++i) v[i] = static_cast<float>(cosine * u[i] + sine * w[i] / norm);
  return v;
}

inline double cosine_of(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0;
  for (size_t i = 0; i < a.size(); ++i) dot += double{a[i]} * b[i];
  return dot;
}

}  // namespace rs::cache::testing
