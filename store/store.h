// The desired/status store: one interface, two implementations (SQLite, the embedded default,
// and PostgreSQL). Every method is one transaction; every method is safe to call from many
// threads and many processes at once. Errors say what the caller should do:
//   NotFound            the named workshop/seat/registration does not exist
//   AlreadyExists       the email already holds an active registration (message names its end)
//   ResourceExhausted   the workshop is full (no free seat, or capacity reached)
//   FailedPrecondition  the request conflicts with the current state (inactive workshop, ...)
//   InvalidArgument     malformed input
//   Aborted             a fencing token (lease epoch) is stale: the caller lost its lease
//   Unavailable         the database could not be reached (or stayed busy); retry
//   Internal            stored data unreadable, or a bug
// A failed call writes nothing. docs/store.md describes the schema, transactions and locking.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "model/status.h"
#include "model/types.h"

namespace wod::store {

struct CatalogChange {
  std::vector<std::string> inserted;   // workshop ids new to the store
  std::vector<std::string> updated;    // workshop ids whose spec changed (generation bumped)
  std::vector<std::string> unchanged;  // workshop ids already equal
  int seats_added = 0;
  int seats_removed = 0;  // vacant seats no longer in any active range
  bool operator==(const CatalogChange&) const = default;
};

struct RegisterRequest {
  std::string workshop;
  std::string email;
  std::string name;
  std::string company;
  absl::Time now;
  // Defaults to the workshop's duration when zero.
  absl::Duration duration = absl::ZeroDuration();
  // When set, that seat exactly (the CREATE verb); otherwise the lowest free one.
  std::optional<int> seat;
  // The participant's page token and the nonce it was derived from (the API derives it from a
  // server secret so the lifecycle can rebuild the page link: model/participant_token.h).
  // Only the token's hash and the nonce are stored. Empty: a random token, no nonce.
  std::string token;
  std::string token_nonce;
};

// How long a location stays live after its controller's last finished pass (while it also
// holds the location's lease, and unless it took the lease over since: its first pass is then
// under way): twelve idle passes of a controller, which passes at least every lease TTL / 3.
// Registrations are routed only to live locations; a location whose controller never reported a
// pass (a new one, or a store used without controllers) counts as live, so its registrations wait
// for it as before.
inline constexpr absl::Duration kLocationLiveFor = absl::Seconds(60);

// Register's refusal when the workshop has free seats only on locations whose controller is
// not live: Unavailable (retry soon), told apart from a store outage by IsNoBackend.
absl::Status NoBackendError(std::string message);
bool IsNoBackend(const absl::Status& status);

// A location as an operator sees it: its desired settings and what its controller reported.
struct LocationHealth {
  model::Location location;
  std::string lease_holder;  // "" when no controller holds it
  int64_t lease_epoch = 0;
  absl::Time lease_expires = absl::InfinitePast();
  std::optional<absl::Time> last_pass;  // none: no controller has reported a pass
  absl::Duration last_pass_duration = absl::ZeroDuration();
  int64_t passes = 0;
  bool live = false;  // as Register routes: lease held and a pass within kLocationLiveFor
  int seats = 0;
  int occupied = 0;
  int failed = 0;  // seats whose status phase is Failed
};

// What `wod location set` / PATCH /api/v1/locations/{name} change; unset fields stay.
struct LocationPatch {
  std::optional<std::string> fqdn;
  std::optional<std::string> hub_url;
  std::optional<model::LocationState> state;
  // Recorded by the location's controller; no generation bump and no wake-up (it is what
  // participants are told, not desired state of the machine).
  std::optional<std::string> user_prefix;
};

struct RegisterResult {
  model::Registration registration;
  model::Participant participant;
  model::Seat seat;
  std::string token;  // the participant's secret page token, shown once (only its hash is kept)
};

// A seat joined with its occupant, for listings.
struct SeatView {
  model::Seat seat;
  std::optional<model::Registration> registration;
  std::optional<model::Participant> participant;
};

// The status vocabulary lives in model/status.h (pure code computes statuses); the store
// keeps these names for its interface.
using Condition = model::Condition;
using SeatStatus = model::SeatStatus;
using DriftEntry = model::DriftEntry;

// The reconcile passes of one location's controller, as counted by the store.
struct PassStats {
  std::string location;
  int64_t passes = 0;
  absl::Duration last_duration;   // of the newest pass
  absl::Duration total_duration;  // of all passes counted
  absl::Time last_pass;           // when the newest pass ended
  bool operator==(const PassStats&) const = default;
};

struct Event {
  int64_t id = 0;
  absl::Time time;
  std::string location;
  std::optional<int> seat;
  std::string kind;    // e.g. "seat.create", "account.create", "verb.cleanup"
  std::string reason;  // why it was done
  std::string message;
  bool operator==(const Event&) const = default;
};

struct Lease {
  std::string name;
  std::string holder;
  int64_t epoch = 0;  // bumped each time the lease changes hands: the fencing token
  absl::Time expires;
};

struct VerbResult {
  bool changed = false;  // false when the verb was already in effect (idempotent no-op)
  model::Seat seat;
  std::optional<model::Registration> registration;  // the registration affected, if any
};

// How many seats one workshop has and how many of them an active registration holds.
struct WorkshopOccupancy {
  std::string workshop;
  int seats = 0;
  int occupied = 0;
  bool operator==(const WorkshopOccupancy&) const = default;
};

// The outbox counted by (kind, state), without the mails' bodies.
struct NotificationCount {
  std::string kind;  // welcome, credentials, ..., milestone-3
  model::NotificationState state = model::NotificationState::kPending;
  int64_t count = 0;
  int64_t attempts = 0;   // claims (send attempts) of these notifications, summed
  int64_t in_flight = 0;  // pending ones claimed by a sender now (or by one that crashed,
                          // until the claim expires): attempts not known to have failed
  bool operator==(const NotificationCount&) const = default;
};

// An API bearer token as stored: never the token itself, only the SHA-256 hex of it.
struct ApiToken {
  int64_t id = 0;
  std::string name;
  std::string role;  // "admin" or "operator"
  absl::Time created;
  std::optional<absl::Time> last_used;
  bool revoked = false;
  bool operator==(const ApiToken&) const = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // --- catalog and locations (desired; written by the API/CLI only) ---
  // Inserts or updates every workshop, ensures each workshop's location exists, and builds
  // the seat pool from the ranges of active workshops: one seat per number of each range on
  // the workshop's location (where ranges overlap, the first workshop by id gets the seat).
  // Generations bump only on real change (a canonical hash of the whole spec); loading the
  // same catalog twice reports everything `unchanged` and writes nothing. Vacant seats no
  // longer covered are removed; occupied seats are never removed or moved to another
  // workshop. Workshops not in `workshops` are left as they are.
  // InvalidArgument: an empty id or location (the caller resolves the default location), an
  // id given twice, an active workshop with an invalid range, a negative capacity.
  virtual absl::StatusOr<CatalogChange> UpsertCatalog(
      const std::vector<model::Workshop>& workshops) = 0;
  virtual absl::StatusOr<std::vector<model::Workshop>> ListWorkshops() = 0;
  virtual absl::StatusOr<model::Workshop> GetWorkshop(const std::string& id) = 0;
  virtual absl::Status UpsertLocation(const model::Location& location) = 0;
  virtual absl::StatusOr<std::vector<model::Location>> ListLocations() = 0;
  // Changes a location's settings. NotFound: no such location. A state change re-counts the
  // capacity of the workshops on it (a disabled location's seats are not capacity).
  virtual absl::StatusOr<model::Location> UpdateLocation(const std::string& name,
                                                         const LocationPatch& patch) {
    (void)name;
    (void)patch;
    return absl::UnimplementedError("locations cannot be changed in this store");
  }
  // Every location with its controller's lease, last pass and seat counts, by name.
  virtual absl::StatusOr<std::vector<LocationHealth>> ListLocationHealth(absl::Time now) {
    (void)now;
    return absl::UnimplementedError("location health is not reported by this store");
  }

  // --- registrations and seats ---
  // One transaction: one active registration per email, capacity check, lowest free seat of
  // the workshop's range on its location, the seat occupied with a fresh random password.
  // The email is trimmed and lowercased; the participant row is upserted by email (name and
  // company updated). InvalidArgument: no '@' in the email. AlreadyExists: the email holds an
  // active registration (the message names its workshop and end). NotFound: unknown
  // workshop (or, with `seat`, unknown seat). FailedPrecondition: inactive workshop; with
  // `seat`, a seat outside the range, of another workshop, or occupied. ResourceExhausted:
  // "workshop 'X' is full: capacity N reached" or "...: no free seat in range A-B on ...".
  virtual absl::StatusOr<RegisterResult> Register(const RegisterRequest& request) = 0;
  virtual absl::StatusOr<std::vector<SeatView>> ListSeats(
      const std::optional<std::string>& location = std::nullopt) = 0;
  // The seats of one location alone, by number, without their occupants: what a pass loads
  // (the default, for fakes, reads ListSeats).
  virtual absl::StatusOr<std::vector<model::Seat>> ListLocationSeats(const std::string& location) {
    ASSIGN_OR_RETURN(auto views, ListSeats(location));
    std::vector<model::Seat> out;
    out.reserve(views.size());
    for (auto& v : views) out.push_back(std::move(v.seat));
    return out;
  }
  virtual absl::StatusOr<SeatView> GetSeat(const std::string& location, int number) = 0;
  virtual absl::StatusOr<model::Registration> GetRegistration(int64_t id) = 0;
  virtual absl::StatusOr<model::Registration> GetRegistrationByToken(const std::string& token) = 0;
  // Seats and occupied seats per workshop (only workshops that have seats), by workshop id;
  // `workshop` set: that one only. One aggregate query, no seat rows.
  virtual absl::StatusOr<std::vector<WorkshopOccupancy>> ListWorkshopOccupancy(
      const std::optional<std::string>& workshop = std::nullopt) {
    (void)workshop;
    return absl::UnimplementedError("occupancy is not supported by this store");
  }
  // The active registration of `email` (trimmed and lowercased as Register does). NotFound:
  // the email holds none. (The defaults of these two are for fakes.)
  virtual absl::StatusOr<model::Registration> GetActiveRegistrationByEmail(
      const std::string& email) {
    (void)email;
    return absl::UnimplementedError("registration by email is not supported by this store");
  }
  // The registrations among `ids` that exist, oldest first (ids not found are left out; the
  // default, for fakes, reads them one by one).
  virtual absl::StatusOr<std::vector<model::Registration>> ListRegistrationsByIds(
      const std::vector<int64_t>& ids) {
    std::vector<model::Registration> out;
    for (int64_t id : ids) {
      auto r = GetRegistration(id);
      if (r.ok()) {
        out.push_back(*std::move(r));
      } else if (r.status().code() != absl::StatusCode::kNotFound) {
        return r.status();
      }
    }
    return out;
  }
  // Failover: moves active registration `id`, still on `location`/`seat`, to the lowest free
  // seat of the live active location with the most free seats of its workshop, in one
  // transaction: the old seat is vacated (fresh password, generation + 1; its controller wipes
  // it like any turnover when it comes back), the new one occupied with the password its
  // vacancy put in, the registration's location and seat updated, the capacity slot kept.
  // FailedPrecondition: the registration is not active or not on that seat any more, or its
  // location is live (again). ResourceExhausted: no live location has a free seat.
  virtual absl::StatusOr<RegisterResult> MoveRegistration(int64_t id, const std::string& location,
                                                          int seat, absl::Time now) {
    (void)id, (void)location, (void)seat, (void)now;
    return absl::UnimplementedError("registrations cannot be moved in this store");
  }
  // Registrations, oldest first, optionally only those in `state`.
  virtual absl::StatusOr<std::vector<model::Registration>> ListRegistrations(
      std::optional<model::RegistrationState> state = std::nullopt) = 0;
  // Every participant, by id (for exports that name the people behind ended registrations;
  // the default is for fakes).
  virtual absl::StatusOr<std::vector<model::Participant>> ListParticipants() {
    return absl::UnimplementedError("participants are not listed by this store");
  }

  // CLEANUP / RESET / PURGE of one seat (DESIGN.md "Verbs are transitions"). CLEANUP: the
  // occupant's registration ends at `now`, the seat is vacated and locked with a fresh random
  // password, generation + 1. PURGE: the same, registration marked failed. RESET: reset_epoch
  // and generation + 1, same occupant. Idempotent: any of them on a vacant seat returns
  // changed=false and writes nothing. NotFound: unknown seat. InvalidArgument: CREATE, which
  // goes through Register with `seat` set.
  virtual absl::StatusOr<VerbResult> ApplyVerb(model::Verb verb, const std::string& location,
                                               int number, absl::Time now) = 0;
  // CLEANUP / PURGE (or RESET) of a seat only while registration `expected_registration`
  // holds it, checked under the seat's lock in the same transaction: when another
  // registration holds it (the seat changed hands since the caller looked) or it is vacant,
  // changed=false, `registration` empty, and nothing is written. NotFound: unknown seat.
  // (The default is for fakes; the SQL stores implement it.)
  virtual absl::StatusOr<VerbResult> ApplyVerbIfHeldBy(model::Verb verb,
                                                       const std::string& location, int number,
                                                       int64_t expected_registration,
                                                       absl::Time now) {
    (void)verb, (void)location, (void)number, (void)expected_registration, (void)now;
    return absl::UnimplementedError("guarded verbs are not supported by this store");
  }
  // Moves an active registration's deadline. FailedPrecondition: not active. InvalidArgument:
  // a deadline not after the start.
  virtual absl::StatusOr<model::Registration> Extend(int64_t registration_id,
                                                     absl::Time new_deadline) = 0;
  // Stores harvested progress once: returns false (and writes nothing) when already stored.
  // InvalidArgument: `progress_json` is not JSON.
  virtual absl::StatusOr<bool> RecordHarvest(int64_t registration_id,
                                             const std::string& progress_json) = 0;

  // --- status (written by controllers, fenced by their lease epoch) ---
  // Upserts the status of one seat, only while `lease_name` is at `lease_epoch` and not
  // released; otherwise Aborted (the caller lost its lease: re-acquire and re-observe).
  // InvalidArgument: a `progress_json` that is neither empty nor JSON.
  virtual absl::Status PutSeatStatus(const SeatStatus& status, const std::string& lease_name,
                                     int64_t lease_epoch) = 0;
  // Records what one seat's steps did in one write: `events` (in order) and, when `status`
  // is given, the seat's new status, fenced like PutSeatStatus. The events are stored even
  // when the fence fails (their steps took effect on the machine); the status is then not,
  // and the answer is Aborted. InvalidArgument as AppendEvent and PutSeatStatus, nothing
  // stored. (The default, for fakes, writes them one by one through the two.)
  virtual absl::Status RecordSeatOutcome(const std::vector<Event>& events, const SeatStatus* status,
                                         const std::string& lease_name, int64_t lease_epoch) {
    for (const Event& e : events) {
      if (auto s = AppendEvent(e); !s.ok()) return s;
    }
    if (status == nullptr) return absl::OkStatus();
    return PutSeatStatus(*status, lease_name, lease_epoch);
  }
  virtual absl::StatusOr<std::vector<SeatStatus>> ListSeatStatus(
      const std::optional<std::string>& location = std::nullopt) = 0;
  // The status of one seat (one row, for the participant view). NotFound: no status yet.
  virtual absl::StatusOr<SeatStatus> GetSeatStatus(const std::string& location, int number) {
    auto all = ListSeatStatus(location);
    if (!all.ok()) return all.status();
    for (SeatStatus& s : *all) {
      if (s.number == number) return std::move(s);
    }
    return absl::NotFoundError("no status of seat " + location + "/" + std::to_string(number));
  }
  // Counts one finished pass of `location`'s controller: passes + 1, its duration added to the
  // total and kept as the last, `at` as the last pass time. Fenced like PutSeatStatus (Aborted
  // when the lease moved on). InvalidArgument: empty location or negative duration. (The
  // defaults are for fakes; the SQL stores implement both.)
  virtual absl::Status RecordPass(const std::string& location, absl::Duration duration,
                                  absl::Time at, const std::string& lease_name,
                                  int64_t lease_epoch) {
    (void)location, (void)duration, (void)at, (void)lease_name, (void)lease_epoch;
    return absl::UnimplementedError("pass statistics are not stored by this store");
  }
  // Every location's pass statistics (or that one's), by location.
  virtual absl::StatusOr<std::vector<PassStats>> ListPassStats(
      const std::optional<std::string>& location = std::nullopt) {
    (void)location;
    return absl::UnimplementedError("pass statistics are not stored by this store");
  }
  virtual absl::Status AppendEvent(const Event& event) = 0;  // `id` is assigned
  // Newest first; `limit` <= 0 means all.
  virtual absl::StatusOr<std::vector<Event>> ListEvents(const std::optional<std::string>& location,
                                                        int limit) = 0;

  // Replaces the location's drift report with `entries` (fenced like PutSeatStatus: Aborted
  // when the lease moved on). InvalidArgument: an entry of another location. (The defaults
  // below are for fakes; the SQL stores implement all of these.)
  virtual absl::Status ReplaceDrift(const std::string& location,
                                    const std::vector<DriftEntry>& entries,
                                    const std::string& lease_name, int64_t lease_epoch) {
    (void)location, (void)entries, (void)lease_name, (void)lease_epoch;
    return absl::UnimplementedError("drift is not stored by this store");
  }
  virtual absl::StatusOr<std::vector<DriftEntry>> ListDrift(
      const std::optional<std::string>& location) {
    (void)location;
    return absl::UnimplementedError("drift is not stored by this store");
  }

  // Blocks until desired state may have changed (any write by any process) or `timeout`
  // passes; returns true when woken by a change made since the previous call (the first call
  // only sees changes made after it started). Desired changes are catalog and location
  // updates, registrations, verbs that changed something, and Extend; status writes never
  // wake it. Changes of this process wake it at once, those of other processes within about
  // 100 ms. PostgreSQL: LISTEN/NOTIFY (sent after commit, coalesced); SQLite: an in-process
  // signal plus a change counter row polled for other processes. One waiting thread per store.
  // With `location`, only changes that concern that location's seats count (registrations,
  // moves, verbs and Extend name their seats' locations, location updates their location,
  // catalog loads every location): twenty controllers on one PostgreSQL are not all woken by
  // each registration. SQLite (one machine) wakes on any change.
  virtual bool WaitForChange(absl::Duration timeout, const std::string& location) {
    (void)location;
    absl::SleepFor(timeout);
    return false;
  }
  bool WaitForChange(absl::Duration timeout) { return WaitForChange(timeout, std::string()); }

  // --- leases ---
  // Takes the lease when free, released or expired (epoch + 1), or renews it when already ours
  // (same epoch), until now + ttl. Returns FailedPrecondition naming the holder and the expiry
  // when someone else holds it.
  virtual absl::StatusOr<Lease> AcquireLease(const std::string& name, const std::string& holder,
                                             absl::Duration ttl, absl::Time now) = 0;
  // Gives the lease up, keeping its epoch (the next holder gets epoch + 1). A no-op when
  // `holder` does not hold it.
  virtual absl::Status ReleaseLease(const std::string& name, const std::string& holder) = 0;

  // --- notifications outbox ---
  // Returns true when inserted, false when a notification with the same key already exists.
  // Stored pending with 0 attempts, due at `next_attempt` (InfinitePast: now); `id`, `state`,
  // `attempts` and `last_error` of `n` are ignored. InvalidArgument: empty key or recipient.
  virtual absl::StatusOr<bool> EnqueueNotification(const model::Notification& n) = 0;
  // Claims up to `limit` pending notifications due at `now`, oldest due first, hiding them
  // from other claimers until `now + claim_ttl` (a crashed sender's claims come back after
  // that). Each claim counts as an attempt. Two claimers never get the same notification.
  virtual absl::StatusOr<std::vector<model::Notification>> ClaimNotifications(
      int limit, absl::Time now, absl::Duration claim_ttl) = 0;
  virtual absl::Status MarkNotificationSent(int64_t id, absl::Time now) = 0;  // NotFound
  // Records a failed attempt: pending again at `retry_at`, or failed for good when
  // `retry_at` is nullopt.
  virtual absl::Status MarkNotificationFailed(int64_t id, const std::string& error,
                                              std::optional<absl::Time> retry_at) = 0;
  virtual absl::StatusOr<std::vector<model::Notification>> ListNotifications() = 0;

  // The outbox counted by (kind, state), ordered by kind then state; never loads a body.
  // (The default is for fakes; the SQL stores implement it.)
  virtual absl::StatusOr<std::vector<NotificationCount>> CountNotifications() {
    return absl::UnimplementedError("notification counts are not supported by this store");
  }

  // --- API tokens (the defaults are for fakes; the SQL stores implement them) ---
  // Stores a token by its hash. InvalidArgument: empty name, a role other than admin or
  // operator, or a hash that is not 64 lowercase hex digits. AlreadyExists: the name (or the
  // hash) is taken, revoked tokens included.
  virtual absl::StatusOr<ApiToken> CreateApiToken(const std::string& name, const std::string& role,
                                                  const std::string& token_hash, absl::Time now) {
    (void)name, (void)role, (void)token_hash, (void)now;
    return absl::UnimplementedError("api tokens are not stored by this store");
  }
  // The token with this hash, revoked or not (the caller refuses revoked ones). Records
  // `now` as its last use when the stored one is older than a minute (so a busy client costs
  // about one write a minute). NotFound: no such hash (the message never names it).
  virtual absl::StatusOr<ApiToken> GetApiTokenByHash(const std::string& token_hash,
                                                     absl::Time now) {
    (void)token_hash, (void)now;
    return absl::UnimplementedError("api tokens are not stored by this store");
  }
  // Marks the named token revoked; returns false when it already was. NotFound: no such name.
  virtual absl::StatusOr<bool> RevokeApiToken(const std::string& name) {
    (void)name;
    return absl::UnimplementedError("api tokens are not stored by this store");
  }
  // Every token, by name.
  virtual absl::StatusOr<std::vector<ApiToken>> ListApiTokens() {
    return absl::UnimplementedError("api tokens are not stored by this store");
  }
};

struct StoreOptions {
  // PostgreSQL: at most this many pooled connections (0: 16), besides the one that listens
  // for changes. A backend's controller needs few (its workers' writes are short) and twenty
  // of them share one server. SQLite: unused.
  int max_connections = 0;
};

// Opens "sqlite:PATH" (also "sqlite://PATH"; "sqlite::memory:" for a private in-memory
// database) or "postgresql://..." / "postgres://..." (a libpq URI), and applies pending
// migrations. Errors never include the URL's password. InvalidArgument: another scheme.
// Unavailable: the database cannot be opened or reached.
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& url,
                                                 const StoreOptions& options = {});

}  // namespace wod::store
