#include "store/sql_store.h"

#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "store/workshop_json.h"

namespace wod::store {

namespace {
constexpr char kNoBackendPayload[] = "wod/no_backend";
}  // namespace

absl::Status NoBackendError(std::string message) {
  absl::Status s = absl::UnavailableError(std::move(message));
  s.SetPayload(kNoBackendPayload, absl::Cord("1"));
  return s;
}

bool IsNoBackend(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable &&
         status.GetPayload(kNoBackendPayload).has_value();
}

namespace {

using model::Registration;
using model::RegistrationState;

// A workshop range larger than this is a catalog mistake, not a seat pool to build.
constexpr int kMaxSeatsPerWorkshop = 10'000;
// Seats are inserted this many rows per statement.
constexpr int kSeatInsertBatch = 100;
// How often ReleaseSlot looks again for a held slot above slot_count that concurrent verbs
// keep releasing or renumbering under it.
constexpr int kMaxSlotLookups = 1000;
// PostgreSQL advisory lock held by catalog loads ("wod" + "cat").
constexpr int64_t kCatalogLockKey = 0x776f645f636174;

// Column lists of the *FromRow parsers, which read them by these names.
constexpr char kSeatColumns[] =
    "location, number, workshop, registration_id, password, reset_epoch, generation";
constexpr char kRegistrationColumns[] =
    "id, participant_id, workshop, location, seat, start_us, deadline_us, ended_us, state, "
    "token_hash, progress_json, token_nonce";
constexpr char kParticipantColumns[] = "id, email, name, company";
constexpr char kLocationColumns[] = "name, fqdn, hub_url, state, generation, user_prefix";
constexpr char kNotificationColumns[] =
    "id, idempotency_key, registration_id, kind, recipient, subject, text_body, html_body, "
    "state, attempts, next_attempt_us, last_error";

// `columns` (a list as above) of the table or CTE `alias` in a join, each selected as
// `<alias>_<column>`: the parser then reads them with row.WithPrefix("<alias>_").
std::string JoinedColumns(absl::string_view alias, absl::string_view columns) {
  std::vector<std::string> out;
  for (absl::string_view column : absl::StrSplit(columns, ", ")) {
    out.push_back(absl::StrCat(alias, ".", column, " AS ", alias, "_", column));
  }
  return absl::StrJoin(out, ", ");
}

model::Seat SeatFromRow(const SqlRow& row) {
  model::Seat s;
  s.location = row.Text("location");
  s.number = static_cast<int>(row.Int("number"));
  s.workshop = row.Text("workshop");
  s.registration_id = row.OptInt("registration_id");
  s.password = row.Text("password");
  s.reset_epoch = row.Int("reset_epoch");
  s.generation = row.Int("generation");
  return s;
}

model::Location LocationFromRow(const SqlRow& row) {
  model::Location l;
  l.name = row.Text("name");
  l.fqdn = row.Text("fqdn");
  l.hub_url = row.Text("hub_url");
  // The column's CHECK allows only the three names.
  l.state = model::ParseLocationState(row.Text("state")).value_or(model::LocationState::kActive);
  l.generation = row.Int("generation");
  l.user_prefix = row.Text("user_prefix");
  return l;
}

Registration RegistrationFromRow(const SqlRow& row) {
  Registration r;
  r.id = row.Int("id");
  r.participant_id = row.Int("participant_id");
  r.workshop = row.Text("workshop");
  r.location = row.Text("location");
  r.seat = static_cast<int>(row.Int("seat"));
  r.start = TimeFromDb(row.Int("start_us"));
  r.deadline = TimeFromDb(row.Int("deadline_us"));
  if (auto ended = row.OptInt("ended_us")) r.ended = TimeFromDb(*ended);
  r.state = model::ParseRegistrationState(row.Text("state")).value_or(RegistrationState::kFailed);
  r.token_hash = row.Text("token_hash");
  r.progress_json = row.Text("progress_json");
  r.token_nonce = row.Text("token_nonce");
  return r;
}

model::Participant ParticipantFromRow(const SqlRow& row) {
  model::Participant p;
  p.id = row.Int("id");
  p.email = row.Text("email");
  p.name = row.Text("name");
  p.company = row.Text("company");
  return p;
}

model::Notification NotificationFromRow(const SqlRow& row) {
  model::Notification n;
  n.id = row.Int("id");
  n.key = row.Text("idempotency_key");
  n.registration_id = row.OptInt("registration_id");
  n.kind = row.Text("kind");
  n.recipient = row.Text("recipient");
  n.subject = row.Text("subject");
  n.text_body = row.Text("text_body");
  n.html_body = row.Text("html_body");
  n.state =
      model::ParseNotificationState(row.Text("state")).value_or(model::NotificationState::kFailed);
  n.attempts = static_cast<int>(row.Int("attempts"));
  n.next_attempt = TimeFromDb(row.Int("next_attempt_us"));
  n.last_error = row.Text("last_error");
  return n;
}

// seats LEFT JOIN registrations LEFT JOIN participants, read by SeatViewFromRow.
std::string SeatViewSelect() {
  static const std::string* const kSelect = new std::string(absl::StrCat(
      "SELECT ", JoinedColumns("s", kSeatColumns), ", ", JoinedColumns("r", kRegistrationColumns),
      ", ", JoinedColumns("p", kParticipantColumns),
      " FROM seats s LEFT JOIN registrations r ON r.id = s.registration_id"
      " LEFT JOIN participants p ON p.id = r.participant_id"));
  return *kSelect;
}

SeatView SeatViewFromRow(const SqlRow& row) {
  SeatView v;
  v.seat = SeatFromRow(row.WithPrefix("s_"));
  if (!row.IsNull("r_id")) {
    v.registration = RegistrationFromRow(row.WithPrefix("r_"));
    v.participant = ParticipantFromRow(row.WithPrefix("p_"));
  }
  return v;
}

std::string ConditionsToJson(const std::vector<Condition>& conditions) {
  nlohmann::json j = nlohmann::json::array();
  for (const Condition& c : conditions) {
    j.push_back({{"type", c.type},
                 {"status", model::ConditionStatusName(c.status)},
                 {"reason", c.reason},
                 {"message", c.message},
                 {"last_transition_us", TimeToDb(c.last_transition)}});
  }
  return j.dump();
}

absl::StatusOr<std::vector<Condition>> ConditionsFromJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_array()) {
    return absl::InternalError("stored seat conditions are not a JSON array");
  }
  std::vector<Condition> out;
  for (const auto& c : j) {
    if (!c.is_object()) return absl::InternalError("stored seat condition is not an object");
    Condition cond;
    cond.type = c.value("type", "");
    const std::string status = c.value("status", "");
    auto parsed = model::ConditionStatusFromName(status);
    if (!parsed) {
      return absl::InternalError(absl::StrCat("stored seat condition status '", status,
                                              "' is not True, False or Unknown"));
    }
    cond.status = *parsed;
    cond.reason = c.value("reason", "");
    cond.message = c.value("message", "");
    cond.last_transition = TimeFromDb(c.value("last_transition_us", int64_t{0}));
    out.push_back(std::move(cond));
  }
  return out;
}

// The store keeps microseconds: round times the same way before returning them, so what a
// method returns equals what a later read returns.
constexpr char kApiTokenColumns[] = "id, name, role, created_us, last_used_us, revoked";

ApiToken ApiTokenFromRow(const SqlRow& row) {
  ApiToken t;
  t.id = row.Int(0);
  t.name = row.Text(1);
  t.role = row.Text(2);
  t.created = TimeFromDb(row.Int(3));
  if (auto used = row.OptInt(4)) t.last_used = TimeFromDb(*used);
  t.revoked = row.Bool(5);
  return t;
}

absl::Time ToMicros(absl::Time t) { return TimeFromDb(TimeToDb(t)); }

constexpr char kSeatStatusColumns[] =
    "location, number, observed_generation, phase, conditions_json, last_error, updated_us, "
    "progress_registration, progress_json, last_activity_us";

absl::StatusOr<SeatStatus> SeatStatusFromRow(const SqlRow& row) {
  SeatStatus s;
  s.location = row.Text(0);
  s.number = static_cast<int>(row.Int(1));
  s.observed_generation = row.Int(2);
  const std::string phase = row.Text(3);
  auto parsed = model::PhaseFromName(phase);
  if (!parsed) {
    return absl::InternalError(absl::StrCat("stored seat phase '", phase, "' is unknown"));
  }
  s.phase = *parsed;
  ASSIGN_OR_RETURN(s.conditions, ConditionsFromJson(row.Text(4)));
  s.last_error = row.Text(5);
  s.updated = TimeFromDb(row.Int(6));
  s.progress_registration = row.Int(7);
  s.progress_json = row.Text(8);
  if (auto t = row.OptInt(9)) s.last_activity = TimeFromDb(*t);
  return s;
}

std::string SeatName(const std::string& location, int number) {
  return absl::StrCat("seat ", number, " on location '", location, "'");
}

// The single row a statement returns, or Internal.
absl::StatusOr<SqlRow> OneRow(absl::StatusOr<std::vector<SqlRow>> rows) {
  if (!rows.ok()) return rows.status();
  if (rows->size() != 1) {
    return absl::InternalError(absl::StrCat("expected one row, got ", rows->size()));
  }
  return std::move((*rows)[0]);
}

// --- Register, step by step ---
//
// Register runs in one write transaction: upsert the participant (its row lock queues two
// registrations of one email), read and check the workshop, check a seat CREATE names, then
// claim a free capacity slot, insert the registration on a vacant seat, mark the seat
// occupied and hand the slot to the registration. Capacity is counted in capacity_slots,
// never in the workshop row: a counter there would stay locked until each registration's
// commit was on disk and serialize the workshop.

// A registration being made, as Register normalized the request.
struct NewRegistration {
  std::string email;
  std::string workshop;
  std::optional<int> seat;  // CREATE names the seat; otherwise the lowest vacant one
  int64_t participant_id = 0;
  absl::Time now;
  absl::Duration duration;  // zero: the workshop's
  std::string token_hash;
  std::string token_nonce;
};

// What Register reads of the workshop and of the participant's active registration, under
// the column names WorkshopFactsFromRow reads.
struct WorkshopFacts {
  bool exists = false;
  bool active = false;
  int64_t capacity = 0;
  int64_t slot_count = 0;  // min(capacity, seats of the workshop)
  model::SeatRange range;
  std::string location;
  int64_t duration_hours = 0;
  std::optional<std::string> active_workshop;  // of the participant's active registration
  absl::Time active_deadline;
};

// Of `w` (the workshop) and `a` (the participant's active registration), tables or CTEs.
constexpr char kWorkshopFactsColumns[] =
    "w.active, w.capacity, w.range_min, w.range_max, w.location, w.duration_hours, "
    "w.slot_count, a.workshop AS active_workshop, a.deadline_us AS active_deadline_us";

WorkshopFacts WorkshopFactsFromRow(const SqlRow& row) {
  WorkshopFacts f;
  f.exists = !row.IsNull("active");
  f.active = row.Bool("active");
  f.capacity = row.Int("capacity");
  f.slot_count = row.Int("slot_count");
  f.range = {static_cast<int>(row.Int("range_min")), static_cast<int>(row.Int("range_max"))};
  f.location = row.Text("location");
  f.duration_hours = row.Int("duration_hours");
  if (!row.IsNull("active_workshop")) {
    f.active_workshop = row.Text("active_workshop");
    f.active_deadline = TimeFromDb(row.Int("active_deadline_us"));
  }
  return f;
}

// Where the registration goes once the workshop's checks passed.
struct Target {
  int64_t capacity = 0;
  int64_t slot_count = 0;
  model::SeatRange range;
  std::string location;
  absl::Time deadline;
};

// The workshop's checks, in the order their errors are reported.
absl::StatusOr<Target> CheckWorkshop(const WorkshopFacts& f, const NewRegistration& reg) {
  if (f.active_workshop) {
    return absl::AlreadyExistsError(
        absl::StrCat("'", reg.email, "' already has an active registration for workshop '",
                     *f.active_workshop, "' until ", common::FormatTime(f.active_deadline)));
  }
  if (!f.exists) {
    return absl::NotFoundError(absl::StrCat("workshop '", reg.workshop, "' not found"));
  }
  if (!f.active) {
    return absl::FailedPreconditionError(
        absl::StrCat("workshop '", reg.workshop, "' is not active"));
  }
  const absl::Duration duration =
      reg.duration > absl::ZeroDuration() ? reg.duration : absl::Hours(f.duration_hours);
  if (duration <= absl::ZeroDuration()) {
    return absl::FailedPreconditionError(
        absl::StrCat("workshop '", reg.workshop, "' has no duration"));
  }
  return Target{f.capacity, f.slot_count, f.range, f.location, ToMicros(reg.now + duration)};
}

absl::Status CapacityReached(const NewRegistration& reg, const Target& t) {
  return absl::ResourceExhaustedError(
      absl::StrCat("workshop '", reg.workshop, "' is full: capacity ", t.capacity, " reached"));
}

absl::Status NoFreeSeat(const NewRegistration& reg, const Target& t) {
  return absl::ResourceExhaustedError(
      absl::StrCat("workshop '", reg.workshop, "' is full: no free seat in range ", t.range.min,
                   "-", t.range.max, " on location '", t.location, "'"));
}

absl::Status SeatOccupied(const std::string& location, int number) {
  return absl::FailedPreconditionError(absl::StrCat(SeatName(location, number), " is occupied"));
}

// What the claim did, each part only when the one before it succeeded.
struct Occupation {
  std::optional<int64_t> slot_claimed;       // a free capacity slot; none: the workshop is full
  std::optional<Registration> registration;  // inserted; none: no vacant seat to put it on
  std::optional<model::Seat> seat;           // now occupied; none: taken meanwhile
  bool slot_taken = false;                   // the claimed slot now held by the registration
};

// The columns of the one-statement claims (PostgreSQL), read by OccupationFromRow.
const std::string& OccupationColumns() {
  static const std::string* const kColumns = new std::string(
      absl::StrCat(JoinedColumns("r", kRegistrationColumns), ", ", JoinedColumns("s", kSeatColumns),
                   ", c.slot AS slot_taken, (SELECT slot FROM slot) AS slot_claimed"));
  return *kColumns;
}

Occupation OccupationFromRow(const SqlRow& row) {
  Occupation o;
  o.slot_claimed = row.OptInt("slot_claimed");
  if (!row.IsNull("r_id")) o.registration = RegistrationFromRow(row.WithPrefix("r_"));
  if (!row.IsNull("s_location")) o.seat = SeatFromRow(row.WithPrefix("s_"));
  o.slot_taken = !row.IsNull("slot_taken");
  return o;
}

// Register's answer when the claim fell short; OK when it all happened.
absl::Status CheckOccupation(const Occupation& o, const NewRegistration& reg, const Target& t) {
  if (!o.slot_claimed) {
    return t.slot_count < t.capacity ? NoFreeSeat(reg, t) : CapacityReached(reg, t);
  }
  if (!o.registration) return reg.seat ? SeatOccupied(t.location, *reg.seat) : NoFreeSeat(reg, t);
  if (!o.seat) return SeatOccupied(t.location, o.registration->seat);
  if (!o.slot_taken) {
    return absl::InternalError(absl::StrCat("capacity slot ", *o.slot_claimed, " of workshop '",
                                            reg.workshop, "' was taken meanwhile"));
  }
  return absl::OkStatus();
}

// Where a registration went: the checked workshop and what the claim did.
struct Placement {
  Target target;
  Occupation occupation;
};

// The parameters the claim statements name.
std::vector<SqlNamedParam> ClaimParams(const NewRegistration& reg, const Target& t) {
  return {{"workshop", reg.workshop},
          {"participant", reg.participant_id},
          {"now_us", TimeToDb(reg.now)},
          {"token_hash", reg.token_hash},
          {"token_nonce", reg.token_nonce},
          {"seat", reg.seat},
          {"location", t.location},
          {"deadline_us", TimeToDb(t.deadline)},
          {"slot_count", t.slot_count},
          {"range_min", t.range.min},
          {"range_max", t.range.max},
          {"primary", t.location},
          {"live_since_us", TimeToDb(reg.now - kLocationLiveFor)}};
}

// A live location: its controller holds the lease and finished a pass within
// kLocationLiveFor (or took the lease over since the last recorded pass: its first pass, which
// may be long, is under way), or it never reported one (see kLocationLiveFor). `l` is the
// locations row.
// Registrations go to live locations that are also active (not draining or disabled).
constexpr char kLiveLocationSql[] = R"sql(
  (NOT EXISTS (SELECT 1 FROM pass_stats p WHERE p.location = l.name)
       OR EXISTS (SELECT 1 FROM pass_stats p JOIN leases le ON le.name = 'controller/' || l.name
                  WHERE p.location = l.name AND le.holder <> '' AND le.expires_us > :now_us
                    AND (p.last_pass_us >= :live_since_us OR p.lease_epoch <> le.epoch))))sql";

// SQLite is told to look for vacant seats in the partial index: without statistics its planner
// prefers the primary key and walks every occupied seat below the first free one.
constexpr char kSqliteSeatsVacant[] = " INDEXED BY seats_vacant";

// The location a registration goes to: among the workshop's live locations with a vacant seat
// in its range, the one with the most (ties: the workshop's own location, then by name).
// `range_min`/`range_max`/`primary` are SQL expressions.
// Liveness is evaluated once per location of the workshop, a free seat is found with one
// index seek, and the free seats are counted only when the workshop has several locations: a
// registration for a workshop on one location pays nothing for routing.
std::string RouteSql(absl::string_view range_min, absl::string_view range_max,
                     absl::string_view primary, absl::string_view seats_index = "") {
  const std::string free_seats_of_l =
      absl::StrCat("FROM seats s", seats_index,
                   " WHERE s.workshop = :workshop AND s.location = l.name AND "
                   "s.registration_id IS NULL AND s.number >= ",
                   range_min, " AND s.number <= ", range_max);
  return absl::StrCat(R"sql(
SELECT l.name AS location FROM workshop_locations wl JOIN locations l ON l.name = wl.location
WHERE wl.workshop = :workshop AND l.state = 'active' AND )sql",
                      kLiveLocationSql, " AND EXISTS (SELECT 1 ", free_seats_of_l, R"sql()
ORDER BY CASE WHEN (SELECT count(*) FROM workshop_locations n WHERE n.workshop = :workshop) > 1
              THEN (SELECT count(*) )sql",
                      free_seats_of_l, R"sql() ELSE 0 END DESC,
         CASE WHEN l.name = )sql",
                      primary, " THEN 0 ELSE 1 END, l.name LIMIT 1");
}

// Why no live location could take the registration: the workshop's free seats are all on
// active locations whose controller is not live (NoBackend, retry soon), or there are none
// (full). Read after the claim fell short, so a successful registration never pays for it.
absl::Status NoLiveSeat(SqlTx& tx, const NewRegistration& reg, const Target& t) {
  ASSIGN_OR_RETURN(auto rows, tx.QueryNamed(R"sql(
SELECT DISTINCT s.location FROM seats s JOIN locations l ON l.name = s.location
WHERE s.workshop = :workshop AND s.registration_id IS NULL AND s.number >= :range_min
  AND s.number <= :range_max AND l.state = 'active' ORDER BY s.location)sql",
                                            ClaimParams(reg, t)));
  if (rows.empty()) return NoFreeSeat(reg, t);
  std::vector<std::string> names;
  for (const SqlRow& row : rows) names.push_back(absl::StrCat("'", row.Text("location"), "'"));
  return NoBackendError(absl::StrCat("workshop '", reg.workshop,
                                     "' has free seats only on locations whose controller is "
                                     "not running (",
                                     absl::StrJoin(names, ", "), "); try again shortly"));
}

// The registration's INSERT, on the seat number `free.number` of `from`; `location` and
// `deadline_us` are SQL expressions.
std::string InsertRegistrationSql(absl::string_view location, absl::string_view deadline_us,
                                  absl::string_view from) {
  return absl::StrCat(R"sql(
INSERT INTO registrations (participant_id, workshop, location, seat, start_us, deadline_us, state,
                           token_hash, progress_json, token_nonce)
SELECT :participant, :workshop, )sql",
                      location, ", free.number, :now_us, ", deadline_us,
                      R"sql(, 'active', :token_hash, '', :token_nonce
FROM )sql",
                      from, "\nRETURNING ", kRegistrationColumns);
}

// The seat CREATE names, as a one-row `number` for the claim.
constexpr char kNamedSeat[] = "SELECT CAST(:seat AS INTEGER) AS number";

// The SQL in which SQLite and PostgreSQL differ, chosen once per transaction (SqlOf(tx)); the
// store's logic is written once against it.
struct DialectSql {
  // Row locks a SELECT takes. Empty on SQLite: its write transactions run one at a time
  // (BEGIN IMMEDIATE), so nothing they read can change under them.
  const char* for_update;
  const char* for_share;
  const char* for_key_share;
  const char* for_key_share_of_w;  // the workshop row `w` of a join
  // FOR UPDATE SKIP LOCKED: rows a concurrent claimer locked are passed over, not waited for.
  const char* for_claim;
  // Other write transactions run beside this one (PostgreSQL at READ COMMITTED): a row looked
  // for may have changed while its lock was awaited, and a fresh statement sees what is left.
  bool concurrent_writers;
  // Keeps concurrent catalog loads, registrations and verbs off the rows a load rebuilds.
  absl::Status (*lock_catalog)(SqlTx& tx);
  // Claims a free capacity slot, inserts the registration on the seat `seat_sql` yields (one
  // row with `number`, or none), occupies that seat and hands the slot to the registration.
  absl::StatusOr<Occupation> (*occupy)(SqlTx& tx, const NewRegistration& reg, const Target& t,
                                       absl::string_view seat_sql);
  // Register without a named seat, from the workshop's checks on: on the lowest vacant seat.
  absl::StatusOr<Placement> (*place_on_lowest_seat)(SqlTx& tx, const NewRegistration& reg);
};

const DialectSql& SqlOf(const SqlTx& tx);

// The workshop and the participant's active registration. The workshop row is read FOR KEY
// SHARE: registrations of one workshop share that lock and run in parallel, while a catalog
// load (FOR UPDATE of every workshop row) waits for them and keeps new ones out until it has
// rebuilt seats and slots. The active registration is read after the participant's lock, in
// a snapshot that sees an earlier registration of the same email.
absl::StatusOr<WorkshopFacts> ReadWorkshopFacts(SqlTx& tx, const NewRegistration& reg) {
  ASSIGN_OR_RETURN(
      auto rows, tx.QueryNamed(absl::StrCat("SELECT ", kWorkshopFactsColumns,
                                            " FROM workshops w LEFT JOIN registrations a ON "
                                            "a.participant_id = :participant AND a.state = "
                                            "'active' WHERE w.id = :workshop",
                                            SqlOf(tx).for_key_share_of_w),
                               {{"workshop", reg.workshop}, {"participant", reg.participant_id}}));
  if (!rows.empty()) return WorkshopFactsFromRow(rows[0]);
  // Unknown workshop; an active registration is still reported first.
  ASSIGN_OR_RETURN(rows, tx.QueryNamed("SELECT workshop AS active_workshop, deadline_us AS "
                                       "active_deadline_us FROM registrations WHERE "
                                       "participant_id = :participant AND state = 'active'",
                                       {{"participant", reg.participant_id}}));
  WorkshopFacts facts;
  if (!rows.empty()) {
    facts.active_workshop = rows[0].Text("active_workshop");
    facts.active_deadline = TimeFromDb(rows[0].Int("active_deadline_us"));
  }
  return facts;
}

// CREATE's checks of the named seat: in the workshop's range, existing, of the workshop,
// vacant. The seat row is locked first (PostgreSQL), so the answer holds until the
// transaction ends.
absl::Status CheckRequestedSeat(SqlTx& tx, const std::string& workshop,
                                const model::SeatRange& range, const std::string& location,
                                int number) {
  if (!range.Contains(number)) {
    return absl::FailedPreconditionError(absl::StrCat("seat ", number, " is outside the range ",
                                                      range.min, "-", range.max, " of workshop '",
                                                      workshop, "'"));
  }
  ASSIGN_OR_RETURN(auto rows, tx.QueryNamed(absl::StrCat("SELECT workshop, registration_id FROM "
                                                         "seats WHERE location = :location AND "
                                                         "number = :number",
                                                         SqlOf(tx).for_update),
                                            {{"location", location}, {"number", number}}));
  if (rows.empty()) {
    return absl::NotFoundError(absl::StrCat(SeatName(location, number), " not found"));
  }
  if (rows[0].Text("workshop") != workshop) {
    return absl::FailedPreconditionError(absl::StrCat(
        SeatName(location, number), " belongs to workshop '", rows[0].Text("workshop"), "'"));
  }
  if (!rows[0].IsNull("registration_id")) return SeatOccupied(location, number);
  return absl::OkStatus();
}

// CREATE: the named seat is locked and checked before a slot is claimed (a claimed slot is
// skipped by concurrent registrations until this transaction ends, so failing after the
// claim could make them see the workshop full). Waiting for the seat's lock cannot deadlock:
// whoever holds it (a verb, or a registration that picked that seat) never waits for a lock a
// registration holds. A full workshop still reports its capacity first, as when the count was
// checked before the seat.
absl::Status CheckNamedSeat(SqlTx& tx, const NewRegistration& reg, const Target& t) {
  absl::Status seat_ok = CheckRequestedSeat(tx, reg.workshop, t.range, t.location, *reg.seat);
  if (seat_ok.ok() || t.slot_count < t.capacity) return seat_ok;
  ASSIGN_OR_RETURN(auto free_slots,
                   tx.QueryNamed("SELECT slot FROM capacity_slots WHERE workshop = :workshop AND "
                                 "slot <= :slot_count AND registration_id IS NULL LIMIT 1",
                                 {{"workshop", reg.workshop}, {"slot_count", t.slot_count}}));
  return free_slots.empty() ? CapacityReached(reg, t) : seat_ok;
}

// CREATE: on the seat it names, on either engine.
absl::StatusOr<Placement> PlaceOnNamedSeat(SqlTx& tx, const NewRegistration& reg) {
  Placement placed;
  ASSIGN_OR_RETURN(WorkshopFacts facts, ReadWorkshopFacts(tx, reg));
  ASSIGN_OR_RETURN(placed.target, CheckWorkshop(facts, reg));
  RETURN_IF_ERROR(CheckNamedSeat(tx, reg, placed.target));
  ASSIGN_OR_RETURN(placed.occupation, SqlOf(tx).occupy(tx, reg, placed.target, kNamedSeat));
  return placed;
}

// --- Register on SQLite: write transactions run alone, so the claim is a few plain steps ---

// The free capacity slot with the lowest number, the registration, the seat, the slot taken.
// SQLite is told the indexes: without statistics its planner prefers the primary keys and
// walks every taken row below the first free one.
absl::StatusOr<Occupation> OccupyInSteps(SqlTx& tx, const NewRegistration& reg, const Target& t,
                                         absl::string_view seat_sql) {
  const std::vector<SqlNamedParam> params = ClaimParams(reg, t);
  Occupation o;
  ASSIGN_OR_RETURN(auto slots, tx.QueryNamed(R"sql(
SELECT slot FROM capacity_slots INDEXED BY capacity_slots_free
WHERE workshop = :workshop AND slot <= :slot_count AND registration_id IS NULL
ORDER BY slot LIMIT 1)sql",
                                             params));
  if (slots.empty()) return o;
  o.slot_claimed = slots[0].Int("slot");
  ASSIGN_OR_RETURN(auto registrations,
                   tx.QueryNamed(InsertRegistrationSql(":location", ":deadline_us",
                                                       absl::StrCat("(", seat_sql, ") AS free")),
                                 params));
  if (registrations.size() != 1) return o;
  o.registration = RegistrationFromRow(registrations[0]);
  ASSIGN_OR_RETURN(auto seats, tx.QueryNamed(absl::StrCat(R"sql(
UPDATE seats SET registration_id = :registration, generation = generation + 1
WHERE location = :location AND number = :number AND registration_id IS NULL
RETURNING )sql",
                                                          kSeatColumns),
                                             {{"registration", o.registration->id},
                                              {"location", t.location},
                                              {"number", o.registration->seat}}));
  if (seats.size() == 1) o.seat = SeatFromRow(seats[0]);
  ASSIGN_OR_RETURN(int64_t slots_taken, tx.ExecNamed(R"sql(
UPDATE capacity_slots SET registration_id = :registration
WHERE workshop = :workshop AND slot = :slot AND registration_id IS NULL)sql",
                                                     {{"registration", o.registration->id},
                                                      {"workshop", reg.workshop},
                                                      {"slot", *o.slot_claimed}}));
  o.slot_taken = slots_taken == 1;
  return o;
}

// The lowest vacant seat of the range, picked inside the INSERT: an index seek on
// seats_vacant.
constexpr char kLowestVacantSeatSqlite[] = R"sql(
SELECT number FROM seats INDEXED BY seats_vacant
WHERE workshop = :workshop AND location = :location AND number >= :range_min
  AND number <= :range_max AND registration_id IS NULL
ORDER BY number LIMIT 1)sql";

absl::StatusOr<Placement> PlaceOnLowestSeatInSteps(SqlTx& tx, const NewRegistration& reg) {
  Placement placed;
  ASSIGN_OR_RETURN(WorkshopFacts facts, ReadWorkshopFacts(tx, reg));
  ASSIGN_OR_RETURN(placed.target, CheckWorkshop(facts, reg));
  ASSIGN_OR_RETURN(auto route, tx.QueryNamed(RouteSql(":range_min", ":range_max", ":primary",
                                                      kSqliteSeatsVacant),
                                             ClaimParams(reg, placed.target)));
  if (route.empty()) {
    // Capacity is reported first, as when a live location had a seat.
    ASSIGN_OR_RETURN(auto free_slots,
                     tx.QueryNamed("SELECT slot FROM capacity_slots WHERE workshop = :workshop AND "
                                   "slot <= :slot_count AND registration_id IS NULL LIMIT 1",
                                   ClaimParams(reg, placed.target)));
    if (free_slots.empty() && placed.target.slot_count >= placed.target.capacity) {
      return CapacityReached(reg, placed.target);
    }
    return NoLiveSeat(tx, reg, placed.target);
  }
  placed.target.location = route[0].Text("location");
  ASSIGN_OR_RETURN(placed.occupation,
                   OccupyInSteps(tx, reg, placed.target, kLowestVacantSeatSqlite));
  return placed;
}

absl::Status NoCatalogLock(SqlTx&) { return absl::OkStatus(); }

// --- Register on PostgreSQL: one statement (a data-modifying WITH) does the claim ---
//
// Each round trip is time in which a registration is not yet waiting for a commit it could
// share with others. Slots and seats are claimed with SKIP LOCKED: one a concurrent
// registration claimed is passed over, not waited for. The WITH parts below follow the
// steps: `slot` claims, `r` inserts the registration, `s` occupies the seat, `c` hands over
// the slot; the final SELECT reports each part (NULLs for what did not happen).

// `s` and `c`, after a `slot` and an `r`.
constexpr char kOccupySeatAndSlotPostgres[] = R"sql(
s AS (
  UPDATE seats SET registration_id = r.id, generation = seats.generation + 1 FROM r
  WHERE seats.location = r.location AND seats.number = r.seat AND seats.registration_id IS NULL
  RETURNING seats.location, seats.number, seats.workshop, seats.registration_id, seats.password,
            seats.reset_epoch, seats.generation),
c AS (
  UPDATE capacity_slots SET registration_id = r.id FROM r, slot
  WHERE capacity_slots.workshop = r.workshop AND capacity_slots.slot = slot.slot
    AND capacity_slots.registration_id IS NULL
  RETURNING capacity_slots.slot)
)sql";

// Joined to one row whatever happened: the parts that did not happen are NULL.
constexpr char kJoinOccupationPostgres[] =
    "LEFT JOIN r ON TRUE LEFT JOIN s ON TRUE LEFT JOIN c ON TRUE";

absl::StatusOr<Occupation> OccupyInOneStatement(SqlTx& tx, const NewRegistration& reg,
                                                const Target& t, absl::string_view seat_sql) {
  const std::string sql =
      absl::StrCat(R"sql(
WITH slot AS (
  SELECT slot FROM capacity_slots
  WHERE workshop = :workshop AND slot <= :slot_count AND registration_id IS NULL
  ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED),
r AS ()sql",
                   InsertRegistrationSql(":location", ":deadline_us",
                                         absl::StrCat("slot, (", seat_sql, ") AS free")),
                   "),", kOccupySeatAndSlotPostgres, "SELECT ", OccupationColumns(),
                   " FROM (SELECT 1) AS one ", kJoinOccupationPostgres);
  ASSIGN_OR_RETURN(SqlRow row, OneRow(tx.QueryNamed(sql, ClaimParams(reg, t))));
  return OccupationFromRow(row);
}

// The lowest vacant seat with the workshop's checks in the same statement: `go` is the
// workshop row (`w`, FOR KEY SHARE as in ReadWorkshopFacts) when it passes the checks and the
// participant has no active registration (`a`). Every claim is guarded by scalar subqueries
// of `go`, evaluated before the scans they limit, so a refused registration locks nothing.
// Slots are claimed from a random point on: any free slot will do, and concurrent
// registrations then rarely meet each other's locked or just-taken rows. `loc` is the
// location the registration is routed to (RouteSql).
const std::string& CheckAndClaimPostgres() {
  static const std::string* const kSql = new std::string(
      absl::StrCat(R"sql(
WITH w AS (
  SELECT active, capacity, range_min, range_max, location, duration_hours, slot_count,
         CASE WHEN :duration_given THEN :given_deadline_us
              ELSE :now_us + duration_hours * CAST(3600000000 AS BIGINT) END AS deadline_us,
         (:duration_given OR duration_hours > 0) AS has_duration,
         CAST(1 + floor(random() * slot_count) AS INTEGER) AS start
  FROM workshops WHERE id = :workshop FOR KEY SHARE),
a AS (
  SELECT workshop, deadline_us FROM registrations
  WHERE participant_id = :participant AND state = 'active'),
go AS (SELECT * FROM w WHERE active AND has_duration AND NOT EXISTS (SELECT 1 FROM a)),
loc AS ()sql",
                   RouteSql("(SELECT range_min FROM go)", "(SELECT range_max FROM go)",
                            "(SELECT location FROM go)"),
                   R"sql(),
slot AS (
  SELECT slot FROM (
    SELECT slot FROM (
      SELECT slot FROM capacity_slots
      WHERE workshop = :workshop AND slot >= (SELECT start FROM go)
        AND slot <= (SELECT slot_count FROM go) AND registration_id IS NULL
      ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED) AS above
    UNION ALL
    SELECT slot FROM (
      SELECT slot FROM capacity_slots
      WHERE workshop = :workshop AND slot < (SELECT start FROM go)
        AND slot <= (SELECT slot_count FROM go) AND registration_id IS NULL
      ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED) AS below) AS either
  LIMIT 1),
free AS (
  SELECT number FROM seats
  WHERE workshop = :workshop AND location = (SELECT location FROM loc)
    AND number >= (SELECT range_min FROM go) AND number <= (SELECT range_max FROM go)
    AND registration_id IS NULL AND EXISTS (SELECT 1 FROM slot)
  ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED),
r AS ()sql"));
  return *kSql;
}

absl::StatusOr<Placement> PlaceOnLowestSeatInOneStatement(SqlTx& tx, const NewRegistration& reg) {
  const bool duration_given = reg.duration > absl::ZeroDuration();
  const std::string sql = absl::StrCat(
      CheckAndClaimPostgres(),
      InsertRegistrationSql("(SELECT location FROM loc)", "go.deadline_us", "go, slot, free"), "),",
      kOccupySeatAndSlotPostgres, "SELECT ", kWorkshopFactsColumns, ", ", OccupationColumns(),
      ", (SELECT location FROM loc) AS routed_location ",
      "FROM (SELECT 1) AS one LEFT JOIN w ON TRUE LEFT JOIN a ON TRUE ", kJoinOccupationPostgres);
  ASSIGN_OR_RETURN(
      SqlRow row,
      OneRow(tx.QueryNamed(
          sql, {{"workshop", reg.workshop},
                {"participant", reg.participant_id},
                {"now_us", TimeToDb(reg.now)},
                {"duration_given", duration_given},
                {"given_deadline_us",
                 duration_given ? TimeToDb(ToMicros(reg.now + reg.duration)) : int64_t{0}},
                {"token_hash", reg.token_hash},
                {"token_nonce", reg.token_nonce},
                {"live_since_us", TimeToDb(reg.now - kLocationLiveFor)}})));
  Placement placed;
  ASSIGN_OR_RETURN(placed.target, CheckWorkshop(WorkshopFactsFromRow(row), reg));
  placed.occupation = OccupationFromRow(row);
  if (row.IsNull("routed_location")) {
    // No live location has a vacant seat: capacity first, as when one had.
    if (!placed.occupation.slot_claimed && placed.target.slot_count >= placed.target.capacity) {
      return CapacityReached(reg, placed.target);
    }
    return NoLiveSeat(tx, reg, placed.target);
  }
  placed.target.location = row.Text("routed_location");
  return placed;
}

// Catalog loads run one at a time (two first loads would both insert the same rows), and
// registrations and verbs hold their workshop row FOR KEY SHARE: holding them all FOR UPDATE
// waits for those in flight and keeps new ones off the seats and capacity slots while they
// are rebuilt.
absl::Status LockCatalogPostgres(SqlTx& tx) {
  RETURN_IF_ERROR(tx.Query("SELECT pg_advisory_xact_lock($1)", {kCatalogLockKey}).status());
  return tx.Query("SELECT id FROM workshops ORDER BY id FOR UPDATE").status();
}

constexpr DialectSql kSqliteSql = {
    .for_update = "",
    .for_share = "",
    .for_key_share = "",
    .for_key_share_of_w = "",
    .for_claim = "",
    .concurrent_writers = false,
    .lock_catalog = NoCatalogLock,
    .occupy = OccupyInSteps,
    .place_on_lowest_seat = PlaceOnLowestSeatInSteps,
};

constexpr DialectSql kPostgresSql = {
    .for_update = " FOR UPDATE",
    .for_share = " FOR SHARE",
    .for_key_share = " FOR KEY SHARE",
    .for_key_share_of_w = " FOR KEY SHARE OF w",
    .for_claim = " FOR UPDATE SKIP LOCKED",
    .concurrent_writers = true,
    .lock_catalog = LockCatalogPostgres,
    .occupy = OccupyInOneStatement,
    .place_on_lowest_seat = PlaceOnLowestSeatInOneStatement,
};

const DialectSql& SqlOf(const SqlTx& tx) {
  return tx.dialect() == Dialect::kPostgres ? kPostgresSql : kSqliteSql;
}

// The participant of `email`, inserted or with name and company updated. The upsert locks
// the participant row: two registrations of one email run one at a time, and the second
// sees the first's registration (on PostgreSQL each READ COMMITTED statement reads a
// snapshot taken after the lock wait).
absl::StatusOr<model::Participant> UpsertParticipant(SqlTx& tx, const std::string& email,
                                                     const std::string& name,
                                                     const std::string& company) {
  ASSIGN_OR_RETURN(auto rows,
                   tx.QueryNamed(absl::StrCat("INSERT INTO participants (email, "
                                              "name, company) VALUES (:email, :name, "
                                              ":company) ON CONFLICT (email) DO "
                                              "UPDATE SET name = excluded.name, "
                                              "company = excluded.company RETURNING ",
                                              kParticipantColumns),
                                 {{"email", email}, {"name", name}, {"company", company}}));
  if (rows.size() != 1) return absl::InternalError("participant upsert returned no row");
  return ParticipantFromRow(rows[0]);
}

class SqlStore final : public Store {
 public:
  explicit SqlStore(std::unique_ptr<SqlDb> db) : db_(std::move(db)) {}

  // --- catalog and locations ---

  absl::StatusOr<CatalogChange> UpsertCatalog(
      const std::vector<model::Workshop>& workshops) override {
    std::vector<const model::Workshop*> sorted;
    std::set<std::string> ids;
    for (const model::Workshop& w : workshops) {
      RETURN_IF_ERROR(ValidateWorkshop(w));
      if (!ids.insert(w.id).second) {
        return absl::InvalidArgumentError(absl::StrCat("workshop '", w.id, "' appears twice"));
      }
      sorted.push_back(&w);
    }
    std::sort(sorted.begin(), sorted.end(),
              [](const auto* a, const auto* b) { return a->id < b->id; });

    CatalogChange change;
    RETURN_IF_ERROR(db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      change = CatalogChange{};
      RETURN_IF_ERROR(SqlOf(tx).lock_catalog(tx));
      ASSIGN_OR_RETURN(auto hash_rows, tx.Query("SELECT id, spec_hash FROM workshops"));
      std::map<std::string, std::string> stored_hash;
      for (const SqlRow& row : hash_rows) stored_hash[row.Text("id")] = row.Text("spec_hash");

      for (const model::Workshop* w : sorted) {
        std::string hash = WorkshopSpecHash(*w);
        auto it = stored_hash.find(w->id);
        if (it != stored_hash.end() && it->second == hash) {
          change.unchanged.push_back(w->id);
          continue;
        }
        for (const std::string& location : w->Locations()) {
          RETURN_IF_ERROR(EnsureLocation(tx, location));
        }
        std::vector<SqlParam> params = {w->id,        WorkshopToJson(*w), hash,
                                        w->active,    w->capacity,        w->range.min,
                                        w->range.max, w->location,        w->duration_hours};
        if (it == stored_hash.end()) {
          RETURN_IF_ERROR(tx.Exec("INSERT INTO workshops (id, spec_json, spec_hash, active, "
                                  "capacity, range_min, range_max, location, duration_hours, "
                                  "generation) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)",
                                  params)
                              .status());
          change.inserted.push_back(w->id);
        } else {
          RETURN_IF_ERROR(tx.Exec("UPDATE workshops SET spec_json = $2, spec_hash = $3, "
                                  "active = $4, capacity = $5, range_min = $6, range_max = $7, "
                                  "location = $8, duration_hours = $9, "
                                  "generation = generation + 1 WHERE id = $1",
                                  params)
                              .status());
          change.updated.push_back(w->id);
        }
        RETURN_IF_ERROR(SetWorkshopLocations(tx, *w));
      }
      bool seats_moved = false;
      RETURN_IF_ERROR(RebuildSeatPool(tx, &change, &seats_moved));
      RETURN_IF_ERROR(SyncSlots(tx));
      if (!change.inserted.empty() || !change.updated.empty() || change.seats_added > 0 ||
          change.seats_removed > 0 || seats_moved) {
        RETURN_IF_ERROR(tx.MarkChanged());
      }
      return absl::OkStatus();
    }));
    return change;
  }

  absl::StatusOr<std::vector<model::Workshop>> ListWorkshops() override {
    std::vector<model::Workshop> out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT id, spec_json FROM workshops ORDER BY id"));
      for (const SqlRow& row : rows) {
        ASSIGN_OR_RETURN(model::Workshop w, ParseSpec(row.Text(0), row.Text(1)));
        out.push_back(std::move(w));
      }
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<model::Workshop> GetWorkshop(const std::string& id) override {
    model::Workshop out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT spec_json FROM workshops WHERE id = $1", {id}));
      if (rows.empty()) return absl::NotFoundError(absl::StrCat("workshop '", id, "' not found"));
      ASSIGN_OR_RETURN(out, ParseSpec(id, rows[0].Text(0)));
      return absl::OkStatus();
    }));
    return out;
  }

  absl::Status UpsertLocation(const model::Location& location) override {
    if (location.name.empty()) return absl::InvalidArgumentError("location with empty name");
    return db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      // Insert-or-nothing first: two first upserts of one name must not race two inserts.
      ASSIGN_OR_RETURN(int64_t inserted,
                       tx.Exec("INSERT INTO locations (name, fqdn, hub_url, state, generation) "
                               "VALUES ($1, $2, $3, $4, 1) ON CONFLICT (name) DO NOTHING",
                               {location.name, location.fqdn, location.hub_url,
                                model::LocationStateName(location.state)}));
      if (inserted == 1) return tx.MarkChanged(location.name);
      LocationPatch patch;
      patch.fqdn = location.fqdn;
      patch.hub_url = location.hub_url;
      patch.state = location.state;
      return PatchLocation(tx, location.name, patch).status();
    });
  }

  absl::StatusOr<model::Location> UpdateLocation(const std::string& name,
                                                 const LocationPatch& patch) override {
    model::Location out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(out, PatchLocation(tx, name, patch));
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<std::vector<model::Location>> ListLocations() override {
    std::vector<model::Location> out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      ASSIGN_OR_RETURN(auto rows, tx.Query(absl::StrCat("SELECT ", kLocationColumns,
                                                        " FROM locations ORDER BY name")));
      for (const SqlRow& row : rows) out.push_back(LocationFromRow(row));
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<std::vector<LocationHealth>> ListLocationHealth(absl::Time now) override {
    std::vector<LocationHealth> out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      ASSIGN_OR_RETURN(auto rows,
                       tx.QueryNamed(absl::StrCat(R"sql(
SELECT )sql",
                                                  JoinedColumns("l", kLocationColumns),
                                                  R"sql(,
  le.holder AS holder, le.epoch AS epoch, le.expires_us AS expires_us,
  p.last_pass_us AS last_pass_us, p.last_duration_us AS last_duration_us, p.passes AS passes,
  (SELECT count(*) FROM seats s WHERE s.location = l.name) AS seats,
  (SELECT count(*) FROM seats s WHERE s.location = l.name
     AND s.registration_id IS NOT NULL) AS occupied,
  (SELECT count(*) FROM seat_status st WHERE st.location = l.name
     AND st.phase = 'Failed') AS failed,
  CASE WHEN )sql",
                                                  kLiveLocationSql, R"sql(
       AND EXISTS (SELECT 1 FROM pass_stats p2 WHERE p2.location = l.name)
       THEN 1 ELSE 0 END AS live
FROM locations l
LEFT JOIN leases le ON le.name = 'controller/' || l.name
LEFT JOIN pass_stats p ON p.location = l.name
ORDER BY l.name)sql"),
                                     {{"now_us", TimeToDb(now)},
                                      {"live_since_us", TimeToDb(now - kLocationLiveFor)}}));
      for (const SqlRow& row : rows) {
        LocationHealth h;
        h.location = LocationFromRow(row.WithPrefix("l_"));
        if (!row.IsNull("holder")) {
          h.lease_holder = row.Text("holder");
          h.lease_epoch = row.Int("epoch");
          h.lease_expires = TimeFromDb(row.Int("expires_us"));
        }
        if (!row.IsNull("last_pass_us")) {
          h.last_pass = TimeFromDb(row.Int("last_pass_us"));
          h.last_pass_duration = absl::Microseconds(row.Int("last_duration_us"));
          h.passes = row.Int("passes");
        }
        h.live = row.Int("live") == 1;
        h.seats = static_cast<int>(row.Int("seats"));
        h.occupied = static_cast<int>(row.Int("occupied"));
        h.failed = static_cast<int>(row.Int("failed"));
        out.push_back(std::move(h));
      }
      return absl::OkStatus();
    }));
    return out;
  }

  // --- registrations and seats ---

  absl::StatusOr<RegisterResult> Register(const RegisterRequest& request) override {
    std::string email = absl::AsciiStrToLower(absl::StripAsciiWhitespace(request.email));
    if (email.empty() || email.find('@') == std::string::npos) {
      return absl::InvalidArgumentError("invalid email address");
    }
    if (request.workshop.empty()) return absl::InvalidArgumentError("no workshop given");
    if (request.duration < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("negative registration duration");
    }
    const std::string token = request.token.empty() ? common::RandomToken() : request.token;
    NewRegistration reg;
    reg.email = email;
    reg.workshop = request.workshop;
    reg.seat = request.seat;
    reg.now = ToMicros(request.now);
    reg.duration = request.duration;
    reg.token_hash = common::Sha256Hex(token);
    reg.token_nonce = request.token.empty() ? "" : request.token_nonce;
    // The seat keeps its password: the fresh random one its vacancy put in (the catalog load
    // or the CLEANUP/PURGE that ended the previous occupant), known to nobody until now and
    // already in the locked account's shadow entry. So a warm seat needs no hashing and no
    // password write to be taken: its occupant marker and an unlock.

    RegisterResult result;
    RETURN_IF_ERROR(db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(model::Participant participant,
                       UpsertParticipant(tx, email, request.name, request.company));
      reg.participant_id = participant.id;
      ASSIGN_OR_RETURN(Placement placed, reg.seat ? PlaceOnNamedSeat(tx, reg)
                                                  : SqlOf(tx).place_on_lowest_seat(tx, reg));
      RETURN_IF_ERROR(CheckOccupation(placed.occupation, reg, placed.target));
      result.registration = std::move(*placed.occupation.registration);
      result.participant = std::move(participant);
      result.seat = std::move(*placed.occupation.seat);
      result.token = token;
      return tx.MarkChanged(result.registration.location);
    }));
    return result;
  }

  absl::StatusOr<std::vector<SeatView>> ListSeats(
      const std::optional<std::string>& location) override {
    std::vector<SeatView> out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      std::vector<SqlRow> rows;
      if (location) {
        ASSIGN_OR_RETURN(rows, tx.Query(SeatViewSelect() +
                                            " WHERE s.location = $1 ORDER BY s.location, s.number",
                                        {*location}));
      } else {
        ASSIGN_OR_RETURN(rows, tx.Query(SeatViewSelect() + " ORDER BY s.location, s.number"));
      }
      for (const SqlRow& row : rows) out.push_back(SeatViewFromRow(row));
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<std::vector<model::Seat>> ListLocationSeats(const std::string& location) override {
    std::vector<model::Seat> out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows, tx.Query(absl::StrCat("SELECT ", kSeatColumns,
                                                        " FROM seats WHERE location = $1"
                                                        " ORDER BY number"),
                                           {location}));
      out.clear();
      out.reserve(rows.size());
      for (const SqlRow& row : rows) out.push_back(SeatFromRow(row));
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<SeatView> GetSeat(const std::string& location, int number) override {
    SeatView out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows,
                       tx.Query(SeatViewSelect() + " WHERE s.location = $1 AND s.number = $2",
                                {location, number}));
      if (rows.empty()) {
        return absl::NotFoundError(absl::StrCat(SeatName(location, number), " not found"));
      }
      out = SeatViewFromRow(rows[0]);
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<Registration> GetRegistration(int64_t id) override {
    return ReadRegistration("id = $1", id, absl::StrCat("registration ", id, " not found"));
  }

  absl::StatusOr<Registration> GetRegistrationByToken(const std::string& token) override {
    if (token.empty()) return absl::NotFoundError("registration not found");
    // The message never echoes the token.
    return ReadRegistration("token_hash = $1", common::Sha256Hex(token), "registration not found");
  }

  absl::StatusOr<std::vector<Registration>> ListRegistrations(
      std::optional<RegistrationState> state) override {
    std::vector<Registration> out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      std::string sql = absl::StrCat("SELECT ", kRegistrationColumns, " FROM registrations");
      std::vector<SqlRow> rows;
      if (state) {
        ASSIGN_OR_RETURN(rows, tx.Query(sql + " WHERE state = $1 ORDER BY id",
                                        {model::RegistrationStateName(*state)}));
      } else {
        ASSIGN_OR_RETURN(rows, tx.Query(sql + " ORDER BY id"));
      }
      for (const SqlRow& row : rows) out.push_back(RegistrationFromRow(row));
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<RegisterResult> MoveRegistration(int64_t id, const std::string& location, int seat,
                                                  absl::Time now) override {
    RegisterResult out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows, tx.Query(absl::StrCat("SELECT ", kRegistrationColumns,
                                                        " FROM registrations WHERE id = $1",
                                                        SqlOf(tx).for_update),
                                           {id}));
      if (rows.empty()) return absl::NotFoundError(absl::StrCat("registration ", id, " not found"));
      Registration reg = RegistrationFromRow(rows[0]);
      if (reg.state != RegistrationState::kActive || reg.location != location || reg.seat != seat) {
        return absl::FailedPreconditionError(
            absl::StrCat("registration ", id, " is not active on ", SeatName(location, seat)));
      }
      const std::vector<SqlNamedParam> params = {
          {"workshop", reg.workshop},
          {"location", location},
          {"now_us", TimeToDb(now)},
          {"live_since_us", TimeToDb(now - kLocationLiveFor)}};
      ASSIGN_OR_RETURN(auto live, tx.QueryNamed(absl::StrCat("SELECT 1 FROM locations l WHERE "
                                                             "l.name = :location AND ",
                                                             kLiveLocationSql),
                                                params));
      if (!live.empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat("location '", location, "' is live: registration ", id, " stays"));
      }
      ASSIGN_OR_RETURN(auto ranges, tx.QueryNamed("SELECT range_min, range_max, location FROM "
                                                  "workshops WHERE id = :workshop",
                                                  params));
      if (ranges.empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat("workshop '", reg.workshop, "' is not in the catalog"));
      }
      std::vector<SqlNamedParam> route_params = params;
      route_params.push_back({"range_min", ranges[0].Int("range_min")});
      route_params.push_back({"range_max", ranges[0].Int("range_max")});
      route_params.push_back({"primary", ranges[0].Text("location")});
      ASSIGN_OR_RETURN(
          auto route,
          tx.QueryNamed(RouteSql(":range_min", ":range_max", ":primary",
                                 tx.dialect() == Dialect::kSqlite ? kSqliteSeatsVacant : ""),
                        route_params));
      if (route.empty()) {
        return absl::ResourceExhaustedError(
            absl::StrCat("no live location has a free seat of workshop '", reg.workshop, "'"));
      }
      const std::string target = route[0].Text("location");
      route_params.push_back({"target", target});
      ASSIGN_OR_RETURN(auto free, tx.QueryNamed(absl::StrCat(R"sql(
SELECT number FROM seats WHERE workshop = :workshop AND location = :target
  AND number >= :range_min AND number <= :range_max AND registration_id IS NULL
ORDER BY number LIMIT 1)sql",
                                                             SqlOf(tx).for_claim),
                                                route_params));
      if (free.empty()) {
        return absl::ResourceExhaustedError(
            absl::StrCat("no free seat of workshop '", reg.workshop, "' on '", target, "'"));
      }
      const int64_t number = free[0].Int("number");
      // The old seat is vacated as CLEANUP does: a fresh password nobody knows.
      ASSIGN_OR_RETURN(int64_t vacated,
                       tx.Exec("UPDATE seats SET registration_id = NULL, password = $4, "
                               "generation = generation + 1 WHERE location = $1 AND number = $2 "
                               "AND registration_id = $3",
                               {location, seat, id, common::RandomPassword()}));
      if (vacated != 1) {
        return absl::FailedPreconditionError(
            absl::StrCat(SeatName(location, seat), " is not held by registration ", id));
      }
      ASSIGN_OR_RETURN(auto taken, tx.Query(absl::StrCat("UPDATE seats SET registration_id = $3, "
                                                         "generation = generation + 1 WHERE "
                                                         "location = $1 AND number = $2 AND "
                                                         "registration_id IS NULL RETURNING ",
                                                         kSeatColumns),
                                            {target, number, id}));
      if (taken.size() != 1) {
        return absl::AbortedError(
            absl::StrCat(SeatName(target, static_cast<int>(number)), " was taken meanwhile"));
      }
      ASSIGN_OR_RETURN(auto moved,
                       tx.Query(absl::StrCat("UPDATE registrations SET location = $2, seat = $3 "
                                             "WHERE id = $1 RETURNING ",
                                             kRegistrationColumns),
                                {id, target, number}));
      if (moved.size() != 1) return absl::InternalError("moved registration not returned");
      out.registration = RegistrationFromRow(moved[0]);
      out.seat = SeatFromRow(taken[0]);
      // Both controllers: the old seat is vacated, the new one made.
      RETURN_IF_ERROR(tx.MarkChanged(location));
      return tx.MarkChanged(target);
    }));
    return out;
  }

  absl::StatusOr<std::vector<Registration>> ListRegistrationsByIds(
      const std::vector<int64_t>& ids) override {
    std::vector<Registration> out;
    if (ids.empty()) return out;
    // In chunks, under every engine's limit of parameters per statement.
    constexpr size_t kChunk = 500;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      for (size_t begin = 0; begin < ids.size(); begin += kChunk) {
        const size_t end = std::min(ids.size(), begin + kChunk);
        std::vector<std::string> marks;
        std::vector<SqlParam> params;
        for (size_t i = begin; i < end; ++i) {
          marks.push_back(absl::StrCat("$", i - begin + 1));
          params.push_back(ids[i]);
        }
        ASSIGN_OR_RETURN(auto rows, tx.Query(absl::StrCat("SELECT ", kRegistrationColumns,
                                                          " FROM registrations WHERE id IN (",
                                                          absl::StrJoin(marks, ", "), ")"),
                                             params));
        for (const SqlRow& row : rows) out.push_back(RegistrationFromRow(row));
      }
      std::sort(out.begin(), out.end(),
                [](const Registration& a, const Registration& b) { return a.id < b.id; });
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<std::vector<model::Participant>> ListParticipants() override {
    std::vector<model::Participant> out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      ASSIGN_OR_RETURN(auto rows,
                       tx.Query("SELECT id, email, name, company FROM participants ORDER BY id"));
      for (const SqlRow& row : rows) out.push_back(ParticipantFromRow(row));
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<VerbResult> ApplyVerb(model::Verb verb, const std::string& location, int number,
                                       absl::Time now) override {
    return ApplyVerbGuarded(verb, location, number, std::nullopt, now);
  }

  absl::StatusOr<VerbResult> ApplyVerbIfHeldBy(model::Verb verb, const std::string& location,
                                               int number, int64_t expected_registration,
                                               absl::Time now) override {
    return ApplyVerbGuarded(verb, location, number, expected_registration, now);
  }

  // ApplyVerb; with `expected` set, only while that registration holds the seat (checked
  // after the seat row is locked, so no registration can take it in between).
  absl::StatusOr<VerbResult> ApplyVerbGuarded(model::Verb verb, const std::string& location,
                                              int number, std::optional<int64_t> expected,
                                              absl::Time now) {
    if (verb == model::Verb::kCreate) {
      return absl::InvalidArgumentError("CREATE goes through Register with a seat");
    }
    now = ToMicros(now);
    const std::string vacant_password = common::RandomPassword();
    VerbResult result;
    RETURN_IF_ERROR(db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      result = VerbResult{};
      ASSIGN_OR_RETURN(auto srows, tx.Query(absl::StrCat("SELECT ", kSeatColumns,
                                                         " FROM seats WHERE "
                                                         "location = $1 AND number = $2",
                                                         SqlOf(tx).for_update),
                                            {location, number}));
      if (srows.empty()) {
        return absl::NotFoundError(absl::StrCat(SeatName(location, number), " not found"));
      }
      result.seat = SeatFromRow(srows[0]);
      if (!result.seat.registration_id) return absl::OkStatus();  // already vacant: no-op
      if (expected && *result.seat.registration_id != *expected) {
        return absl::OkStatus();  // the seat changed hands: not the caller's to end
      }
      const int64_t registration_id = *result.seat.registration_id;

      std::vector<SqlRow> seat_rows;
      std::vector<SqlRow> reg_rows;
      if (verb == model::Verb::kReset) {
        ASSIGN_OR_RETURN(seat_rows,
                         tx.Query(absl::StrCat("UPDATE seats SET reset_epoch = reset_epoch + 1, "
                                               "generation = generation + 1 WHERE location = $1 "
                                               "AND number = $2 RETURNING ",
                                               kSeatColumns),
                                  {location, number}));
        ASSIGN_OR_RETURN(reg_rows, tx.Query(absl::StrCat("SELECT ", kRegistrationColumns,
                                                         " FROM registrations WHERE id = $1"),
                                            {registration_id}));
      } else {
        const char* state = verb == model::Verb::kPurge ? "failed" : "ended";
        ASSIGN_OR_RETURN(reg_rows,
                         tx.Query(absl::StrCat("UPDATE registrations SET state = $1, "
                                               "ended_us = $2 WHERE id = $3 AND state = 'active' "
                                               "RETURNING ",
                                               kRegistrationColumns),
                                  {state, TimeToDb(now), registration_id}));
        if (reg_rows.empty()) {
          return absl::InternalError(absl::StrCat(SeatName(location, number),
                                                  " is held by registration ", registration_id,
                                                  ", which is not active"));
        }
        RETURN_IF_ERROR(ReleaseSlot(tx, reg_rows[0].Text("workshop"), registration_id));
        ASSIGN_OR_RETURN(seat_rows,
                         tx.Query(absl::StrCat("UPDATE seats SET registration_id = NULL, "
                                               "password = $1, generation = generation + 1 "
                                               "WHERE location = $2 AND number = $3 RETURNING ",
                                               kSeatColumns),
                                  {vacant_password, location, number}));
      }
      if (seat_rows.size() != 1) return absl::InternalError("seat update returned no row");
      result.changed = true;
      result.seat = SeatFromRow(seat_rows[0]);
      if (!reg_rows.empty()) result.registration = RegistrationFromRow(reg_rows[0]);
      return tx.MarkChanged(location);
    }));
    return result;
  }

  absl::StatusOr<Registration> Extend(int64_t registration_id, absl::Time new_deadline) override {
    new_deadline = ToMicros(new_deadline);
    Registration out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows, tx.Query(absl::StrCat("SELECT ", kRegistrationColumns,
                                                        " FROM registrations WHERE id = $1",
                                                        SqlOf(tx).for_update),
                                           {registration_id}));
      if (rows.empty()) {
        return absl::NotFoundError(absl::StrCat("registration ", registration_id, " not found"));
      }
      Registration r = RegistrationFromRow(rows[0]);
      if (r.state != RegistrationState::kActive) {
        return absl::FailedPreconditionError(absl::StrCat("registration ", registration_id, " is ",
                                                          model::RegistrationStateName(r.state)));
      }
      if (new_deadline <= r.start) {
        return absl::InvalidArgumentError(
            absl::StrCat("new deadline ", common::FormatTime(new_deadline),
                         " is not after the start ", common::FormatTime(r.start)));
      }
      RETURN_IF_ERROR(tx.Exec("UPDATE registrations SET deadline_us = $1 WHERE id = $2",
                              {TimeToDb(new_deadline), registration_id})
                          .status());
      r.deadline = new_deadline;
      out = std::move(r);
      return tx.MarkChanged(out.location);
    }));
    return out;
  }

  absl::StatusOr<bool> RecordHarvest(int64_t registration_id,
                                     const std::string& progress_json) override {
    if (progress_json.empty() || !nlohmann::json::accept(progress_json)) {
      return absl::InvalidArgumentError("harvested progress is not JSON");
    }
    bool stored = false;
    RETURN_IF_ERROR(db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(int64_t n, tx.Exec("UPDATE registrations SET progress_json = $1 "
                                          "WHERE id = $2 AND progress_json = ''",
                                          {progress_json, registration_id}));
      stored = n == 1;
      if (stored) return absl::OkStatus();
      ASSIGN_OR_RETURN(auto rows,
                       tx.Query("SELECT id FROM registrations WHERE id = $1", {registration_id}));
      if (rows.empty()) {
        return absl::NotFoundError(absl::StrCat("registration ", registration_id, " not found"));
      }
      return absl::OkStatus();
    }));
    return stored;
  }

  // --- status ---

  static absl::Status CheckSeatStatus(const SeatStatus& status) {
    if (status.location.empty()) return absl::InvalidArgumentError("seat status without location");
    if (!status.progress_json.empty() && !nlohmann::json::accept(status.progress_json)) {
      return absl::InvalidArgumentError("seat progress is not JSON");
    }
    return absl::OkStatus();
  }

  static absl::Status UpsertSeatStatus(SqlTx& tx, const SeatStatus& status,
                                       const std::string& lease_name, int64_t lease_epoch) {
    std::optional<int64_t> last_activity;
    if (status.last_activity) last_activity = TimeToDb(*status.last_activity);
    return tx
        .Exec(
            "INSERT INTO seat_status (location, number, observed_generation, phase, "
            "conditions_json, last_error, updated_us, lease_name, lease_epoch, "
            "progress_registration, progress_json, last_activity_us) VALUES "
            "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
            "ON CONFLICT (location, number) DO UPDATE "
            "SET observed_generation = excluded.observed_generation, phase = excluded.phase, "
            "conditions_json = excluded.conditions_json, last_error = excluded.last_error, "
            "updated_us = excluded.updated_us, lease_name = excluded.lease_name, "
            "lease_epoch = excluded.lease_epoch, "
            "progress_registration = excluded.progress_registration, "
            "progress_json = excluded.progress_json, "
            "last_activity_us = excluded.last_activity_us",
            {status.location, status.number, status.observed_generation,
             std::string(model::PhaseName(status.phase)), ConditionsToJson(status.conditions),
             status.last_error, TimeToDb(status.updated), lease_name, lease_epoch,
             status.progress_registration, status.progress_json, last_activity})
        .status();
  }

  static absl::Status InsertEvent(SqlTx& tx, const Event& event) {
    return tx
        .Exec(
            "INSERT INTO events (time_us, location, seat, kind, reason, message) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            {TimeToDb(event.time), event.location, event.seat, event.kind, event.reason,
             event.message})
        .status();
  }

  absl::Status PutSeatStatus(const SeatStatus& status, const std::string& lease_name,
                             int64_t lease_epoch) override {
    RETURN_IF_ERROR(CheckSeatStatus(status));
    return db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      // FOR SHARE: a takeover (which updates the lease row) waits until this write commits,
      // so no status of the old holder lands after the new holder's first write.
      RETURN_IF_ERROR(CheckFence(tx, lease_name, lease_epoch));
      return UpsertSeatStatus(tx, status, lease_name, lease_epoch);
    });
  }

  absl::Status RecordSeatOutcome(const std::vector<Event>& events, const SeatStatus* status,
                                 const std::string& lease_name, int64_t lease_epoch) override {
    for (const Event& e : events) {
      if (e.kind.empty()) return absl::InvalidArgumentError("event without kind");
    }
    if (status != nullptr) RETURN_IF_ERROR(CheckSeatStatus(*status));
    if (events.empty() && status == nullptr) return absl::OkStatus();
    absl::Status fence;
    RETURN_IF_ERROR(db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      fence = absl::OkStatus();
      for (const Event& e : events) RETURN_IF_ERROR(InsertEvent(tx, e));
      if (status == nullptr) return absl::OkStatus();
      fence = CheckFence(tx, lease_name, lease_epoch);
      // Fenced out: the events still commit (what happened on the machine), the status not.
      if (fence.code() == absl::StatusCode::kAborted) return absl::OkStatus();
      RETURN_IF_ERROR(fence);
      return UpsertSeatStatus(tx, *status, lease_name, lease_epoch);
    }));
    return fence;
  }

  absl::StatusOr<SeatStatus> GetSeatStatus(const std::string& location, int number) override {
    std::vector<SeatStatus> found;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      found.clear();
      ASSIGN_OR_RETURN(auto rows, tx.Query(absl::StrCat("SELECT ", kSeatStatusColumns,
                                                        " FROM seat_status WHERE location = $1 "
                                                        "AND number = $2"),
                                           {location, number}));
      for (const SqlRow& row : rows) {
        ASSIGN_OR_RETURN(SeatStatus s, SeatStatusFromRow(row));
        found.push_back(std::move(s));
      }
      return absl::OkStatus();
    }));
    if (found.empty()) {
      return absl::NotFoundError(absl::StrCat("no status of seat ", location, "/", number));
    }
    return std::move(found[0]);
  }

  absl::Status RecordPass(const std::string& location, absl::Duration duration, absl::Time at,
                          const std::string& lease_name, int64_t lease_epoch) override {
    if (location.empty()) return absl::InvalidArgumentError("pass statistics without location");
    if (duration < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("negative pass duration");
    }
    const int64_t micros = absl::ToInt64Microseconds(duration);
    return db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      RETURN_IF_ERROR(CheckFence(tx, lease_name, lease_epoch));
      return tx
          .Exec(
              "INSERT INTO pass_stats (location, passes, last_duration_us, total_duration_us, "
              "last_pass_us, lease_name, lease_epoch) VALUES ($1, 1, $2, $2, $3, $4, $5) "
              "ON CONFLICT (location) DO UPDATE SET passes = pass_stats.passes + 1, "
              "last_duration_us = excluded.last_duration_us, "
              "total_duration_us = pass_stats.total_duration_us + excluded.total_duration_us, "
              "last_pass_us = excluded.last_pass_us, lease_name = excluded.lease_name, "
              "lease_epoch = excluded.lease_epoch",
              {location, micros, TimeToDb(at), lease_name, lease_epoch})
          .status();
    });
  }

  absl::StatusOr<std::vector<PassStats>> ListPassStats(
      const std::optional<std::string>& location) override {
    std::vector<PassStats> out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      const std::string sql =
          "SELECT location, passes, last_duration_us, total_duration_us, last_pass_us "
          "FROM pass_stats";
      std::vector<SqlRow> rows;
      if (location) {
        ASSIGN_OR_RETURN(rows, tx.Query(sql + " WHERE location = $1", {*location}));
      } else {
        ASSIGN_OR_RETURN(rows, tx.Query(sql + " ORDER BY location"));
      }
      for (const SqlRow& row : rows) {
        PassStats p;
        p.location = row.Text(0);
        p.passes = row.Int(1);
        p.last_duration = absl::Microseconds(row.Int(2));
        p.total_duration = absl::Microseconds(row.Int(3));
        p.last_pass = TimeFromDb(row.Int(4));
        out.push_back(std::move(p));
      }
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<std::vector<SeatStatus>> ListSeatStatus(
      const std::optional<std::string>& location) override {
    std::vector<SeatStatus> out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      std::string sql = absl::StrCat("SELECT ", kSeatStatusColumns, " FROM seat_status");
      std::vector<SqlRow> rows;
      if (location) {
        ASSIGN_OR_RETURN(
            rows, tx.Query(sql + " WHERE location = $1 ORDER BY location, number", {*location}));
      } else {
        ASSIGN_OR_RETURN(rows, tx.Query(sql + " ORDER BY location, number"));
      }
      for (const SqlRow& row : rows) {
        ASSIGN_OR_RETURN(SeatStatus s, SeatStatusFromRow(row));
        out.push_back(std::move(s));
      }
      return absl::OkStatus();
    }));
    return out;
  }

  absl::Status AppendEvent(const Event& event) override {
    if (event.kind.empty()) return absl::InvalidArgumentError("event without kind");
    return db_->Transact(TxMode::kWrite,
                         [&](SqlTx& tx) -> absl::Status { return InsertEvent(tx, event); });
  }

  absl::StatusOr<std::vector<Event>> ListEvents(const std::optional<std::string>& location,
                                                int limit) override {
    const int64_t n = limit > 0 ? limit : std::numeric_limits<int64_t>::max();
    std::vector<Event> out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      std::string sql = "SELECT id, time_us, location, seat, kind, reason, message FROM events";
      std::vector<SqlRow> rows;
      if (location) {
        ASSIGN_OR_RETURN(
            rows, tx.Query(sql + " WHERE location = $1 ORDER BY id DESC LIMIT $2", {*location, n}));
      } else {
        ASSIGN_OR_RETURN(rows, tx.Query(sql + " ORDER BY id DESC LIMIT $1", {n}));
      }
      for (const SqlRow& row : rows) {
        Event e;
        e.id = row.Int(0);
        e.time = TimeFromDb(row.Int(1));
        e.location = row.Text(2);
        if (auto seat = row.OptInt(3)) e.seat = static_cast<int>(*seat);
        e.kind = row.Text(4);
        e.reason = row.Text(5);
        e.message = row.Text(6);
        out.push_back(std::move(e));
      }
      return absl::OkStatus();
    }));
    return out;
  }

  absl::Status ReplaceDrift(const std::string& location, const std::vector<DriftEntry>& entries,
                            const std::string& lease_name, int64_t lease_epoch) override {
    for (const DriftEntry& e : entries) {
      if (e.location != location) {
        return absl::InvalidArgumentError(absl::StrCat("drift entry of location '", e.location,
                                                       "' in the report of '", location, "'"));
      }
    }
    return db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      RETURN_IF_ERROR(CheckFence(tx, lease_name, lease_epoch));
      RETURN_IF_ERROR(tx.Exec("DELETE FROM drift WHERE location = $1", {location}).status());
      for (const DriftEntry& e : entries) {
        RETURN_IF_ERROR(tx.Exec("INSERT INTO drift (location, seat, domain, expected, observed, "
                                "planned_action, since_us) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                                {e.location, e.seat, e.domain, e.expected, e.observed, e.planned,
                                 TimeToDb(e.since)})
                            .status());
      }
      return absl::OkStatus();
    });
  }

  absl::StatusOr<std::vector<DriftEntry>> ListDrift(
      const std::optional<std::string>& location) override {
    std::vector<DriftEntry> out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      std::string sql =
          "SELECT location, seat, domain, expected, observed, planned_action, since_us FROM drift";
      std::vector<SqlRow> rows;
      if (location) {
        ASSIGN_OR_RETURN(rows, tx.Query(sql + " WHERE location = $1 ORDER BY location, seat, "
                                              "domain, id",
                                        {*location}));
      } else {
        ASSIGN_OR_RETURN(rows, tx.Query(sql + " ORDER BY location, seat, domain, id"));
      }
      for (const SqlRow& row : rows) {
        out.push_back({row.Text(0), static_cast<int>(row.Int(1)), row.Text(2), row.Text(3),
                       row.Text(4), row.Text(5), TimeFromDb(row.Int(6))});
      }
      return absl::OkStatus();
    }));
    return out;
  }

  using Store::WaitForChange;
  bool WaitForChange(absl::Duration timeout, const std::string& location) override {
    return db_->WaitForChange(timeout, location);
  }

  // --- leases ---

  absl::StatusOr<Lease> AcquireLease(const std::string& name, const std::string& holder,
                                     absl::Duration ttl, absl::Time now) override {
    if (name.empty() || holder.empty()) {
      return absl::InvalidArgumentError("lease name and holder must not be empty");
    }
    if (ttl <= absl::ZeroDuration()) return absl::InvalidArgumentError("lease ttl must be > 0");
    now = ToMicros(now);
    Lease out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      // Make sure the row exists so that it can be locked: two first acquirers then queue on
      // it instead of racing two inserts.
      RETURN_IF_ERROR(tx.Exec("INSERT INTO leases (name, holder, epoch, expires_us) "
                              "VALUES ($1, '', 0, $2) ON CONFLICT (name) DO NOTHING",
                              {name, TimeToDb(absl::InfinitePast())})
                          .status());
      ASSIGN_OR_RETURN(auto rows, tx.Query(absl::StrCat("SELECT holder, epoch, expires_us FROM "
                                                        "leases WHERE name = $1",
                                                        SqlOf(tx).for_update),
                                           {name}));
      if (rows.empty()) return absl::InternalError(absl::StrCat("lease '", name, "' vanished"));
      const std::string current = rows[0].Text("holder");
      int64_t epoch = rows[0].Int("epoch");
      const absl::Time expires = TimeFromDb(rows[0].Int("expires_us"));
      if (current != holder) {
        if (!current.empty() && expires > now) {
          return absl::FailedPreconditionError(absl::StrCat(
              "lease '", name, "' is held by '", current, "' until ", common::FormatTime(expires)));
        }
        ++epoch;  // changes hands: a new fencing token
      }
      out = Lease{name, holder, epoch, ToMicros(now + ttl)};
      return tx
          .Exec("UPDATE leases SET holder = $2, epoch = $3, expires_us = $4 WHERE name = $1",
                {name, holder, epoch, TimeToDb(out.expires)})
          .status();
    }));
    return out;
  }

  absl::Status ReleaseLease(const std::string& name, const std::string& holder) override {
    return db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      // The epoch stays: the next holder gets epoch + 1.
      return tx
          .Exec("UPDATE leases SET holder = '', expires_us = $3 WHERE name = $1 AND holder = $2",
                {name, holder, TimeToDb(absl::InfinitePast())})
          .status();
    });
  }

  // --- notifications outbox ---

  absl::StatusOr<bool> EnqueueNotification(const model::Notification& n) override {
    if (n.key.empty()) return absl::InvalidArgumentError("notification without idempotency key");
    if (n.recipient.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("notification '", n.key, "' has no recipient"));
    }
    bool inserted = false;
    RETURN_IF_ERROR(db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(int64_t count,
                       tx.Exec("INSERT INTO notifications (idempotency_key, registration_id, "
                               "kind, recipient, subject, text_body, html_body, state, attempts, "
                               "next_attempt_us, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                               "'pending', 0, $8, '') ON CONFLICT (idempotency_key) DO NOTHING",
                               {n.key, n.registration_id, n.kind, n.recipient, n.subject,
                                n.text_body, n.html_body, TimeToDb(n.next_attempt)}));
      inserted = count == 1;
      return absl::OkStatus();
    }));
    return inserted;
  }

  absl::StatusOr<std::vector<model::Notification>> ClaimNotifications(
      int limit, absl::Time now, absl::Duration claim_ttl) override {
    std::vector<model::Notification> out;
    if (limit <= 0) return out;
    if (claim_ttl <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError("claim ttl must be > 0");
    }
    RETURN_IF_ERROR(db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      // PostgreSQL: rows another claimer has locked are skipped, not waited for. SQLite: the
      // write transaction runs alone.
      ASSIGN_OR_RETURN(
          auto rows,
          tx.Query(absl::StrCat("UPDATE notifications SET claimed_until_us = $1, "
                                "attempts = attempts + 1 WHERE id IN (SELECT id FROM "
                                "notifications WHERE state = 'pending' AND next_attempt_us <= $2 "
                                "AND (claimed_until_us IS NULL OR claimed_until_us <= $2) "
                                "ORDER BY next_attempt_us, id LIMIT $3",
                                SqlOf(tx).for_claim, ") RETURNING ", kNotificationColumns),
                   {TimeToDb(now + claim_ttl), TimeToDb(now), int64_t{limit}}));
      for (const SqlRow& row : rows) out.push_back(NotificationFromRow(row));
      return absl::OkStatus();
    }));
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return std::tie(a.next_attempt, a.id) < std::tie(b.next_attempt, b.id);
    });
    return out;
  }

  absl::Status MarkNotificationSent(int64_t id, absl::Time now) override {
    return UpdateNotification(id,
                              "UPDATE notifications SET state = 'sent', sent_us = $2, "
                              "claimed_until_us = NULL WHERE id = $1",
                              {id, TimeToDb(now)});
  }

  absl::Status MarkNotificationFailed(int64_t id, const std::string& error,
                                      std::optional<absl::Time> retry_at) override {
    if (retry_at) {
      return UpdateNotification(id,
                                "UPDATE notifications SET state = 'pending', "
                                "next_attempt_us = $2, last_error = $3, "
                                "claimed_until_us = NULL WHERE id = $1",
                                {id, TimeToDb(*retry_at), error});
    }
    return UpdateNotification(id,
                              "UPDATE notifications SET state = 'failed', last_error = $2, "
                              "claimed_until_us = NULL WHERE id = $1",
                              {id, error});
  }

  // --- API tokens ---

  absl::StatusOr<ApiToken> CreateApiToken(const std::string& name, const std::string& role,
                                          const std::string& token_hash, absl::Time now) override {
    if (name.empty()) return absl::InvalidArgumentError("token name is empty");
    if (role != "admin" && role != "operator") {
      return absl::InvalidArgumentError("token role must be admin or operator");
    }
    if (token_hash.size() != 64 ||
        token_hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return absl::InvalidArgumentError("token hash is not a lowercase hex SHA-256");
    }
    now = ToMicros(now);
    ApiToken out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows,
                       tx.Query("SELECT 1 FROM api_tokens WHERE name = $1 OR token_hash = $2",
                                {name, token_hash}));
      if (!rows.empty()) {
        return absl::AlreadyExistsError(absl::StrCat("a token named '", name, "' exists"));
      }
      ASSIGN_OR_RETURN(rows, tx.Query("INSERT INTO api_tokens (name, role, token_hash, "
                                      "created_us, revoked) VALUES ($1, $2, $3, $4, $5) "
                                      "RETURNING id",
                                      {name, role, token_hash, TimeToDb(now), false}));
      if (rows.size() != 1) return absl::InternalError("token insert returned no row");
      out = ApiToken{rows[0].Int(0), name, role, now, std::nullopt, false};
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<ApiToken> GetApiTokenByHash(const std::string& token_hash,
                                             absl::Time now) override {
    now = ToMicros(now);
    ApiToken out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows, tx.Query(absl::StrCat("SELECT ", kApiTokenColumns,
                                                        " FROM api_tokens WHERE token_hash = $1"),
                                           {token_hash}));
      if (rows.empty()) return absl::NotFoundError("api token not found");
      out = ApiTokenFromRow(rows[0]);
      return absl::OkStatus();
    }));
    // The last use is kept to the minute: a read per request, a write a minute at most.
    if (!out.last_used || *out.last_used + absl::Minutes(1) <= now) {
      RETURN_IF_ERROR(db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
        return tx
            .Exec(
                "UPDATE api_tokens SET last_used_us = $1 WHERE id = $2 AND "
                "(last_used_us IS NULL OR last_used_us < $1)",
                {TimeToDb(now), out.id})
            .status();
      }));
      out.last_used = now;
    }
    return out;
  }

  absl::StatusOr<bool> RevokeApiToken(const std::string& name) override {
    bool changed = false;
    RETURN_IF_ERROR(db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows, tx.Query(absl::StrCat("SELECT revoked FROM api_tokens WHERE "
                                                        "name = $1",
                                                        SqlOf(tx).for_update),
                                           {name}));
      if (rows.empty()) {
        return absl::NotFoundError(absl::StrCat("no token named '", name, "'"));
      }
      changed = !rows[0].Bool("revoked");
      if (!changed) return absl::OkStatus();
      return tx.Exec("UPDATE api_tokens SET revoked = $1 WHERE name = $2", {true, name}).status();
    }));
    return changed;
  }

  absl::StatusOr<std::vector<ApiToken>> ListApiTokens() override {
    std::vector<ApiToken> out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      ASSIGN_OR_RETURN(auto rows, tx.Query(absl::StrCat("SELECT ", kApiTokenColumns,
                                                        " FROM api_tokens ORDER BY name")));
      for (const SqlRow& row : rows) out.push_back(ApiTokenFromRow(row));
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<std::vector<NotificationCount>> CountNotifications() override {
    std::vector<NotificationCount> out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      ASSIGN_OR_RETURN(
          auto rows,
          tx.Query("SELECT kind, state, count(*), coalesce(sum(attempts), 0), "
                   "coalesce(sum(CASE WHEN state = 'pending' AND claimed_until_us IS NOT NULL "
                   "THEN 1 ELSE 0 END), 0) FROM notifications GROUP BY kind, state "
                   "ORDER BY kind, state"));
      for (const SqlRow& row : rows) {
        NotificationCount c;
        c.kind = row.Text(0);
        c.state =
            model::ParseNotificationState(row.Text(1)).value_or(model::NotificationState::kFailed);
        c.count = row.Int(2);
        c.attempts = row.Int(3);
        c.in_flight = row.Int(4);
        out.push_back(std::move(c));
      }
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<std::vector<WorkshopOccupancy>> ListWorkshopOccupancy(
      const std::optional<std::string>& workshop) override {
    std::vector<WorkshopOccupancy> out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      const std::string sql = "SELECT workshop, count(*), count(registration_id) FROM seats";
      std::vector<SqlRow> rows;
      if (workshop) {
        ASSIGN_OR_RETURN(rows,
                         tx.Query(sql + " WHERE workshop = $1 GROUP BY workshop", {*workshop}));
      } else {
        ASSIGN_OR_RETURN(rows, tx.Query(sql + " GROUP BY workshop ORDER BY workshop"));
      }
      for (const SqlRow& row : rows) {
        out.push_back({row.Text(0), static_cast<int>(row.Int(1)), static_cast<int>(row.Int(2))});
      }
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<Registration> GetActiveRegistrationByEmail(const std::string& email) override {
    const std::string normalized = absl::AsciiStrToLower(absl::StripAsciiWhitespace(email));
    // The message never echoes the address.
    return ReadRegistration(
        "state = 'active' AND participant_id = (SELECT id FROM participants WHERE email = $1)",
        normalized, "no active registration for this email");
  }

  absl::StatusOr<std::vector<model::Notification>> ListNotifications() override {
    std::vector<model::Notification> out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      ASSIGN_OR_RETURN(auto rows, tx.Query(absl::StrCat("SELECT ", kNotificationColumns,
                                                        " FROM notifications ORDER BY id")));
      for (const SqlRow& row : rows) out.push_back(NotificationFromRow(row));
      return absl::OkStatus();
    }));
    return out;
  }

 private:
  // Ends the hold of `registration_id` (of `workshop`) on its capacity slot. Slots numbered
  // above the workshop's slot_count exist only while capacity was lowered below the number
  // of active registrations, and the invariant is: while any of them is held, every slot up
  // to slot_count is held too (so a registration finds a free slot exactly when the active
  // registrations are fewer than the capacity). Hence a released slot above slot_count is
  // deleted; a released slot at or below it goes to the holder of the highest slot above it
  // (that row is renumbered, so its holder keeps one row and a verb ending it concurrently
  // follows the update), or becomes free when there is none. Lock order: the workshop row
  // (FOR KEY SHARE: slot_count stays put while a catalog load waits), own slot, a high slot;
  // nobody holding a high slot waits for a lower one, and no verb waits for a free slot, so
  // verbs and registrations cannot deadlock here.
  static absl::Status ReleaseSlot(SqlTx& tx, const std::string& workshop, int64_t registration_id) {
    const DialectSql& sql = SqlOf(tx);
    ASSIGN_OR_RETURN(auto wrows, tx.Query(absl::StrCat("SELECT slot_count FROM workshops WHERE "
                                                       "id = $1",
                                                       sql.for_key_share),
                                          {workshop}));
    if (wrows.empty()) {
      return absl::InternalError(absl::StrCat("workshop '", workshop, "' vanished"));
    }
    const int64_t slot_count = wrows[0].Int("slot_count");
    ASSIGN_OR_RETURN(auto own, tx.Query(absl::StrCat("SELECT slot FROM capacity_slots WHERE "
                                                     "workshop = $1 AND registration_id = $2",
                                                     sql.for_update),
                                        {workshop, registration_id}));
    if (own.empty()) {
      return absl::InternalError(
          absl::StrCat("registration ", registration_id, " holds no capacity slot"));
    }
    const int64_t slot = own[0].Int("slot");
    if (slot > slot_count) {
      return tx
          .Exec("DELETE FROM capacity_slots WHERE workshop = $1 AND slot = $2", {workshop, slot})
          .status();
    }
    constexpr char kHighHeld[] =
        "SELECT slot FROM capacity_slots WHERE workshop = $1 AND slot > $2 AND "
        "registration_id IS NOT NULL ORDER BY slot DESC LIMIT 1";
    for (int attempt = 0; attempt < kMaxSlotLookups; ++attempt) {
      ASSIGN_OR_RETURN(auto high,
                       tx.Query(absl::StrCat(kHighHeld, sql.for_update), {workshop, slot_count}));
      if (!high.empty()) {
        RETURN_IF_ERROR(tx.Exec("DELETE FROM capacity_slots WHERE workshop = $1 AND slot = $2",
                                {workshop, slot})
                            .status());
        return tx
            .Exec("UPDATE capacity_slots SET slot = $3 WHERE workshop = $1 AND slot = $2",
                  {workshop, high[0].Int("slot"), slot})
            .status();
      }
      // The highest one may have been released or renumbered by a verb that committed while
      // this one waited for its lock; a fresh statement sees what is left.
      if (!sql.concurrent_writers) break;
      ASSIGN_OR_RETURN(auto any, tx.Query(kHighHeld, {workshop, slot_count}));
      if (any.empty()) break;
      if (attempt + 1 == kMaxSlotLookups) {
        return absl::AbortedError(
            absl::StrCat("capacity slots of workshop '", workshop, "' kept changing"));
      }
    }
    return tx
        .Exec("UPDATE capacity_slots SET registration_id = NULL WHERE workshop = $1 AND slot = $2",
              {workshop, slot})
        .status();
  }

  // Makes capacity_slots match the workshops after a catalog load (which holds every workshop
  // row FOR UPDATE, so no registration or verb is in flight): slot_count = min(capacity,
  // seats of the workshop) for an active workshop, 0 for an inactive one; every number
  // 1..slot_count present; no free slot above it; held slots above it (capacity lowered
  // below the active registrations) moved down into free numbers while there are any, which
  // restores the invariant ReleaseSlot keeps. Writes nothing when everything matches.
  // Applies `patch` to the location `name` (locked while changed), bumping its generation when
  // anything changed; a new state re-counts capacity.
  static absl::StatusOr<model::Location> PatchLocation(SqlTx& tx, const std::string& name,
                                                       const LocationPatch& patch) {
    ASSIGN_OR_RETURN(auto rows,
                     tx.Query(absl::StrCat("SELECT ", kLocationColumns,
                                           " FROM locations WHERE name = $1", SqlOf(tx).for_update),
                              {name}));
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("location '", name, "' not found"));
    const model::Location before = LocationFromRow(rows[0]);
    model::Location after = before;
    if (patch.fqdn) after.fqdn = *patch.fqdn;
    if (patch.hub_url) after.hub_url = *patch.hub_url;
    if (patch.state) after.state = *patch.state;
    if (patch.user_prefix) after.user_prefix = *patch.user_prefix;
    if (after == before) return before;
    if (after.user_prefix != before.user_prefix) {
      RETURN_IF_ERROR(tx.Exec("UPDATE locations SET user_prefix = $2 WHERE name = $1",
                              {name, after.user_prefix})
                          .status());
      model::Location desired_before = before;
      desired_before.user_prefix = after.user_prefix;
      if (after == desired_before) return after;  // nothing a controller acts on changed
    }
    after.generation = before.generation + 1;
    RETURN_IF_ERROR(tx.Exec("UPDATE locations SET fqdn = $2, hub_url = $3, state = $4, "
                            "generation = $5 WHERE name = $1",
                            {name, after.fqdn, after.hub_url, model::LocationStateName(after.state),
                             after.generation})
                        .status());
    if (after.state != before.state) {
      RETURN_IF_ERROR(SqlOf(tx).lock_catalog(tx));
      RETURN_IF_ERROR(SyncSlots(tx));
    }
    // Its fqdn and hub URL feed only its own controller's templates.
    RETURN_IF_ERROR(tx.MarkChanged(name));
    return after;
  }

  static absl::Status SyncSlots(SqlTx& tx) {
    ASSIGN_OR_RETURN(auto seat_counts,
                     tx.Query("SELECT s.workshop, count(*) FROM seats s JOIN locations l ON "
                              "l.name = s.location WHERE l.state <> 'disabled' GROUP BY "
                              "s.workshop"));
    std::map<std::string, int64_t> seats_of;
    for (const SqlRow& row : seat_counts) seats_of[row.Text(0)] = row.Int(1);
    ASSIGN_OR_RETURN(auto slot_rows,
                     tx.Query("SELECT workshop, slot, registration_id FROM capacity_slots"));
    std::map<std::string, std::map<int64_t, bool>> slots_of;  // slot -> held
    for (const SqlRow& row : slot_rows) slots_of[row.Text(0)][row.Int(1)] = !row.IsNull(2);
    ASSIGN_OR_RETURN(
        auto wrows, tx.Query("SELECT id, active, capacity, slot_count FROM workshops ORDER BY id"));
    for (const SqlRow& row : wrows) {
      const std::string id = row.Text(0);
      const int64_t target = row.Bool(1) ? std::min(row.Int(2), seats_of[id]) : 0;
      std::map<int64_t, bool>& slots = slots_of[id];
      bool free_above = false;
      std::vector<int64_t> high;  // held above target, highest first
      for (auto it = slots.rbegin(); it != slots.rend() && it->first > target; ++it) {
        if (it->second) {
          high.push_back(it->first);
        } else {
          free_above = true;
        }
      }
      if (free_above) {
        RETURN_IF_ERROR(tx.Exec("DELETE FROM capacity_slots WHERE workshop = $1 AND slot > $2 "
                                "AND registration_id IS NULL",
                                {id, target})
                            .status());
      }
      std::vector<std::pair<int64_t, int64_t>> missing;  // ranges of absent numbers
      size_t next_high = 0;
      for (int64_t n = 1; n <= target; ++n) {
        auto it = slots.find(n);
        if (it != slots.end() && it->second) continue;  // held
        if (next_high < high.size()) {
          if (it != slots.end()) {
            RETURN_IF_ERROR(
                tx.Exec("DELETE FROM capacity_slots WHERE workshop = $1 AND slot = $2", {id, n})
                    .status());
          }
          RETURN_IF_ERROR(
              tx.Exec("UPDATE capacity_slots SET slot = $3 WHERE workshop = $1 AND slot = $2",
                      {id, high[next_high++], n})
                  .status());
          continue;
        }
        if (it != slots.end()) continue;  // free
        if (!missing.empty() && missing.back().second == n - 1) {
          missing.back().second = n;
        } else {
          missing.emplace_back(n, n);
        }
      }
      for (const auto& [first, last] : missing) {
        RETURN_IF_ERROR(tx.Exec("WITH RECURSIVE n(k) AS (SELECT CAST($2 AS INTEGER) UNION ALL "
                                "SELECT k + 1 FROM n WHERE k < $3) INSERT INTO capacity_slots "
                                "(workshop, slot, registration_id) SELECT $1, k, NULL FROM n",
                                {id, first, last})
                            .status());
      }
      if (row.Int(3) != target) {
        RETURN_IF_ERROR(
            tx.Exec("UPDATE workshops SET slot_count = $2 WHERE id = $1", {id, target}).status());
      }
    }
    return absl::OkStatus();
  }

  static absl::Status ValidateWorkshop(const model::Workshop& w) {
    if (w.id.empty()) return absl::InvalidArgumentError("workshop with empty id");
    if (w.location.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("workshop '", w.id, "' has no location"));
    }
    if (w.capacity < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("workshop '", w.id, "' has a negative capacity"));
    }
    if (w.active &&
        (w.range.min < 0 || w.range.max < w.range.min || w.range.size() > kMaxSeatsPerWorkshop)) {
      return absl::InvalidArgumentError(absl::StrCat("workshop '", w.id, "' has an invalid range ",
                                                     w.range.min, "-", w.range.max));
    }
    return absl::OkStatus();
  }

  static absl::StatusOr<model::Workshop> ParseSpec(const std::string& id, const std::string& json) {
    auto w = WorkshopFromJson(json);
    if (!w.ok()) {
      return absl::InternalError(absl::StrCat("workshop '", id, "': ", w.status().message()));
    }
    return w;
  }

  static absl::Status EnsureLocation(SqlTx& tx, const std::string& name) {
    return tx
        .Exec(
            "INSERT INTO locations (name, fqdn, generation) VALUES ($1, '', 1) "
            "ON CONFLICT (name) DO NOTHING",
            {name})
        .status();
  }

  // The locations a workshop's range exists on: its location and each alternate.
  static absl::Status SetWorkshopLocations(SqlTx& tx, const model::Workshop& w) {
    RETURN_IF_ERROR(tx.Exec("DELETE FROM workshop_locations WHERE workshop = $1", {w.id}).status());
    for (const std::string& location : w.Locations()) {
      RETURN_IF_ERROR(tx.Exec("INSERT INTO workshop_locations (workshop, location) VALUES ($1, $2)",
                              {w.id, location})
                          .status());
    }
    return absl::OkStatus();
  }

  // Makes the seats table match the ranges of the active workshops: one seat per number of
  // each range, on each of the workshop's locations. Where ranges overlap (the catalog lint
  // rejects that, but the store must not trip on it) the seat goes to the first workshop by
  // id. Occupied seats are left exactly as they are.
  static absl::Status RebuildSeatPool(SqlTx& tx, CatalogChange* change, bool* moved) {
    ASSIGN_OR_RETURN(auto wrows,
                     tx.Query("SELECT w.id, wl.location, w.range_min, w.range_max FROM "
                              "workshops w JOIN workshop_locations wl ON wl.workshop = w.id "
                              "WHERE w.active = $1 ORDER BY w.id, wl.location",
                              {true}));
    std::map<std::pair<std::string, int>, std::string> wanted;
    for (const SqlRow& row : wrows) {
      for (int64_t n = row.Int(2); n <= row.Int(3); ++n) {
        wanted.emplace(std::make_pair(row.Text(1), static_cast<int>(n)), row.Text(0));
      }
    }
    ASSIGN_OR_RETURN(auto seats,
                     tx.Query("SELECT location, number, workshop, registration_id FROM seats"));
    for (const SqlRow& row : seats) {
      auto key = std::make_pair(row.Text(0), static_cast<int>(row.Int(1)));
      auto it = wanted.find(key);
      if (!row.IsNull(3)) {  // occupied: never removed or moved
        if (it != wanted.end()) wanted.erase(it);
        continue;
      }
      if (it == wanted.end()) {
        RETURN_IF_ERROR(tx.Exec("DELETE FROM seats WHERE location = $1 AND number = $2 AND "
                                "registration_id IS NULL",
                                {key.first, key.second})
                            .status());
        ++change->seats_removed;
        continue;
      }
      if (it->second != row.Text(2)) {
        RETURN_IF_ERROR(tx.Exec("UPDATE seats SET workshop = $3, generation = generation + 1 "
                                "WHERE location = $1 AND number = $2 AND registration_id IS NULL",
                                {key.first, key.second, it->second})
                            .status());
        *moved = true;
      }
      wanted.erase(it);
    }
    std::vector<std::pair<std::pair<std::string, int>, std::string>> missing(wanted.begin(),
                                                                             wanted.end());
    size_t i = 0;
    // Full batches in one statement each, the rest one row at a time: the statement texts
    // stay few, so every connection can keep them prepared.
    for (; i + kSeatInsertBatch <= missing.size(); i += kSeatInsertBatch) {
      RETURN_IF_ERROR(InsertSeats(tx, missing, i, kSeatInsertBatch));
    }
    for (; i < missing.size(); ++i) RETURN_IF_ERROR(InsertSeats(tx, missing, i, 1));
    change->seats_added += static_cast<int>(missing.size());
    return absl::OkStatus();
  }

  static absl::Status InsertSeats(
      SqlTx& tx, const std::vector<std::pair<std::pair<std::string, int>, std::string>>& seats,
      size_t from, size_t count) {
    std::string sql =
        "INSERT INTO seats (location, number, workshop, password, reset_epoch, "
        "generation) VALUES ";
    std::vector<SqlParam> params;
    params.reserve(count * 4);
    for (size_t k = 0; k < count; ++k) {
      const auto& [key, workshop] = seats[from + k];
      size_t p = k * 4;
      absl::StrAppend(&sql, k == 0 ? "" : ", ", "($", p + 1, ", $", p + 2, ", $", p + 3, ", $",
                      p + 4, ", 0, 1)");
      params.emplace_back(key.first);
      params.emplace_back(key.second);
      params.emplace_back(workshop);
      // A vacant seat's account is locked with a random password nobody knows.
      params.emplace_back(common::RandomPassword());
    }
    return tx.Exec(sql, params).status();
  }

  // Fencing: the write goes through only while `lease_name` is still at `lease_epoch`.
  static absl::Status CheckFence(SqlTx& tx, const std::string& lease_name, int64_t lease_epoch) {
    ASSIGN_OR_RETURN(auto rows, tx.Query(absl::StrCat("SELECT holder, epoch FROM leases WHERE "
                                                      "name = $1",
                                                      SqlOf(tx).for_share),
                                         {lease_name}));
    if (rows.empty()) {
      return absl::AbortedError(absl::StrCat("lease '", lease_name, "' does not exist"));
    }
    if (rows[0].Int("epoch") != lease_epoch) {
      return absl::AbortedError(absl::StrCat("lease '", lease_name, "' is at epoch ",
                                             rows[0].Int("epoch"), ", not ", lease_epoch,
                                             ": another holder took it over"));
    }
    if (rows[0].Text("holder").empty()) {
      return absl::AbortedError(absl::StrCat("lease '", lease_name, "' was released"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Registration> ReadRegistration(const std::string& where, SqlParam key,
                                                const std::string& not_found) {
    Registration out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows, tx.Query(absl::StrCat("SELECT ", kRegistrationColumns,
                                                        " FROM registrations WHERE ", where),
                                           {key}));
      if (rows.empty()) return absl::NotFoundError(not_found);
      out = RegistrationFromRow(rows[0]);
      return absl::OkStatus();
    }));
    return out;
  }

  absl::Status UpdateNotification(int64_t id, const std::string& sql,
                                  std::vector<SqlParam> params) {
    return db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(int64_t n, tx.Exec(sql, params));
      if (n == 0) return absl::NotFoundError(absl::StrCat("notification ", id, " not found"));
      return absl::OkStatus();
    });
  }

  std::unique_ptr<SqlDb> db_;
};

}  // namespace

std::unique_ptr<Store> NewSqlStore(std::unique_ptr<SqlDb> db) {
  return std::make_unique<SqlStore>(std::move(db));
}

}  // namespace wod::store
