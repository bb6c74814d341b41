// The lifecycle reconciler and the notifications outbox sender.
#include "controller/lifecycle.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/random.h"
#include "common/status.h"
#include "model/mail.h"
#include "model/participant_token.h"

namespace wod::controller {
namespace {

using reconcilers::LifecycleAction;

std::string DefaultHolder() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return absl::StrCat(host, ":", getpid());
}

// Codes that say the message itself can never be sent as it is (a refused recipient, a header
// that would be injected): retrying is useless. Other failures (server down, 4xx, refused
// authentication that an operator may fix) are retried until max_attempts.
bool NeverDeliverable(absl::StatusCode code) { return code == absl::StatusCode::kInvalidArgument; }

// Loads everything the planner looks at. Participants of ended registrations are no longer
// joined to a seat; the store has no participant lookup, so their address comes from the
// mails already enqueued for any registration of theirs (the welcome, normally).
absl::StatusOr<reconcilers::LifecycleInput> Load(store::Store* store,
                                                 const reconcilers::LifecycleConfig& cfg,
                                                 const std::string& token_secret, absl::Time now) {
  reconcilers::LifecycleInput in;
  in.now = now;
  ASSIGN_OR_RETURN(auto registrations, store->ListRegistrations());
  ASSIGN_OR_RETURN(auto seats, store->ListSeats());
  ASSIGN_OR_RETURN(auto statuses, store->ListSeatStatus());
  ASSIGN_OR_RETURN(auto notifications, store->ListNotifications());
  ASSIGN_OR_RETURN(auto workshops, store->ListWorkshops());
  ASSIGN_OR_RETURN(auto locations, store->ListLocationHealth(now));
  for (const auto& h : locations) {
    if (!h.location.hub_url.empty()) in.hub_urls[h.location.name] = h.location.hub_url;
    if (!h.location.user_prefix.empty()) {
      in.user_prefixes[h.location.name] = h.location.user_prefix;
    }
    // Not live since the earlier of its lease lapsing and its last pass growing too old; a
    // lease given up (a clean stop, or a restart) since its last pass.
    if (!h.live && h.last_pass) {
      in.dead_since[h.location.name] =
          h.lease_holder.empty()
              ? *h.last_pass
              : std::min(h.lease_expires, *h.last_pass + store::kLocationLiveFor);
    }
  }

  std::map<int64_t, int64_t> participant_of;  // registration -> participant
  for (auto& r : registrations) {
    participant_of[r.id] = r.participant_id;
    if (r.state == model::RegistrationState::kEnded) in.finished[r.participant_id]++;
    const bool recent = r.ended.has_value() && now - *r.ended <= cfg.ended_window;
    if (r.state == model::RegistrationState::kActive || recent) {
      in.registrations.push_back(std::move(r));
    }
  }
  std::map<std::pair<std::string, int>, const store::SeatStatus*> status_of;
  for (const auto& st : statuses) status_of[{st.location, st.number}] = &st;
  for (auto& v : seats) {
    reconcilers::LifecycleSeat s;
    s.occupant = v.seat.registration_id;
    if (s.occupant) {
      s.password = v.seat.password;
      auto st = status_of.find({v.seat.location, v.seat.number});
      // A status of an older generation may describe the previous occupant.
      s.ready = model::EffectivePhase(v.seat, st == status_of.end() ? nullptr : st->second) ==
                model::Phase::kReady;
    }
    if (v.participant) in.participants[v.participant->id] = *v.participant;
    in.seats[{v.seat.location, v.seat.number}] = std::move(s);
  }
  for (const auto& n : notifications) {
    in.enqueued.insert(n.key);
    if (!n.registration_id) continue;
    auto p = participant_of.find(*n.registration_id);
    if (p == participant_of.end()) continue;
    auto [it, inserted] = in.participants.try_emplace(p->second);
    if (inserted) {
      it->second.id = p->second;
      it->second.email = n.recipient;
    }
  }
  for (auto& w : workshops) in.workshops[w.id] = std::move(w);
  // Page links of registrations whose token this process can derive: with a placeholder for
  // the token, which SendDue fills in (the outbox never holds a token).
  std::string base = cfg.public_base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string key_id = token_secret.empty() ? "" : model::TokenKeyId(token_secret);
  for (const auto& r : in.registrations) {
    if (!key_id.empty() && r.token_nonce.rfind(key_id + ".", 0) == 0) {
      in.page_urls[r.id] = absl::StrCat(base, "/p/", model::kPageTokenPlaceholder);
    }
  }
  return in;
}

// Puts the participant's page token into the page links of `m` (planned with a placeholder).
// Without the token (the secret changed since the mail was planned) the link falls back to
// the portal: "<base>/p/<placeholder>" becomes "<base>".
void FillPageToken(const std::optional<std::string>& token, model::MailMessage* m) {
  const std::string placeholder = model::kPageTokenPlaceholder;
  const std::string from = token ? placeholder : "/p/" + placeholder;
  const std::string to = token ? *token : "";
  for (std::string* body : {&m->text_body, &m->html_body}) {
    for (size_t at = body->find(from); at != std::string::npos; at = body->find(from, at)) {
      body->replace(at, from.size(), to);
      at += to.size();
    }
  }
}

}  // namespace

Lifecycle::Lifecycle(store::Store* store, drivers::MailSender* sender, LifecycleOptions options,
                     common::Clock* clock)
    : store_(store), sender_(sender), options_(std::move(options)), clock_(clock) {
  if (options_.holder.empty()) options_.holder = DefaultHolder();
  if (!options_.jitter) {
    options_.jitter = [] { return 0.5 + common::RandomUniform(1'000'001) / 2'000'000.0; };
  }
  options_.max_attempts = std::max(1, options_.max_attempts);
}

void Lifecycle::Event(const std::string& location, std::optional<int> seat, const std::string& kind,
                      const std::string& reason, const std::string& message, absl::Time now) {
  store::Event e;
  e.time = now;
  e.location = location;
  e.seat = seat;
  e.kind = kind;
  e.reason = reason;
  e.message = message;
  if (auto s = store_->AppendEvent(e); !s.ok()) {
    WOD_LOG(kWarning, "lifecycle", "recording event {}: {}", kind, std::string(s.message()));
  }
}

absl::Status Lifecycle::ApplyVerb(const LifecycleAction& a, absl::Time now,
                                  LifecycleRunResult* result) {
  if (a.kind == LifecycleAction::Kind::kMove) {
    // The store re-checks, in its transaction, that the registration still waits on that seat
    // and that its location is still not live; otherwise (or with no live free seat) it stays.
    auto moved = store_->MoveRegistration(a.registration_id, a.location, a.seat, now);
    if (!moved.ok()) {
      const absl::StatusCode code = moved.status().code();
      if (code == absl::StatusCode::kFailedPrecondition ||
          code == absl::StatusCode::kResourceExhausted) {
        result->skipped++;
        WOD_LOG(kInfo, "lifecycle", "not moved: {}: {}", a.Describe(),
                std::string(moved.status().message()));
        return absl::OkStatus();
      }
      return moved.status();
    }
    result->moves++;
    const std::string to = absl::StrCat(moved->seat.location, "/", moved->seat.number);
    WOD_LOG(kInfo, "lifecycle", "{}: now on seat {}", a.Describe(), to);
    Event(a.location, a.seat, "lifecycle.move", a.reason,
          absl::StrCat("registration ", a.registration_id, " moved to seat ", to), now);
    Event(moved->seat.location, moved->seat.number, "lifecycle.move", a.reason,
          absl::StrCat("registration ", a.registration_id, " moved here from seat ", a.location,
                       "/", a.seat),
          now);
    return absl::OkStatus();
  }
  // Guarded by the occupant, in the store's transaction: when the seat changed hands since the
  // load (the registration was ended by an admin or the participant and someone else took the
  // seat), nothing changes and the verb is skipped.
  const bool cleanup = a.kind == LifecycleAction::Kind::kCleanup;
  ASSIGN_OR_RETURN(store::VerbResult r,
                   store_->ApplyVerbIfHeldBy(cleanup ? model::Verb::kCleanup : model::Verb::kPurge,
                                             a.location, a.seat, a.registration_id, now));
  if (!r.changed) {
    result->skipped++;
    WOD_LOG(kInfo, "lifecycle", "skipped {}: the seat is no longer held by it", a.Describe());
    return absl::OkStatus();
  }
  (cleanup ? result->cleanups : result->purges)++;
  WOD_LOG(kInfo, "lifecycle", "{}", a.Describe());
  Event(a.location, a.seat, cleanup ? "lifecycle.cleanup" : "lifecycle.purge", a.reason,
        absl::StrCat("registration ", a.registration_id), now);
  return absl::OkStatus();
}

absl::StatusOr<LifecycleRunResult> Lifecycle::RunOnce(absl::Time now) {
  LifecycleRunResult result;
  // Verbs end registrations, whose mails the next round plans: a few rounds reach a plan with
  // no verb (each verb ends one registration for good, so this always settles).
  for (int round = 0; round < 3; ++round) {
    ASSIGN_OR_RETURN(reconcilers::LifecycleInput in,
                     Load(store_, options_.plan, options_.participant_token_secret, now));
    const auto plan = reconcilers::PlanLifecycle(in, options_.plan);
    bool verbs = false;
    // One action's failure does not hold up the others; it is planned again next pass.
    for (const LifecycleAction& a : plan) {
      if (a.kind != LifecycleAction::Kind::kEnqueueMail) {
        verbs = true;
        if (absl::Status s = ApplyVerb(a, now, &result); !s.ok()) {
          result.errors++;
          WOD_LOG(kWarning, "lifecycle", "{}: {}", a.Describe(), std::string(s.message()));
        }
        continue;
      }
      model::Notification n = a.mail;
      n.next_attempt = absl::InfinitePast();
      absl::StatusOr<bool> inserted = store_->EnqueueNotification(n);
      if (!inserted.ok()) {
        result.errors++;
        WOD_LOG(kWarning, "lifecycle", "{}: {}", a.Describe(),
                std::string(inserted.status().message()));
        continue;
      }
      if (!*inserted) continue;  // another writer enqueued the same key first: it stands
      result.mails_enqueued++;
      WOD_LOG(kInfo, "lifecycle", "{}", a.Describe());
      Event(a.location, a.seat, "mail.enqueue", a.reason,
            absl::StrCat("mail '", n.key, "' to '", n.recipient, "'"), now);
    }
    if (!verbs || result.errors > 0) break;
  }
  return result;
}

absl::Duration Lifecycle::RetryDelay(int attempts) const {
  const double factor = std::ldexp(1.0, std::clamp(attempts - 1, 0, 30));
  const absl::Duration delay = std::min(options_.backoff.cap, options_.backoff.base * factor);
  return std::max(absl::Seconds(1), delay * std::clamp(options_.jitter(), 0.5, 1.0));
}

absl::StatusOr<SendResult> Lifecycle::SendDue(absl::Time now) {
  SendResult result;
  while (true) {
    ASSIGN_OR_RETURN(auto claimed,
                     store_->ClaimNotifications(options_.batch, now, options_.claim_ttl));
    if (claimed.empty()) break;
    for (const model::Notification& n : claimed) {
      std::string location;
      std::optional<int> seat;
      std::optional<std::string> token;
      if (n.registration_id) {
        if (auto r = store_->GetRegistration(*n.registration_id); r.ok()) {
          location = r->location;
          seat = r->seat;
          token = model::ParticipantToken(options_.participant_token_secret, r->token_nonce);
        }
      }
      model::MailMessage message = model::MailFromNotification(n);
      FillPageToken(token, &message);
      absl::Status sent = sender_->Send(message);
      if (sent.ok()) {
        RETURN_IF_ERROR(store_->MarkNotificationSent(n.id, now));
        result.sent++;
        WOD_LOG(kInfo, "lifecycle", "sent {}", message.Describe());
        Event(location, seat, "mail.sent", absl::StrCat("attempt ", n.attempts),
              absl::StrCat("mail '", n.key, "' to '", n.recipient, "'"), now);
        continue;
      }
      const std::string error = std::string(sent.message());
      if (n.attempts >= options_.max_attempts || NeverDeliverable(sent.code())) {
        RETURN_IF_ERROR(store_->MarkNotificationFailed(n.id, error, std::nullopt));
        result.failed++;
        WOD_LOG(kWarning, "lifecycle", "giving up {} after {} attempt(s): {}", message.Describe(),
                n.attempts, error);
        Event(location, seat, "mail.failed",
              absl::StrCat("gave up after ", n.attempts, " attempt(s)"),
              absl::StrCat("mail '", n.key, "' to '", n.recipient, "': ", error), now);
        continue;
      }
      const absl::Time retry_at = now + RetryDelay(n.attempts);
      RETURN_IF_ERROR(store_->MarkNotificationFailed(n.id, error, retry_at));
      result.retried++;
      WOD_LOG(kWarning, "lifecycle", "{} failed (attempt {}), retry at {}: {}", message.Describe(),
              n.attempts, common::FormatTime(retry_at), error);
    }
  }
  return result;
}

absl::Status Lifecycle::Run(const std::atomic<bool>& stop) {
  bool announced_wait = false;
  // The store's first wait only reports changes made after it: take that baseline now, so a
  // change made during the first pass wakes the next wait.
  if (options_.wait_for_changes) store_->WaitForChange(absl::ZeroDuration());
  while (!stop.load()) {
    auto lease = store_->AcquireLease(options_.lease_name, options_.holder, options_.lease_ttl,
                                      clock_->Now());
    if (!lease.ok()) {
      if (lease.status().code() != absl::StatusCode::kFailedPrecondition) {
        WOD_LOG(kWarning, "lifecycle", "lease: {}", std::string(lease.status().message()));
      } else if (!announced_wait) {
        WOD_LOG(kInfo, "lifecycle", "waiting for lease: {}", std::string(lease.status().message()));
        announced_wait = true;
      }
      absl::SleepFor(std::min(absl::Seconds(1), options_.lease_ttl / 3));
      continue;
    }
    announced_wait = false;
    if (auto r = RunOnce(clock_->Now()); !r.ok()) {
      WOD_LOG(kWarning, "lifecycle", "pass failed: {}", std::string(r.status().message()));
    }
    if (auto s = SendDue(clock_->Now()); !s.ok()) {
      WOD_LOG(kWarning, "lifecycle", "sending failed: {}", std::string(s.status().message()));
    }
    // Sleep until a change, the resync period or the lease renewal, waking at least every
    // second to notice `stop`.
    const absl::Time wake = clock_->Now() + std::min(options_.resync, options_.lease_ttl / 3);
    while (!stop.load()) {
      const absl::Duration left = wake - clock_->Now();
      if (left <= absl::ZeroDuration()) break;
      const absl::Duration slice = std::min(left, absl::Seconds(1));
      if (!options_.wait_for_changes) {
        absl::SleepFor(slice);
      } else if (store_->WaitForChange(slice)) {
        break;
      }
    }
  }
  if (auto s = store_->ReleaseLease(options_.lease_name, options_.holder); !s.ok()) {
    WOD_LOG(kWarning, "lifecycle", "releasing lease: {}", std::string(s.message()));
  }
  return absl::OkStatus();
}

}  // namespace wod::controller
