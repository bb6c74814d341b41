// The mail driver: sends one composed message per call. Implementations: SmtpMailSender
// (libcurl, SMTP with optional STARTTLS and auth), MaildirMailSender (the embedded default:
// writes into a maildir's new/ for a local agent or a person to pick up) and FakeMailSender.
//
// Error codes say what the outbox does next:
//   Unavailable         server unreachable, timed out, or answered 4xx: retry later
//   InvalidArgument     the message cannot be sent as it is: header injection attempt,
//                       malformed address, invalid UTF-8, recipient refused (5xx on RCPT)
//   FailedPrecondition  the server refused for good (other 5xx), TLS required but missing
//   PermissionDenied    authentication refused; maildir not writable
#pragma once

#include <string>

#include "absl/status/status.h"
#include "model/mail.h"

namespace wod::drivers {

// Who wod's mails come from, shared by every sender.
struct MailIdentity {
  std::string from_address = "wod@localhost";
  std::string from_name = "Workshops on Demand";
  // Right-hand side of Message-IDs; empty: the domain of from_address.
  std::string message_id_domain;
};

class MailSender {
 public:
  virtual ~MailSender() = default;
  [[nodiscard]] virtual absl::Status Send(const model::MailMessage& message) = 0;
};

}  // namespace wod::drivers
