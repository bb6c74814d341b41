// The desired/status store: one interface, two implementations (SQLite, the embedded default,
// and PostgreSQL). Every method is one transaction; every method is safe to call from many
// threads and many processes at once. Errors say what the caller should do:
//   NotFound            the named workshop/seat/registration does not exist
//   AlreadyExists       the email already holds an active registration (message names its end)
//   ResourceExhausted   the workshop is full (no free seat, or capacity reached)
//   FailedPrecondition  the request conflicts with the current state (inactive workshop, ...)
//   InvalidArgument     malformed input
//   Aborted             a fencing token (lease epoch) is stale: the caller lost its lease
//   Unavailable         the database could not be reached; retry
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
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

struct Condition {
  std::string type;    // AccountReady, HubReady, ContentReady, AppliancesReady
  std::string status;  // True, False, Unknown
  std::string reason;
  std::string message;
  absl::Time last_transition;
  bool operator==(const Condition&) const = default;
};

struct SeatStatus {
  std::string location;
  int number = 0;
  int64_t observed_generation = 0;
  std::string phase;  // Vacant, Provisioning, Ready, Vacating, Failed
  std::vector<Condition> conditions;
  std::string last_error;
  absl::Time updated;
  bool operator==(const SeatStatus&) const = default;
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

class Store {
 public:
  virtual ~Store() = default;

  // --- catalog and locations (desired; written by the API/CLI only) ---
  // Inserts or updates every workshop, ensures each workshop's location exists, and builds
  // the seat pool from the ranges of active workshops. Generations bump only on real change.
  // Occupied seats are never removed or moved to another workshop.
  virtual absl::StatusOr<CatalogChange> UpsertCatalog(
      const std::vector<model::Workshop>& workshops) = 0;
  virtual absl::StatusOr<std::vector<model::Workshop>> ListWorkshops() = 0;
  virtual absl::StatusOr<model::Workshop> GetWorkshop(const std::string& id) = 0;
  virtual absl::Status UpsertLocation(const model::Location& location) = 0;
  virtual absl::StatusOr<std::vector<model::Location>> ListLocations() = 0;

  // --- registrations and seats ---
  // One transaction: one active registration per email, capacity check, lowest free seat of
  // the workshop's range on its location, the seat occupied with a fresh random password.
  virtual absl::StatusOr<RegisterResult> Register(const RegisterRequest& request) = 0;
  virtual absl::StatusOr<std::vector<SeatView>> ListSeats(
      const std::optional<std::string>& location = std::nullopt) = 0;
  virtual absl::StatusOr<SeatView> GetSeat(const std::string& location, int number) = 0;
  virtual absl::StatusOr<model::Registration> GetRegistration(int64_t id) = 0;
  virtual absl::StatusOr<model::Registration> GetRegistrationByToken(const std::string& token) = 0;
  // Registrations, oldest first, optionally only those in `state`.
  virtual absl::StatusOr<std::vector<model::Registration>> ListRegistrations(
      std::optional<model::RegistrationState> state = std::nullopt) = 0;

  // CLEANUP / RESET / PURGE of one seat. Idempotent: CLEANUP of a vacant seat returns
  // changed=false and writes nothing. CREATE goes through Register with `seat` set.
  virtual absl::StatusOr<VerbResult> ApplyVerb(model::Verb verb, const std::string& location,
                                               int number, absl::Time now) = 0;
  // Moves an active registration's deadline.
  virtual absl::StatusOr<model::Registration> Extend(int64_t registration_id,
                                                     absl::Time new_deadline) = 0;
  // Stores harvested progress once: returns false (and writes nothing) when already stored.
  virtual absl::StatusOr<bool> RecordHarvest(int64_t registration_id,
                                             const std::string& progress_json) = 0;

  // --- status (written by controllers, fenced by their lease epoch) ---
  virtual absl::Status PutSeatStatus(const SeatStatus& status, const std::string& lease_name,
                                     int64_t lease_epoch) = 0;
  virtual absl::StatusOr<std::vector<SeatStatus>> ListSeatStatus(
      const std::optional<std::string>& location = std::nullopt) = 0;
  virtual absl::Status AppendEvent(const Event& event) = 0;
  virtual absl::StatusOr<std::vector<Event>> ListEvents(const std::optional<std::string>& location,
                                                        int limit) = 0;

  // --- leases ---
  // Takes the lease when free, expired, or already ours (then renews it, same epoch).
  // Returns FailedPrecondition naming the holder when someone else holds it.
  virtual absl::StatusOr<Lease> AcquireLease(const std::string& name, const std::string& holder,
                                             absl::Duration ttl, absl::Time now) = 0;
  virtual absl::Status ReleaseLease(const std::string& name, const std::string& holder) = 0;

  // --- notifications outbox ---
  // Returns true when inserted, false when a notification with the same key already exists.
  virtual absl::StatusOr<bool> EnqueueNotification(const model::Notification& n) = 0;
  // Claims up to `limit` pending notifications due at `now`, hiding them from other claimers
  // until `now + claim_ttl` (a crashed sender's claims come back after that).
  virtual absl::StatusOr<std::vector<model::Notification>> ClaimNotifications(
      int limit, absl::Time now, absl::Duration claim_ttl) = 0;
  virtual absl::Status MarkNotificationSent(int64_t id, absl::Time now) = 0;
  // Records a failed attempt: pending again at `retry_at`, or failed for good when
  // `retry_at` is nullopt.
  virtual absl::Status MarkNotificationFailed(int64_t id, const std::string& error,
                                              std::optional<absl::Time> retry_at) = 0;
  virtual absl::StatusOr<std::vector<model::Notification>> ListNotifications() = 0;
};

// Opens "sqlite:PATH" (":memory:" allowed) or "postgresql://..." / "postgres://...", and
// applies pending migrations. Errors never include the URL's password.
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& url);

}  // namespace wod::store
