#include "core/model/rope_frequencies.h"

#include <cmath>
#include <numbers>

namespace rs::model {

std::vector<float> rope_frequencies(const ModelDesc& d, const std::vector<float>& file_factors) {
  const uint32_t pairs = d.head_dim / 2;
  std::vector<float> inv_freq(pairs);
  for (uint32_t i = 0; i < pairs; ++i) {
    double freq = std::pow(double(d.rope_freq_base), -2.0 * i / d.head_dim);
    if (!file_factors.empty()) freq /= file_factors[i];  // llama.cpp applies these and a linear scale both
    if (d.rope_scaling == RopeScaling::linear) {
      freq /= d.rope_scale_factor;
    } else if (d.rope_scaling == RopeScaling::llama3 && file_factors.empty()) {
      const double wavelength = 2 * std::numbers::pi / freq;
      const double low_wavelength = d.rope_original_context / d.rope_low_freq_factor;
      const double high_wavelength = d.rope_original_context / d.rope_high_freq_factor;
      if (wavelength > low_wavelength) {
        freq /= d.rope_scale_factor;
      } else if (wavelength >= high_wavelength) {
        const double smooth = (d.rope_original_context / wavelength - d.rope_low_freq_factor) /
                              (d.rope_high_freq_factor - d.rope_low_freq_factor);
        freq = (1 - smooth) * freq / d.rope_scale_factor + smooth * freq;
      }
    }
    inv_freq[i] = float(freq);
  }
  return inv_freq;
}

}  // namespace rs::model
