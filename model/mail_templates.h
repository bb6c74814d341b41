// The texts of the lifecycle's mails (welcome, credentials, reminder, final, apology,
// milestone): pure composition of a subject, a text body and a simple HTML body from plain
// facts. No I/O, clock or randomness. Subjects never carry a secret; the password appears only
// in the credentials mail's bodies. Every value put into HTML is escaped.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace wod::model {

struct MailText {
  std::string subject;
  std::string text_body;
  std::string html_body;
};

// What the mails of one registration talk about.
struct MailFacts {
  std::string participant_name;  // "" when unknown: "Hello,"
  std::string workshop_id;       // WKSHP-...
  std::string workshop_name;     // the catalog's title; "" falls back to the id
  absl::Duration duration;       // deadline - start
  absl::Time deadline;
  std::string portal_url;  // the public base URL
  std::string page_url;    // the participant page; "" when unknown (the portal instead)
};

struct CredentialFacts {
  std::string hub_login_url;
  std::string user_name;
  std::string password;  // secret: bodies only
};

MailText WelcomeMail(const MailFacts& f);
MailText CredentialsMail(const MailFacts& f, const CredentialFacts& c);
MailText ReminderMail(const MailFacts& f, absl::Duration left);
// `completion_percent` nullopt: the progress could not be read.
MailText FinalMail(const MailFacts& f, const std::string& badge_url,
                   std::optional<int> completion_percent);
MailText ApologyMail(const MailFacts& f);
MailText MilestoneMail(std::string_view participant_name, int finished,
                       const std::string& portal_url);

// The percentage (0-100, rounded down) of counted code cells executed in a harvested progress
// report (registrations' progress_json); nullopt when it is empty or unreadable.
std::optional<int> CompletionPercent(std::string_view progress_json);

// `text` with &, <, >, " and ' as HTML entities.
std::string HtmlEscape(std::string_view text);

}  // namespace wod::model
