// The lifecycle reconciler and the notifications outbox sender, run once per deployment under
// the global lease "lifecycle" (docs/lifecycle.md). RunOnce loads registrations, seats, seat
// status and the outbox, plans with reconcilers::PlanLifecycle and applies the plan through the
// store (EnqueueNotification, ApplyVerb CLEANUP/PURGE, events). SendDue claims due mails and
// sends each through a MailSender, with capped exponential backoff on failure and a failed
// state after `max_attempts`.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "controller/backoff.h"
#include "drivers/mail/mail.h"
#include "reconcilers/lifecycle_planner.h"
#include "store/store.h"

namespace wod::controller {

struct LifecycleOptions {
  reconcilers::LifecycleConfig plan;
  std::string holder;  // lease holder identity; default "<hostname>:<pid>"
  std::string lease_name = "lifecycle";
  absl::Duration lease_ttl = absl::Seconds(15);
  // Passes run on every desired-state change and at least this often (seat status writes do
  // not wake WaitForChange, so a seat turning Ready is seen within this period).
  absl::Duration resync = absl::Seconds(2);
  // Sleep in store->WaitForChange between passes. A store allows one waiting thread: when the
  // store object is shared with a controller that waits on it (`wod up`), give the lifecycle a
  // store of its own (OpenStore on the same URL) or set this false to wake on `resync` only.
  bool wait_for_changes = true;
  // How long a claimed mail stays hidden from other senders: longer than a send can take
  // (the SMTP driver's timeout), so a live sender is never overtaken.
  absl::Duration claim_ttl = absl::Minutes(2);
  int batch = 20;  // mails claimed per SendDue round
  // Attempts (claims) after which a mail that still fails is marked failed for good.
  int max_attempts = 8;
  BackoffPolicy backoff{.base = absl::Seconds(30), .cap = absl::Hours(1)};
  std::function<double()> jitter;  // a factor in [0.5, 1]; default random; tests pin it
  // The secret participant page tokens are derived from (the API's, api.secret_file). Set: the
  // mails of registrations whose token was derived under it link the participant page
  // (<public_base_url>/p/<token>); the outbox holds a placeholder and SendDue puts the token
  // in. Empty: the mails link the portal.
  std::string participant_token_secret;
};

struct LifecycleRunResult {
  int mails_enqueued = 0;
  int cleanups = 0;
  int purges = 0;
  int moves = 0;    // registrations moved off a dead location (failover)
  int skipped = 0;  // verbs not applied: the seat no longer held the registration
  int errors = 0;   // actions that failed (logged; planned again next pass)
};

struct SendResult {
  int sent = 0;
  int retried = 0;  // failed, rescheduled
  int failed = 0;   // failed for good
};

class Lifecycle {
 public:
  Lifecycle(store::Store* store, drivers::MailSender* sender, LifecycleOptions options,
            common::Clock* clock = common::RealClock::Get());

  // One planning pass at `now`: load, plan, apply; plans again after verbs so their mails
  // (apology) are enqueued in the same call. Does not need the lease (Run holds it).
  absl::StatusOr<LifecycleRunResult> RunOnce(absl::Time now);
  // Claims and sends the mails due at `now`, until none is left.
  absl::StatusOr<SendResult> SendDue(absl::Time now);

  // Runs until `stop`: waits for the lease, then RunOnce + SendDue on every change and every
  // `resync`, renewing the lease; releases it on the way out.
  absl::Status Run(const std::atomic<bool>& stop);

  // The delay before attempt `attempts + 1` of a mail that failed `attempts` times (at least
  // one second, so one SendDue call can never spin on a failing mail).
  absl::Duration RetryDelay(int attempts) const;

 private:
  absl::Status ApplyVerb(const reconcilers::LifecycleAction& a, absl::Time now,
                         LifecycleRunResult* result);
  void Event(const std::string& location, std::optional<int> seat, const std::string& kind,
             const std::string& reason, const std::string& message, absl::Time now);

  store::Store* store_;
  drivers::MailSender* sender_;
  LifecycleOptions options_;
  common::Clock* clock_;
};

}  // namespace wod::controller
