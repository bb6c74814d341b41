// An in-memory MailSender for outbox and lifecycle tests: composes every message exactly as
// the real senders do (so bad headers fail the same way), records what was sent, refuses
// chosen recipients like a server's 5xx, and FailNext() injects the next call's error.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "drivers/mail/mail.h"

namespace wod::drivers {

struct SentMail {
  model::MailMessage message;
  std::string text;  // the composed message
};

class FakeMailSender : public MailSender {
 public:
  explicit FakeMailSender(MailIdentity identity = {});

  [[nodiscard]] absl::Status Send(const model::MailMessage& message) override;

  void FailNext(absl::Status status);
  // Sends to `address` fail with InvalidArgument, as a server's 550 on RCPT does.
  void RejectRecipient(std::string address);
  std::vector<SentMail> sent() const;

 private:
  const MailIdentity identity_;
  mutable absl::Mutex mu_;
  std::vector<SentMail> sent_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> rejected_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> fail_next_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wod::drivers
