// The body of POST /api/v1/registrations, parsed and validated as a pure function (no store,
// no clock) so that it can be fuzzed: {"workshop": "WKSHP-...", "email": ..., "name": ...,
// "company": ..., "accept_terms": true}, nothing else.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.h"

namespace wod::api {

struct RegistrationBody {
  std::string workshop;
  std::string email;  // trimmed and lowercased, as the store keeps it
  std::string name;
  std::string company;
  bool operator==(const RegistrationBody&) const = default;
};

// Denied addresses and domains (lowercase). An entry with a local part ("a@b.com") denies
// that address; a domain ("b.com" or "@b.com") denies it and every subdomain of it.
class EmailDenyList {
 public:
  EmailDenyList() = default;
  explicit EmailDenyList(const std::vector<std::string>& entries);
  // `email` is lowercase and valid.
  bool Denies(std::string_view email) const;
  const std::vector<std::string>& addresses() const { return addresses_; }
  const std::vector<std::string>& domains() const { return domains_; }

 private:
  std::vector<std::string> addresses_;
  std::vector<std::string> domains_;
};

// Lengths a field may have (bytes, after trimming surrounding whitespace).
inline constexpr size_t kMaxWorkshopIdLength = 128;
inline constexpr size_t kMaxNameLength = 200;
inline constexpr size_t kMaxCompanyLength = 200;

// Parses and validates. Errors (all 400, naming the field): those of ParseJsonBody and
// CheckFields; `invalid_field` for a workshop id that is empty, too long or not
// [A-Za-z0-9._-]; an email that model::ValidateEmail rejects; an empty or too long name, a
// too long company, or a name/company with control characters; `terms_not_accepted` when
// accept_terms is false; `email_denied` when `deny` denies the email.
std::optional<ApiError> ParseRegistrationBody(std::string_view text, const EmailDenyList& deny,
                                              RegistrationBody* out);

}  // namespace wod::api
