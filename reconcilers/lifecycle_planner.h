// Plans the lifecycle of registrations (DESIGN.md "Time drives transitions too"): which mails
// to put into the notifications outbox and which verbs time calls for. Pure and deterministic:
// `now` is an input, and the notifications already enqueued (by idempotency key) are the
// memory of what was done, so planning again after the actions are applied plans nothing.
//
// For an active registration R, in this order:
//   now >= deadline                              CLEANUP (and nothing else)
//   no "<R>:welcome"                             welcome mail
//   seat Ready for R, no "<R>:credentials"       credentials mail
//   never Ready, now >= start + ready_timeout    PURGE
//   not Ready, its location not live for failover_after (and another of the workshop's
//   locations may take it)                       MOVE to a live location
//   credentials sent (or Ready), now >= deadline - reminder_lead, and the registration lasts
//   longer than reminder_lead                    reminder mail
// For a registration that ended within `ended_window`:
//   ended (CLEANUP), harvested or harvest_wait passed   final mail (badge, completion %)
//   failed (PURGE)                                      apology mail
// For a participant with a registration ended within the window whose count of finished
// workshops reached a milestone: a milestone mail per reached milestone, once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "model/types.h"

namespace wod::reconcilers {

struct LifecycleConfig {
  absl::Duration reminder_lead = absl::Hours(1);
  absl::Duration ready_timeout = absl::Minutes(10);
  // A registration waiting for its seat on a location that has not been live for this long
  // is moved to a live location of its workshop: well under ready_timeout, so it is Ready
  // there before the PURGE would end it, and above a controller restart.
  absl::Duration failover_after = absl::Minutes(2);
  // How long the final mail waits for the controller's harvest before going out without
  // the completion.
  absl::Duration harvest_wait = absl::Minutes(10);
  // Ended registrations older than this get no final/apology/milestone mail (a fresh
  // lifecycle on an old store does not mail history).
  absl::Duration ended_window = absl::Hours(24);
  std::vector<int> milestones = {3, 5, 7, 10, 15};
  std::string public_base_url = "http://localhost:8080";
  // Location -> its JupyterHub login page; a missing location uses <public_base_url>/hub/login.
  std::map<std::string, std::string> hub_login_urls;
  // Badges are <badge_base_url>/<badgeImg>.png; empty: <public_base_url>/badges.
  std::string badge_base_url;
  std::string user_prefix = "student";  // hub and Linux user of seat N: <prefix>N
};

// What the lifecycle knows about one seat.
struct LifecycleSeat {
  std::optional<int64_t> occupant;  // registration id
  std::string password;             // the occupant's password (secret)
  // The controller reported the seat Ready for the current desired generation.
  bool ready = false;
};

struct LifecycleInput {
  absl::Time now;
  // Active registrations and registrations ended recently (the planner applies the window).
  std::vector<model::Registration> registrations;
  // By participant id; a participant known only from earlier mails has an email and no name.
  std::map<int64_t, model::Participant> participants;
  std::map<std::pair<std::string, int>, LifecycleSeat> seats;  // (location, number)
  std::set<std::string> enqueued;                              // idempotency keys
  std::map<std::string, model::Workshop> workshops;            // by id
  std::map<int64_t, int> finished;  // participant id -> registrations ended by CLEANUP
  // Registration id -> its participant page URL, when known (the page token is a secret only
  // the registration response sees; without it the mails link the portal).
  std::map<int64_t, std::string> page_urls;
  // Location -> the base URL of its JupyterHub (`wod location set --hub-url`), where set:
  // the mails' login link, before LifecycleConfig::hub_login_urls.
  std::map<std::string, std::string> hub_urls;
  // Location -> the user prefix its controller recorded; missing: LifecycleConfig::user_prefix.
  std::map<std::string, std::string> user_prefixes;
  // Locations whose controller is not live (store::LocationHealth), with when it stopped
  // being live: their waiting registrations may move.
  std::map<std::string, absl::Time> dead_since;
};

struct LifecycleAction {
  enum class Kind { kEnqueueMail, kCleanup, kPurge, kMove };
  Kind kind = Kind::kEnqueueMail;
  int64_t registration_id = 0;
  std::string location;
  int seat = 0;
  model::Notification mail;  // kEnqueueMail: key, kind, recipient, subject, bodies
  std::string reason;
  // "enqueue mail 'KEY' (REASON)" / "CLEANUP seat LOC/N of registration R (REASON)": no
  // secret, safe for logs and events.
  std::string Describe() const;
};

// The idempotency keys: "<registration>:<kind>" and "<participant>:milestone-<n>".
std::string MailKey(int64_t registration_id, const std::string& kind);
std::string MilestoneKey(int64_t participant_id, int n);

std::vector<LifecycleAction> PlanLifecycle(const LifecycleInput& input,
                                           const LifecycleConfig& config);

}  // namespace wod::reconcilers
