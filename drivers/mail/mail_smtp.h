// Sends mail over SMTP with libcurl: smtp://host:port (optionally upgraded with STARTTLS) or
// smtps://host:port, with optional authentication. The password is never logged and never
// appears in an error.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "common/clock.h"
#include "drivers/mail/mail.h"

namespace wod::drivers {

struct SmtpOptions {
  std::string url = "smtp://127.0.0.1:25";  // smtp:// or smtps://; no credentials in it
  MailIdentity identity;
  enum class Tls {
    kNone,             // plain SMTP (a local relay)
    kStartTlsIfOffer,  // upgrade when the server offers STARTTLS; with a username: kRequired
    kRequired,         // STARTTLS (or smtps) or fail with FailedPrecondition
  };
  Tls tls = Tls::kNone;
  std::string username;  // empty: no AUTH
  std::string password;  // secret
  absl::Duration timeout = absl::Seconds(30);
};

class SmtpMailSender : public MailSender {
 public:
  explicit SmtpMailSender(SmtpOptions options,
                          const common::Clock* clock = common::RealClock::Get());

  // MAIL FROM, RCPT TO, DATA with the composed message. 4xx replies and transport failures
  // are Unavailable; a 5xx to RCPT is InvalidArgument (the address is refused), any other
  // 5xx FailedPrecondition.
  [[nodiscard]] absl::Status Send(const model::MailMessage& message) override;

 private:
  SmtpOptions options_;
  const common::Clock* clock_;
};

}  // namespace wod::drivers
