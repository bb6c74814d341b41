#include "cli/daemon_common.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace wod::cli {

absl::Status ParseListen(const std::string& text, std::string* host, int* port) {
  const size_t colon = text.rfind(':');
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen '", text, "' is not HOST:PORT (e.g. 127.0.0.1:8080)"));
  };
  if (colon == std::string::npos || colon == 0) return bad();
  *host = text.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (!absl::SimpleAtoi(text.substr(colon + 1), port) || *port < 0 || *port > 65535) {
    return bad();
  }
  return absl::OkStatus();
}

std::string UrlHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace wod::cli
