#pragma once
// Flag values as Augur's command-line tools read them. Every error is a UsageError
// (common/cli.h) that names the flag and says what is expected.
//
// Thread-safety: pure functions.

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace common {

// A duration flag (`text` as ParseDuration reads it: 30s, 5m, 1h30m, a bare number of
// seconds), in seconds. Errors: "--<flag>: invalid duration ...".
absl::StatusOr<double> DurationFlagSeconds(absl::string_view flag, absl::string_view text);

// Several duration flags at once, into their `seconds`; the first bad flag is the error
// (an empty text is one: "--period: invalid duration \"\": it is empty").
struct DurationFlag {
  absl::string_view flag;
  const std::string& text;
  double* seconds;
};
absl::Status ParseDurationFlags(std::initializer_list<DurationFlag> flags);

// The same for flags without a default: an empty text (the flag was not given) leaves
// its `seconds` as it is.
absl::Status ParseOptionalDurationFlags(std::initializer_list<DurationFlag> flags);

// A point in time: unix seconds ("1700000000", "1700000000.5"), "now", "now-<duration>"
// ("now-7d") or RFC 3339 ("2026-11-20T00:00:00Z"); `now` in unix seconds. Returns unix
// seconds.
absl::StatusOr<double> TimeFlag(absl::string_view flag, absl::string_view text, double now);

// The NAME=VALUE items of a repeatable flag (--header, --param). Errors name the flag and
// show `example`, never the item (a header may carry a secret).
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> KeyValueFlag(
    absl::string_view flag, const std::vector<std::string>& items, absl::string_view example);

}  // namespace common
