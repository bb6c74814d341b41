// The mail domain's vocabulary: one message for one participant, as the lifecycle planner
// and the notifications outbox hand it to a MailSender. Pure values, no I/O. Bodies may hold
// a participant's credentials, so Describe() never includes them.
#pragma once

#include <string>

#include "model/types.h"

namespace wod::model {

struct MailMessage {
  std::string to;       // one address: local@domain
  std::string subject;  // UTF-8; one line
  std::string text_body;
  std::string html_body;  // UTF-8 HTML; empty: a text-only mail
  // The outbox's idempotency key ("<registration>:<kind>"): every attempt at sending it
  // carries the same Message-ID, so a resend after a lost reply is recognisably the same
  // mail. Empty: a fresh Message-ID each time.
  std::string key;

  // "mail 'KEY' to 'ADDR': SUBJECT" for logs and events.
  std::string Describe() const;
  bool operator==(const MailMessage&) const = default;
};

// The message a notification from the outbox stands for.
MailMessage MailFromNotification(const Notification& n);

}  // namespace wod::model
