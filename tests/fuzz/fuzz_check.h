#pragma once
// FUZZ_CHECK: a property a fuzz target asserts about the code under test. On failure it
// prints the condition and aborts, which libFuzzer (and replay_main.cc) report as a
// finding with the input that caused it. Unlike assert(), it is never compiled out.

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                          \
  do {                                                                            \
    if (!(cond)) {                                                                \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                        \
      std::abort();                                                               \
    }                                                                             \
  } while (0)
