// The in-memory mail sender.
#include "drivers/mail/mail_fake.h"

#include "absl/strings/str_cat.h"
#include "drivers/mail/compose.h"

namespace wod::drivers {

FakeMailSender::FakeMailSender(MailIdentity identity) : identity_(std::move(identity)) {}

void FakeMailSender::FailNext(absl::Status status) {
  absl::MutexLock lock(&mu_);
  fail_next_ = std::move(status);
}

void FakeMailSender::RejectRecipient(std::string address) {
  absl::MutexLock lock(&mu_);
  rejected_.insert(std::move(address));
}

std::vector<SentMail> FakeMailSender::sent() const {
  absl::MutexLock lock(&mu_);
  return sent_;
}

absl::Status FakeMailSender::Send(const model::MailMessage& message) {
  absl::MutexLock lock(&mu_);
  if (fail_next_) {
    absl::Status s = *std::move(fail_next_);
    fail_next_.reset();
    return s;
  }
  const std::string domain = MessageIdDomain(identity_);
  // A fixed date keeps the recorded text comparable across runs; ids follow the real rule.
  ComposeParams params{
      .identity = identity_,
      .date = absl::FromUnixSeconds(1'800'000'000),
      .message_id = MessageIdForKey(
          message.key.empty() ? absl::StrCat("fake-", sent_.size()) : message.key, domain),
  };
  absl::StatusOr<std::string> text = ComposeMail(message, params);
  if (!text.ok()) return text.status();
  if (rejected_.count(message.to) > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(message.Describe(), ": recipient refused: 550 mailbox unavailable"));
  }
  sent_.push_back({message, *std::move(text)});
  return absl::OkStatus();
}

}  // namespace wod::drivers
