#include "api/registration_body.h"

#include <algorithm>
#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "api/json_body.h"
#include "model/validate.h"

namespace wod::api {
namespace {

constexpr std::array<FieldSpec, 5> kRegistrationFields = {{
    {"workshop", JsonType::kString},
    {"email", JsonType::kString},
    {"name", JsonType::kString},
    {"company", JsonType::kString},
    {"accept_terms", JsonType::kBool},
}};

// C0 and DEL, and (the text is valid UTF-8 by now) the C1 controls, the line and paragraph
// separators, and the marks and overrides that change the direction of the text around them:
// in a mail, the dashboard or the CSV export a name could make other text read otherwise.
bool HasControl(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return true;
    const auto next = [&](size_t k) {
      return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0;
    };
    if (c == 0xc2 && next(1) >= 0x80 && next(1) <= 0x9f) return true;  // U+0080..U+009F
    if (c == 0xd8 && next(1) == 0x9c) return true;                     // U+061C
    if (c == 0xe2 && next(1) == 0x80) {
      const unsigned char d = next(2);
      if (d == 0x8e || d == 0x8f) return true;  // U+200E, U+200F
      if (d >= 0xa8 && d <= 0xae) return true;  // U+2028..U+202E
    }
    if (c == 0xe2 && next(1) == 0x81 && next(2) >= 0xa6 && next(2) <= 0xa9) {
      return true;  // U+2066..U+2069
    }
  }
  return false;
}

bool IsWorkshopIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

}  // namespace

EmailDenyList::EmailDenyList(const std::vector<std::string>& entries) {
  for (const std::string& raw : entries) {
    std::string e = absl::AsciiStrToLower(absl::StripAsciiWhitespace(raw));
    if (e.empty()) continue;
    size_t at = e.find('@');
    if (at == 0) {
      domains_.push_back(e.substr(1));
    } else if (at == std::string::npos) {
      domains_.push_back(e);
    } else {
      addresses_.push_back(e);
    }
  }
}

bool EmailDenyList::Denies(std::string_view email) const {
  for (const std::string& a : addresses_) {
    if (email == a) return true;
  }
  size_t at = email.rfind('@');
  if (at == std::string_view::npos) return false;
  std::string_view domain = email.substr(at + 1);
  for (const std::string& d : domains_) {
    if (domain == d) return true;
    if (domain.size() > d.size() && domain.substr(domain.size() - d.size()) == d &&
        domain[domain.size() - d.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

std::optional<ApiError> ParseRegistrationBody(std::string_view text, const EmailDenyList& deny,
                                              RegistrationBody* out) {
  nlohmann::json body;
  if (auto err = ParseJsonBody(text, &body)) return err;
  if (auto err = CheckFields(body, kRegistrationFields)) return err;

  RegistrationBody r;
  std::string workshop = body["workshop"].get<std::string>();
  r.workshop = std::string(absl::StripAsciiWhitespace(workshop));
  if (r.workshop.empty() || r.workshop.size() > kMaxWorkshopIdLength ||
      !std::all_of(r.workshop.begin(), r.workshop.end(), IsWorkshopIdChar)) {
    return BadRequest("invalid_field", "workshop",
                      "field 'workshop' must be a workshop id such as \"WKSHP-API101\"");
  }

  std::string email = body["email"].get<std::string>();
  r.email = absl::AsciiStrToLower(absl::StripAsciiWhitespace(email));
  // model::ValidateEmail quotes the address in its message: the API never echoes it.
  if (!model::ValidateEmail(r.email).ok()) {
    return BadRequest("invalid_field", "email", "field 'email' is not a valid email address");
  }

  std::string name = body["name"].get<std::string>();
  r.name = std::string(absl::StripAsciiWhitespace(name));
  if (r.name.empty()) return BadRequest("invalid_field", "name", "field 'name' is empty");
  if (r.name.size() > kMaxNameLength) {
    return BadRequest("invalid_field", "name",
                      absl::StrCat("field 'name' is longer than ", kMaxNameLength, " bytes"));
  }
  if (HasControl(r.name)) {
    return BadRequest("invalid_field", "name", "field 'name' has control characters");
  }

  std::string company = body["company"].get<std::string>();
  r.company = std::string(absl::StripAsciiWhitespace(company));
  if (r.company.size() > kMaxCompanyLength) {
    return BadRequest("invalid_field", "company",
                      absl::StrCat("field 'company' is longer than ", kMaxCompanyLength, " bytes"));
  }
  if (HasControl(r.company)) {
    return BadRequest("invalid_field", "company", "field 'company' has control characters");
  }

  if (!body["accept_terms"].get<bool>()) {
    return BadRequest("terms_not_accepted", "accept_terms",
                      "the terms must be accepted (accept_terms: true)");
  }
  if (deny.Denies(r.email)) {
    return BadRequest("email_denied", "email", "registrations from this email are not accepted");
  }
  *out = std::move(r);
  return std::nullopt;
}

}  // namespace wod::api
