#pragma once
// Which SIMD targets the kernels are compiled for. Every kernel source includes
// this before any Highway header, so that all of them agree.
#ifdef HIGHWAY_HWY_DETECT_TARGETS_H_
#error "include core/kernels/simd.h before any Highway header: after one, AVX3_DL would silently be left out"
#endif

// AVX3_DL (AVX-512 with VNNI's vpdpbusd, Ice Lake and later, Zen 4) is opt-in
// in Highway 1.0.3; the int8 dot products are what it is for.
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif

// CPUs with SSSE3 but not SSE4 (2006-2008) are not worth a copy of every kernel.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS HWY_SSSE3
#endif
