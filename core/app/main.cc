#include "core/app/cli.h"

int main(int argc, char** argv) { return rs::run_cli(argc, argv); }
