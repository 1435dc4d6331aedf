#pragma once
// ringperf's command line: `ringperf run` and `ringperf validate`.

namespace rs::ringperf {

int run_cli(int argc, char** argv);

}  // namespace rs::ringperf
