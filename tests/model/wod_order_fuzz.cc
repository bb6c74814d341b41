// Fuzz target for WoD order mails (model/wod_order.h). Properties checked, whatever the bytes:
//  - ParseWodOrderMail never crashes or throws, and refuses only with InvalidArgument;
//  - an accepted order is well formed: a seat > 0, a plain participant id and workshop name
//    (no byte that could mean anything to a shell or a path), an email only for CREATE;
//  - the order rebuilt as a plain mail (without its Message-ID) parses back to the same order.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "model/wod_order.h"

namespace {

void Fail(const char* what, absl::string_view input) {
  std::fprintf(stderr, "wod_order_fuzz: %s\n%.*s\n", what, static_cast<int>(input.size()),
               input.data());
  std::abort();
}

bool Plain(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wod::model;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const auto order = ParseWodOrderMail(input);
  if (!order.ok()) {
    if (order.status().code() != absl::StatusCode::kInvalidArgument) Fail("odd code", input);
    return 0;
  }
  if (order->seat <= 0) Fail("seat <= 0", input);
  if (!Plain(order->participant_id) || !Plain(order->workshop)) Fail("unsafe token", input);
  if ((order->verb == Verb::kCreate) != !order->email.empty()) Fail("email vs verb", input);
  std::string subject =
      absl::StrCat(VerbName(order->verb), " ", order->seat, " ", order->participant_id);
  if (order->verb == Verb::kCreate) absl::StrAppend(&subject, " ", order->email);
  std::string again = absl::StrCat("Subject: ", subject, "\r\n");
  if (!order->sender.empty()) absl::StrAppend(&again, "From: <", order->sender, ">\r\n");
  absl::StrAppend(&again, "\r\n", order->workshop, "\r\n");
  auto back = ParseWodOrderMail(again);
  if (!back.ok()) Fail("rebuilt order does not parse", again);
  WodOrder expected = *order;
  expected.message_id = "";  // not rebuilt
  if (!(*back == expected)) Fail("rebuilt order differs", again);
  return 0;
}
