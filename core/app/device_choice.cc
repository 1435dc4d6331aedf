#include "core/app/device_choice.h"

#include <map>
#include <stdexcept>

#include "gpu/device.h"

namespace rs {

CLI::Option* add_device_option(CLI::App& command, Device& device, const std::string& description) {
  return command.add_option("--device", device, description)
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, Device>{{"auto", Device::automatic}, {"cpu", Device::cpu}, {"cuda", Device::cuda}},
          CLI::ignore_case))
      ->default_str("auto");
}

bool resolves_to_cuda(Device device) {
  if (device == Device::cpu) return false;
  std::string why_none;
  const bool visible = !gpu::visible_devices(why_none).empty();
  if (device == Device::cuda && !visible) throw std::runtime_error("--device cuda: no usable CUDA device: " + why_none);
  return visible;
}

}  // namespace rs
