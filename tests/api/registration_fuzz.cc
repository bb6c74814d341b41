// Fuzz target for the registration body validator (api/registration_body.h). Properties:
//  - parsing never crashes or throws, whatever the bytes;
//  - a rejected body gives a 400 with a code, and an error that serializes; the error never
//    contains the email the body carried (unless a key of the body spells it);
//  - an accepted body holds only what the validator promises (id charset and length, a
//    lowercase valid email, a non-empty name without control characters);
//  - round trip: an accepted body written back as JSON is accepted again, unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "api/registration_body.h"
#include "model/validate.h"

namespace {

void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "registration_fuzz: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wod::api;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const EmailDenyList deny({"denied.example", "someone@example.com"});
  RegistrationBody body;
  std::optional<ApiError> err = ParseRegistrationBody(text, deny, &body);
  if (err) {
    if (err->http_status != 400 || err->code.empty()) Fail("bad error", err->code);
    std::string dumped = Dump(err->ToJson());
    nlohmann::json input = nlohmann::json::parse(text, nullptr, false);
    if (input.is_object() && input.contains("email") && input["email"].is_string()) {
      std::string email = input["email"];
      bool key_spells_it = false;
      for (const auto& [k, v] : input.items()) key_spells_it |= k.find(email) != std::string::npos;
      if (email.size() >= 6 && !key_spells_it && dumped.find(email) != std::string::npos) {
        Fail("error echoes the email", dumped);
      }
    }
    return 0;
  }
  if (body.workshop.empty() || body.workshop.size() > kMaxWorkshopIdLength) {
    Fail("workshop length", body.workshop);
  }
  if (body.email != absl::AsciiStrToLower(body.email) ||
      !wod::model::ValidateEmail(body.email).ok()) {
    Fail("email", body.email);
  }
  if (deny.Denies(body.email)) Fail("denied email accepted", body.email);
  if (body.name.empty() || body.name.size() > kMaxNameLength) Fail("name", body.name);
  for (unsigned char c : body.name + body.company) {
    if (c < 0x20 || c == 0x7f) Fail("control character", body.name + body.company);
  }
  nlohmann::json again = {{"workshop", body.workshop},
                          {"email", body.email},
                          {"name", body.name},
                          {"company", body.company},
                          {"accept_terms", true}};
  RegistrationBody body2;
  if (auto e = ParseRegistrationBody(Dump(again), deny, &body2))
    Fail("round trip rejected", e->code);
  if (!(body2 == body)) Fail("round trip changed the body", Dump(again));
  return 0;
}
