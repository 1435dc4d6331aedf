#pragma once
// The device's memory bandwidth as one large device-to-device copy measures
// it: the ceiling that decode (which streams every weight once per step) is
// compared with in perf/.
namespace rs::gpu {

// GB/s (1e9 bytes) of a 2 GiB device-to-device cudaMemcpyAsync on `device`
// (less where less memory is free), counting the bytes read plus the bytes
// written: the median of 20 copies timed with CUDA events after a warm-up,
// over buffers of non-zero data. Throws std::runtime_error naming the CUDA
// call, or saying that the build has no CUDA.
double device_copy_gb_s(int device);

}  // namespace rs::gpu
