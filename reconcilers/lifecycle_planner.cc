// Plans the lifecycle of registrations: mails into the outbox, CLEANUP at the deadline, PURGE
// of seats that never became Ready.
#include "reconcilers/lifecycle_planner.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "model/mail_templates.h"

namespace wod::reconcilers {
namespace {

using Kind = LifecycleAction::Kind;

struct Planner {
  const LifecycleInput& in;
  const LifecycleConfig& cfg;
  std::vector<LifecycleAction> out;

  bool Enqueued(const std::string& key) const { return in.enqueued.count(key) > 0; }

  const model::Participant* ParticipantOf(const model::Registration& r) const {
    auto it = in.participants.find(r.participant_id);
    if (it == in.participants.end() || it->second.email.empty()) return nullptr;
    return &it->second;
  }

  model::MailFacts Facts(const model::Registration& r, const model::Participant& p) const {
    model::MailFacts f;
    f.participant_name = p.name;
    f.workshop_id = r.workshop;
    if (auto w = in.workshops.find(r.workshop); w != in.workshops.end()) {
      f.workshop_name = w->second.name;
    }
    f.duration = r.deadline - r.start;  // the registration's own (extended, or not the default)
    f.deadline = r.deadline;
    f.portal_url = cfg.public_base_url;
    if (auto u = in.page_urls.find(r.id); u != in.page_urls.end()) f.page_url = u->second;
    return f;
  }

  void Mail(const model::Registration& r, const model::Participant& p, const std::string& kind,
            const model::MailText& text, std::string reason) {
    LifecycleAction a;
    a.kind = Kind::kEnqueueMail;
    a.registration_id = r.id;
    a.location = r.location;
    a.seat = r.seat;
    a.mail.key = MailKey(r.id, kind);
    a.mail.registration_id = r.id;
    a.mail.kind = kind;
    a.mail.recipient = p.email;
    a.mail.subject = text.subject;
    a.mail.text_body = text.text_body;
    a.mail.html_body = text.html_body;
    a.reason = std::move(reason);
    out.push_back(std::move(a));
  }

  void Verb(const model::Registration& r, Kind kind, std::string reason) {
    LifecycleAction a;
    a.kind = kind;
    a.registration_id = r.id;
    a.location = r.location;
    a.seat = r.seat;
    a.reason = std::move(reason);
    out.push_back(std::move(a));
  }

  std::string HubLoginUrl(const std::string& location) const {
    if (auto hub = in.hub_urls.find(location); hub != in.hub_urls.end()) {
      return model::HubLoginUrl(hub->second);
    }
    auto it = cfg.hub_login_urls.find(location);
    if (it != cfg.hub_login_urls.end()) return it->second;
    return absl::StrCat(cfg.public_base_url, "/hub/login");
  }

  const std::string& UserPrefix(const std::string& location) const {
    auto it = in.user_prefixes.find(location);
    return it != in.user_prefixes.end() ? it->second : cfg.user_prefix;
  }

  std::string BadgeUrl(const std::string& workshop) const {
    auto w = in.workshops.find(workshop);
    if (w == in.workshops.end() || w->second.badge_img.empty()) return "";
    const std::string base = cfg.badge_base_url.empty()
                                 ? absl::StrCat(cfg.public_base_url, "/badges")
                                 : cfg.badge_base_url;
    return absl::StrCat(base, "/", w->second.badge_img, ".png");
  }

  void Active(const model::Registration& r) {
    if (in.now >= r.deadline) {
      Verb(r, Kind::kCleanup, absl::StrCat("deadline ", common::FormatTime(r.deadline), " passed"));
      return;
    }
    const model::Participant* p = ParticipantOf(r);
    if (p != nullptr && !Enqueued(MailKey(r.id, "welcome"))) {
      Mail(r, *p, "welcome", model::WelcomeMail(Facts(r, *p)), "new registration");
    }
    auto seat = in.seats.find({r.location, r.seat});
    const bool ready =
        seat != in.seats.end() && seat->second.occupant == r.id && seat->second.ready;
    const bool credentials_sent = Enqueued(MailKey(r.id, "credentials"));
    if (ready && !credentials_sent && p != nullptr) {
      model::CredentialFacts c{.hub_login_url = HubLoginUrl(r.location),
                               .user_name = absl::StrCat(UserPrefix(r.location), r.seat),
                               .password = seat->second.password};
      Mail(r, *p, "credentials", model::CredentialsMail(Facts(r, *p), c), "seat is Ready");
    } else if (!ready && !credentials_sent && in.now >= r.start + cfg.ready_timeout) {
      Verb(r, Kind::kPurge,
           absl::StrCat("seat not Ready ", absl::FormatDuration(cfg.ready_timeout),
                        " after registration"));
      return;
    } else if (!ready && !credentials_sent) {
      auto dead = in.dead_since.find(r.location);
      if (dead != in.dead_since.end() && in.now - dead->second >= cfg.failover_after) {
        Verb(r, Kind::kMove,
             absl::StrCat("location '", r.location, "' not live since ",
                          common::FormatTime(dead->second)));
        return;
      }
    }
    const absl::Time remind_at = r.deadline - cfg.reminder_lead;
    if (p != nullptr && (ready || credentials_sent) && r.deadline - r.start > cfg.reminder_lead &&
        in.now >= remind_at && !Enqueued(MailKey(r.id, "reminder"))) {
      Mail(r, *p, "reminder", model::ReminderMail(Facts(r, *p), r.deadline - in.now),
           absl::StrCat("deadline ", common::FormatTime(r.deadline), " within ",
                        absl::FormatDuration(cfg.reminder_lead)));
    }
  }

  bool Recent(const model::Registration& r) const {
    return r.ended.has_value() && in.now - *r.ended <= cfg.ended_window;
  }

  void Ended(const model::Registration& r) {
    const model::Participant* p = ParticipantOf(r);
    if (p == nullptr) return;
    if (r.state == model::RegistrationState::kFailed) {
      if (!Enqueued(MailKey(r.id, "apology"))) {
        Mail(r, *p, "apology", model::ApologyMail(Facts(r, *p)), "registration was purged");
      }
      return;
    }
    if (Enqueued(MailKey(r.id, "final"))) return;
    const bool harvested = !r.progress_json.empty();
    if (!harvested && in.now < *r.ended + cfg.harvest_wait) return;  // wait for the harvest
    Mail(r, *p, "final",
         model::FinalMail(Facts(r, *p), BadgeUrl(r.workshop),
                          model::CompletionPercent(r.progress_json)),
         harvested ? "registration ended and was harvested"
                   : absl::StrCat("registration ended, no harvest after ",
                                  absl::FormatDuration(cfg.harvest_wait)));
  }

  void Milestones(const std::map<int64_t, const model::Registration*>& latest_ended) {
    std::vector<int> milestones = cfg.milestones;
    std::sort(milestones.begin(), milestones.end());
    for (const auto& [pid, r] : latest_ended) {
      const model::Participant* p = ParticipantOf(*r);
      if (p == nullptr) continue;
      auto f = in.finished.find(pid);
      const int finished = f == in.finished.end() ? 0 : f->second;
      for (int n : milestones) {
        if (n > finished) break;
        const std::string key = MilestoneKey(pid, n);
        if (Enqueued(key)) continue;
        LifecycleAction a;
        a.kind = Kind::kEnqueueMail;
        a.registration_id = r->id;
        a.location = r->location;
        a.seat = r->seat;
        a.mail.key = key;
        a.mail.registration_id = r->id;
        a.mail.kind = absl::StrCat("milestone-", n);
        a.mail.recipient = p->email;
        const model::MailText t = model::MilestoneMail(p->name, n, cfg.public_base_url);
        a.mail.subject = t.subject;
        a.mail.text_body = t.text_body;
        a.mail.html_body = t.html_body;
        a.reason = absl::StrCat("participant finished ", finished, " workshops");
        out.push_back(std::move(a));
      }
    }
  }
};

}  // namespace

std::string MailKey(int64_t registration_id, const std::string& kind) {
  return absl::StrCat(registration_id, ":", kind);
}

std::string MilestoneKey(int64_t participant_id, int n) {
  return absl::StrCat(participant_id, ":milestone-", n);
}

std::string LifecycleAction::Describe() const {
  switch (kind) {
    case Kind::kEnqueueMail:
      return absl::StrCat("enqueue mail '", mail.key, "' (", reason, ")");
    case Kind::kCleanup:
    case Kind::kPurge:
      return absl::StrCat(kind == Kind::kCleanup ? "CLEANUP" : "PURGE", " seat ", location, "/",
                          seat, " of registration ", registration_id, " (", reason, ")");
    case Kind::kMove:
      return absl::StrCat("MOVE registration ", registration_id, " off seat ", location, "/", seat,
                          " (", reason, ")");
  }
  return "";
}

std::vector<LifecycleAction> PlanLifecycle(const LifecycleInput& input,
                                           const LifecycleConfig& config) {
  Planner planner{input, config, {}};
  std::vector<const model::Registration*> regs;
  for (const auto& r : input.registrations) regs.push_back(&r);
  std::sort(regs.begin(), regs.end(), [](auto* a, auto* b) { return a->id < b->id; });
  std::map<int64_t, const model::Registration*> latest_ended;  // participant -> registration
  for (const model::Registration* r : regs) {
    if (r->state == model::RegistrationState::kActive) {
      planner.Active(*r);
    } else if (planner.Recent(*r)) {
      planner.Ended(*r);
      if (r->state == model::RegistrationState::kEnded) latest_ended[r->participant_id] = r;
    }
  }
  planner.Milestones(latest_ended);
  return std::move(planner.out);
}

}  // namespace wod::reconcilers
