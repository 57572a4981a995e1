// augur-forecast: Augur's forecasting model and Prometheus reader on the command line.
#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  cli::CommandEnv env;
  env.in = &std::cin;
  env.out = &std::cout;
  env.err = &std::cerr;
  return cli::RunForecastCli(argc, argv, env);
}
