#include "perf/ringperf/cli.h"

int main(int argc, char** argv) { return rs::ringperf::run_cli(argc, argv); }
