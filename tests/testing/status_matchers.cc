#include "tests/testing/status_matchers.h"

namespace absl {
void PrintTo(const Status& status, std::ostream* os) { *os << status.ToString(); }
}  // namespace absl
