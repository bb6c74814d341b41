// The embedded default mail "transport": each message becomes a file in a maildir's new/,
// written in tmp/ and renamed (the maildir delivery protocol), for a local agent to forward
// or a person to read. A message with an outbox key is delivered at most once: its file name
// comes from the key, and a second Send of the same key finds it and succeeds.
#pragma once

#include <atomic>
#include <string>

#include "common/clock.h"
#include "drivers/mail/mail.h"

namespace wod::drivers {

struct MaildirOptions {
  std::string dir;  // the maildir; tmp/, new/ and cur/ are created when missing
  MailIdentity identity;
};

class MaildirMailSender : public MailSender {
 public:
  explicit MaildirMailSender(MaildirOptions options,
                             const common::Clock* clock = common::RealClock::Get());

  [[nodiscard]] absl::Status Send(const model::MailMessage& message) override;

 private:
  MaildirOptions options_;
  const common::Clock* clock_;
  std::atomic<int> counter_{0};
};

}  // namespace wod::drivers
