#pragma once
// --device: where a command computes (for `load`, where the bytes go): the
// CPU, CUDA device 0, or auto, which is CUDA wherever a device is visible.
#include <CLI/CLI.hpp>

#include <string>

namespace rs {

enum class Device { automatic, cpu, cuda };

// Adds --device (auto, cpu, cuda; default auto) to `command`.
CLI::Option* add_device_option(CLI::App& command, Device& device, const std::string& description);

// Whether `device` means CUDA on this machine: auto when a device is visible.
// Throws std::runtime_error saying why for cuda where none is usable.
bool resolves_to_cuda(Device device);

}  // namespace rs
