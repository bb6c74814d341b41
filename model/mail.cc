// The mail domain's vocabulary.
#include "model/mail.h"

#include "absl/strings/str_cat.h"

namespace wod::model {

std::string MailMessage::Describe() const {
  return absl::StrCat("mail '", key, "' to '", to, "': ", subject);
}

MailMessage MailFromNotification(const Notification& n) {
  return MailMessage{.to = n.recipient,
                     .subject = n.subject,
                     .text_body = n.text_body,
                     .html_body = n.html_body,
                     .key = n.key};
}

}  // namespace wod::model
