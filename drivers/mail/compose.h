// Pure composition of wod's mails: RFC 5322 headers (Date, From, To, Subject, Message-ID,
// MIME-Version) and a multipart/alternative body with a text and an HTML part, UTF-8 and
// quoted-printable, CRLF line endings. No clock or randomness: the caller passes the date
// and the Message-ID. Every header field is checked, so no input can add a header or a line.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "drivers/mail/mail.h"
#include "model/mail.h"

namespace wod::drivers {

struct ComposeParams {
  MailIdentity identity;
  absl::Time date;
  std::string message_id;  // "local@domain", without the angle brackets
};

// The whole message, ready for SMTP DATA. InvalidArgument when an address, the subject or
// the Message-ID could smuggle a line break or is malformed, or a text is not UTF-8.
[[nodiscard]] absl::StatusOr<std::string> ComposeMail(const model::MailMessage& message,
                                                      const ComposeParams& params);

// A Message-ID for `key` (stable: the same key always gives the same id) under `domain`.
std::string MessageIdForKey(std::string_view key, std::string_view domain);
// The domain Message-IDs use for `identity`.
std::string MessageIdDomain(const MailIdentity& identity);

// An ASCII addr-spec (local@domain) with no whitespace, control or special characters.
[[nodiscard]] absl::Status CheckMailAddress(std::string_view address);
bool IsValidUtf8(std::string_view text);

// Quoted-printable (RFC 2045): lines of at most 76 characters with "=" soft breaks, every
// byte outside printable ASCII and "=" as =XX, trailing blanks encoded, input line breaks (LF
// or CRLF) as CRLF. A "." or "From " opening a line is encoded too, so SMTP dot-stuffing and
// mbox "From " quoting can never alter the text.
std::string EncodeQuotedPrintable(std::string_view text);

// An unstructured header value for "<name>: ": as is when short printable ASCII, otherwise
// RFC 2047 "=?UTF-8?B?...?=" words of whole characters, folded with CRLF SP.
std::string EncodeHeaderText(std::string_view name, std::string_view text);

}  // namespace wod::drivers
