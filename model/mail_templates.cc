// The texts of the lifecycle's mails.
#include "model/mail_templates.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "model/progress.h"

namespace wod::model {
namespace {

std::string Greeting(std::string_view name) {
  return name.empty() ? "Hello," : absl::StrCat("Hello ", std::string(name), ",");
}

std::string Title(const MailFacts& f) {
  return f.workshop_name.empty() ? f.workshop_id : f.workshop_name;
}

std::string PageUrl(const MailFacts& f) { return f.page_url.empty() ? f.portal_url : f.page_url; }

std::string PageLabel(const MailFacts& f) {
  return f.page_url.empty() ? "Open the workshop portal" : "Open your workshop page";
}

// A simple HTML document: a greeting, paragraphs (already escaped), an optional button.
std::string Html(std::string_view greeting, const std::vector<std::string>& paragraphs,
                 const std::string& button_url, const std::string& button_label) {
  std::string out =
      absl::StrCat("<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n<p>",
                   HtmlEscape(greeting), "</p>\n");
  for (const auto& p : paragraphs) absl::StrAppend(&out, "<p>", p, "</p>\n");
  if (!button_url.empty()) {
    absl::StrAppend(&out, "<p><a href=\"", HtmlEscape(button_url),
                    "\" style=\"display: inline-block; padding: 10px 16px; background: #01a982; "
                    "color: #ffffff; text-decoration: none; border-radius: 4px\">",
                    HtmlEscape(button_label), "</a></p>\n");
  }
  absl::StrAppend(&out, "<p>The Workshops on Demand team</p>\n</body></html>\n");
  return out;
}

std::string Signature() { return "\nThe Workshops on Demand team\n"; }

std::string HoursText(absl::Duration d) {
  const int64_t minutes = absl::ToInt64Minutes(d);
  if (minutes >= 60 && minutes % 60 == 0) {
    const int64_t h = minutes / 60;
    return absl::StrCat(h, h == 1 ? " hour" : " hours");
  }
  return absl::StrCat(minutes, minutes == 1 ? " minute" : " minutes");
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

MailText WelcomeMail(const MailFacts& f) {
  MailText m;
  m.subject = absl::StrCat("Welcome to the workshop ", Title(f));
  const std::string when = common::FormatTime(f.deadline);
  m.text_body =
      absl::StrCat(Greeting(f.participant_name), "\n\nThank you for registering for the workshop ",
                   Title(f), " (", f.workshop_id,
                   ").\nYour seat is being prepared: a second mail brings your login "
                   "details as soon as it is ready.\nThe workshop lasts ",
                   HoursText(f.duration), " and ends at ", when, ".\n\n", PageLabel(f), ": ",
                   PageUrl(f), "\n", Signature());
  m.html_body =
      Html(Greeting(f.participant_name),
           {absl::StrCat("Thank you for registering for the workshop <b>", HtmlEscape(Title(f)),
                         "</b> (", HtmlEscape(f.workshop_id), ")."),
            "Your seat is being prepared: a second mail brings your login details as soon as it is "
            "ready.",
            absl::StrCat("The workshop lasts ", HoursText(f.duration), " and ends at ",
                         HtmlEscape(when), ".")},
           PageUrl(f), PageLabel(f));
  return m;
}

MailText CredentialsMail(const MailFacts& f, const CredentialFacts& c) {
  MailText m;
  m.subject = absl::StrCat("Your seat for ", Title(f), " is ready");
  const std::string when = common::FormatTime(f.deadline);
  m.text_body =
      absl::StrCat(Greeting(f.participant_name), "\n\nYour seat for the workshop ", Title(f),
                   " is ready.\n\nLog in at: ", c.hub_login_url, "\nUser name: ", c.user_name,
                   "\nPassword: ", c.password, "\n\nYour seat is yours until ", when, ".\n",
                   PageLabel(f), ": ", PageUrl(f), "\n", Signature());
  m.html_body =
      Html(Greeting(f.participant_name),
           {absl::StrCat("Your seat for the workshop <b>", HtmlEscape(Title(f)), "</b> is ready."),
            absl::StrCat("Log in at: <a href=\"", HtmlEscape(c.hub_login_url), "\">",
                         HtmlEscape(c.hub_login_url), "</a><br>\nUser name: <code>",
                         HtmlEscape(c.user_name), "</code><br>\nPassword: <code>",
                         HtmlEscape(c.password), "</code>"),
            absl::StrCat("Your seat is yours until ", HtmlEscape(when), ".")},
           PageUrl(f), PageLabel(f));
  return m;
}

MailText ReminderMail(const MailFacts& f, absl::Duration left) {
  MailText m;
  m.subject = absl::StrCat("Your workshop ", Title(f), " ends in ", HoursText(left));
  const std::string when = common::FormatTime(f.deadline);
  m.text_body = absl::StrCat(Greeting(f.participant_name), "\n\nYour workshop ", Title(f),
                             " ends at ", when, ", in ", HoursText(left),
                             ". Your seat and its files are wiped then: save what you want "
                             "to keep.\n\n",
                             PageLabel(f), ": ", PageUrl(f), "\n", Signature());
  m.html_body = Html(Greeting(f.participant_name),
                     {absl::StrCat("Your workshop <b>", HtmlEscape(Title(f)), "</b> ends at ",
                                   HtmlEscape(when), ", in ", HoursText(left), "."),
                      "Your seat and its files are wiped then: save what you want to keep."},
                     PageUrl(f), PageLabel(f));
  return m;
}

MailText FinalMail(const MailFacts& f, const std::string& badge_url,
                   std::optional<int> completion_percent) {
  MailText m;
  m.subject = absl::StrCat("Thank you for taking ", Title(f));
  const std::string completion =
      completion_percent
          ? absl::StrCat("You completed ", *completion_percent, "% of the workshop's exercises.")
          : std::string("Your progress could not be measured this time.");
  m.text_body = absl::StrCat(Greeting(f.participant_name), "\n\nYour workshop ", Title(f),
                             " has ended. ", completion, "\n",
                             badge_url.empty() ? "" : absl::StrCat("Your badge: ", badge_url, "\n"),
                             "\nMore workshops: ", f.portal_url, "\n", Signature());
  std::vector<std::string> paragraphs = {
      absl::StrCat("Your workshop <b>", HtmlEscape(Title(f)), "</b> has ended."),
      HtmlEscape(completion)};
  if (!badge_url.empty()) {
    paragraphs.push_back(absl::StrCat("<img src=\"", HtmlEscape(badge_url), "\" alt=\"",
                                      HtmlEscape(Title(f)), " badge\" width=\"160\">"));
  }
  m.html_body = Html(Greeting(f.participant_name), paragraphs, f.portal_url, "More workshops");
  return m;
}

MailText ApologyMail(const MailFacts& f) {
  MailText m;
  m.subject = absl::StrCat("We could not prepare your seat for ", Title(f));
  m.text_body = absl::StrCat(
      Greeting(f.participant_name), "\n\nWe are sorry: your seat for the workshop ", Title(f),
      " could not be prepared in time, so your registration was cancelled.\nYou are welcome to "
      "register again: ",
      f.portal_url, "\n", Signature());
  m.html_body =
      Html(Greeting(f.participant_name),
           {absl::StrCat("We are sorry: your seat for the workshop <b>", HtmlEscape(Title(f)),
                         "</b> could not be prepared in time, so your registration was cancelled."),
            "You are welcome to register again."},
           f.portal_url, "Register again");
  return m;
}

MailText MilestoneMail(std::string_view participant_name, int finished,
                       const std::string& portal_url) {
  MailText m;
  m.subject = absl::StrCat("You have finished ", finished, " workshops");
  m.text_body = absl::StrCat(Greeting(participant_name), "\n\nCongratulations: you have finished ",
                             finished, " workshops on demand and earned the ", finished,
                             "-workshop badge.\n\nMore workshops: ", portal_url, "\n", Signature());
  m.html_body =
      Html(Greeting(participant_name),
           {absl::StrCat("Congratulations: you have finished <b>", finished,
                         "</b> workshops on demand and earned the ", finished, "-workshop badge.")},
           portal_url, "More workshops");
  return m;
}

std::optional<int> CompletionPercent(std::string_view progress_json) {
  if (progress_json.empty()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(progress_json, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  auto notebooks = ProgressReportFromJson(j);
  if (!notebooks.ok()) return std::nullopt;
  const double fraction = Total(*notebooks).Fraction();
  return std::clamp(static_cast<int>(std::floor(fraction * 100.0 + 1e-9)), 0, 100);
}

}  // namespace wod::model
