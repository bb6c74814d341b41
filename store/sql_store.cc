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
#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "store/workshop_json.h"

namespace wod::store {
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

// Column lists, in the order the *FromRow parsers read them.
constexpr char kSeatColumns[] =
    "location, number, workshop, registration_id, password, reset_epoch, generation";
constexpr char kSeatColumnsS[] =
    "s.location, s.number, s.workshop, s.registration_id, s.password, s.reset_epoch, "
    "s.generation";
constexpr size_t kSeatWidth = 7;
constexpr char kRegistrationColumns[] =
    "id, participant_id, workshop, location, seat, start_us, deadline_us, ended_us, state, "
    "token_hash, progress_json, token_nonce";
constexpr char kRegistrationColumnsR[] =
    "r.id, r.participant_id, r.workshop, r.location, r.seat, r.start_us, r.deadline_us, "
    "r.ended_us, r.state, r.token_hash, r.progress_json, r.token_nonce";
constexpr size_t kRegistrationWidth = 12;
constexpr char kParticipantColumnsP[] = "p.id, p.email, p.name, p.company";
constexpr char kNotificationColumns[] =
    "id, idempotency_key, registration_id, kind, recipient, subject, text_body, html_body, "
    "state, attempts, next_attempt_us, last_error";

model::Seat SeatFromRow(const SqlRow& row, size_t at = 0) {
  model::Seat s;
  s.location = row.Text(at);
  s.number = static_cast<int>(row.Int(at + 1));
  s.workshop = row.Text(at + 2);
  s.registration_id = row.OptInt(at + 3);
  s.password = row.Text(at + 4);
  s.reset_epoch = row.Int(at + 5);
  s.generation = row.Int(at + 6);
  return s;
}

Registration RegistrationFromRow(const SqlRow& row, size_t at = 0) {
  Registration r;
  r.id = row.Int(at);
  r.participant_id = row.Int(at + 1);
  r.workshop = row.Text(at + 2);
  r.location = row.Text(at + 3);
  r.seat = static_cast<int>(row.Int(at + 4));
  r.start = TimeFromDb(row.Int(at + 5));
  r.deadline = TimeFromDb(row.Int(at + 6));
  if (auto ended = row.OptInt(at + 7)) r.ended = TimeFromDb(*ended);
  r.state = model::ParseRegistrationState(row.Text(at + 8)).value_or(RegistrationState::kFailed);
  r.token_hash = row.Text(at + 9);
  r.progress_json = row.Text(at + 10);
  r.token_nonce = row.Text(at + 11);
  return r;
}

model::Participant ParticipantFromRow(const SqlRow& row, size_t at = 0) {
  model::Participant p;
  p.id = row.Int(at);
  p.email = row.Text(at + 1);
  p.name = row.Text(at + 2);
  p.company = row.Text(at + 3);
  return p;
}

model::Notification NotificationFromRow(const SqlRow& row) {
  model::Notification n;
  n.id = row.Int(0);
  n.key = row.Text(1);
  n.registration_id = row.OptInt(2);
  n.kind = row.Text(3);
  n.recipient = row.Text(4);
  n.subject = row.Text(5);
  n.text_body = row.Text(6);
  n.html_body = row.Text(7);
  n.state = model::ParseNotificationState(row.Text(8)).value_or(model::NotificationState::kFailed);
  n.attempts = static_cast<int>(row.Int(9));
  n.next_attempt = TimeFromDb(row.Int(10));
  n.last_error = row.Text(11);
  return n;
}

// seats LEFT JOIN registrations LEFT JOIN participants, read by SeatViewFromRow.
std::string SeatViewSelect() {
  return absl::StrCat("SELECT ", kSeatColumnsS, ", ", kRegistrationColumnsR, ", ",
                      kParticipantColumnsP,
                      " FROM seats s LEFT JOIN registrations r ON r.id = s.registration_id"
                      " LEFT JOIN participants p ON p.id = r.participant_id");
}

SeatView SeatViewFromRow(const SqlRow& row) {
  SeatView v;
  v.seat = SeatFromRow(row);
  if (!row.IsNull(kSeatWidth)) {
    v.registration = RegistrationFromRow(row, kSeatWidth);
    v.participant = ParticipantFromRow(row, kSeatWidth + kRegistrationWidth);
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
      if (tx.dialect() == Dialect::kPostgres) {
        // Catalog loads run one at a time (two first loads would both insert the same rows),
        // and registrations and verbs hold their workshop row FOR KEY SHARE: holding them all
        // FOR UPDATE waits for those in flight and keeps new ones off the seats and capacity
        // slots while they are rebuilt.
        RETURN_IF_ERROR(tx.Query("SELECT pg_advisory_xact_lock($1)", {kCatalogLockKey}).status());
        RETURN_IF_ERROR(tx.Query("SELECT id FROM workshops ORDER BY id FOR UPDATE").status());
      }
      ASSIGN_OR_RETURN(auto hash_rows, tx.Query("SELECT id, spec_hash FROM workshops"));
      std::map<std::string, std::string> stored_hash;
      for (const SqlRow& row : hash_rows) stored_hash[row.Text(0)] = row.Text(1);

      for (const model::Workshop* w : sorted) {
        std::string hash = WorkshopSpecHash(*w);
        auto it = stored_hash.find(w->id);
        if (it != stored_hash.end() && it->second == hash) {
          change.unchanged.push_back(w->id);
          continue;
        }
        RETURN_IF_ERROR(EnsureLocation(tx, w->location));
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
                       tx.Exec("INSERT INTO locations (name, fqdn, generation) VALUES ($1, $2, 1) "
                               "ON CONFLICT (name) DO NOTHING",
                               {location.name, location.fqdn}));
      if (inserted == 1) return tx.MarkChanged();
      ASSIGN_OR_RETURN(
          auto rows,
          tx.Query("SELECT fqdn FROM locations WHERE name = $1" + ForUpdate(tx), {location.name}));
      if (rows.empty() || rows[0].Text(0) == location.fqdn) return absl::OkStatus();
      RETURN_IF_ERROR(
          tx.Exec("UPDATE locations SET fqdn = $2, generation = generation + 1 WHERE name = $1",
                  {location.name, location.fqdn})
              .status());
      return tx.MarkChanged();
    });
  }

  absl::StatusOr<std::vector<model::Location>> ListLocations() override {
    std::vector<model::Location> out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      out.clear();
      ASSIGN_OR_RETURN(auto rows,
                       tx.Query("SELECT name, fqdn, generation FROM locations ORDER BY name"));
      for (const SqlRow& row : rows) out.push_back({row.Text(0), row.Text(1), row.Int(2)});
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
    const absl::Time now = ToMicros(request.now);
    const std::string token = request.token.empty() ? common::RandomToken() : request.token;
    const std::string token_nonce = request.token.empty() ? "" : request.token_nonce;
    const std::string token_hash = common::Sha256Hex(token);
    // The seat keeps its password: the fresh random one its vacancy put in (the catalog load
    // or the CLEANUP/PURGE that ended the previous occupant), known to nobody until now and
    // already in the locked account's shadow entry. So a warm seat needs no hashing and no
    // password write to be taken: its occupant marker and an unlock.

    RegisterResult result;
    RETURN_IF_ERROR(db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      // The upsert locks the participant row: two registrations of one email run one at a
      // time, and the second sees the first's registration below (on PostgreSQL each READ
      // COMMITTED statement reads a snapshot taken after the lock wait).
      ASSIGN_OR_RETURN(auto prows, tx.Query("INSERT INTO participants (email, name, company) "
                                            "VALUES ($1, $2, $3) ON CONFLICT (email) DO UPDATE SET "
                                            "name = excluded.name, company = excluded.company "
                                            "RETURNING id, email, name, company",
                                            {email, request.name, request.company}));
      if (prows.size() != 1) return absl::InternalError("participant upsert returned no row");
      model::Participant participant = ParticipantFromRow(prows[0]);

      // The checks of the workshop columns (active, capacity, range_min, range_max, location,
      // duration_hours, slot_count) and the participant's active registration (workshop,
      // deadline_us) at `row[at..at+8]`, in the order the errors are reported.
      struct Target {
        int64_t capacity = 0;
        int64_t slot_count = 0;  // min(capacity, seats of the workshop)
        model::SeatRange range;
        std::string location;
        absl::Time deadline;
      };
      auto examine = [&](const SqlRow& row, size_t at) -> absl::StatusOr<Target> {
        if (!row.IsNull(at + 7)) {
          return absl::AlreadyExistsError(absl::StrCat(
              "'", email, "' already has an active registration for workshop '", row.Text(at + 7),
              "' until ", common::FormatTime(TimeFromDb(row.Int(at + 8)))));
        }
        if (row.IsNull(at)) {
          return absl::NotFoundError(absl::StrCat("workshop '", request.workshop, "' not found"));
        }
        if (!row.Bool(at)) {
          return absl::FailedPreconditionError(
              absl::StrCat("workshop '", request.workshop, "' is not active"));
        }
        const absl::Duration duration = request.duration > absl::ZeroDuration()
                                            ? request.duration
                                            : absl::Hours(row.Int(at + 5));
        if (duration <= absl::ZeroDuration()) {
          return absl::FailedPreconditionError(
              absl::StrCat("workshop '", request.workshop, "' has no duration"));
        }
        return Target{
            row.Int(at + 1), row.Int(at + 6),
            model::SeatRange{static_cast<int>(row.Int(at + 2)), static_cast<int>(row.Int(at + 3))},
            row.Text(at + 4), ToMicros(now + duration)};
      };
      // The workshop row is read FOR KEY SHARE: registrations of one workshop share that lock
      // and run in parallel, while a catalog load (FOR UPDATE of every workshop row) waits
      // for them and keeps new ones out until it has rebuilt seats and slots. Capacity is
      // counted in capacity_slots, never in this row: a counter here would stay locked until
      // each registration's commit was on disk and serialize the workshop. The participant's
      // active registration is read after the participant's lock, in a snapshot that sees an
      // earlier registration of the same email.
      const size_t kWorkshopWidth = 9;
      Target target;
      SqlRow row(std::vector<std::optional<std::string>>{});
      if (tx.dialect() == Dialect::kPostgres && !request.seat) {
        // The common case on PostgreSQL in one statement (each round trip is time in which
        // this registration is not yet waiting for a commit it could share): the checks, the
        // claim of a free capacity slot, the lowest vacant seat, the registration, the seat
        // and the slot taken. Every claim is guarded by the checks (scalar subqueries of
        // `go`, evaluated before the scans they limit), so a refused registration locks
        // nothing. Slots are claimed from a random point on: any free slot will do, and
        // concurrent registrations then rarely meet each other's locked or just-taken rows.
        const bool given = request.duration > absl::ZeroDuration();
        ASSIGN_OR_RETURN(
            SqlRow fused,
            OneRow(tx.Query(
                absl::StrCat(
                    "WITH w AS (SELECT active, capacity, range_min, range_max, location, "
                    "duration_hours, slot_count, CASE WHEN $4 THEN $5 ELSE $3 + duration_hours "
                    "* CAST(3600000000 AS BIGINT) END AS deadline_us, ($4 OR duration_hours > "
                    "0) AS has_duration, CAST(1 + floor(random() * slot_count) AS INTEGER) AS "
                    "start FROM workshops WHERE id = $1 FOR KEY SHARE), "
                    "a AS (SELECT workshop, deadline_us FROM registrations WHERE "
                    "participant_id = $2 AND state = 'active'), "
                    "go AS (SELECT * FROM w WHERE active AND has_duration AND NOT EXISTS "
                    "(SELECT 1 FROM a)), "
                    "slot AS (SELECT slot FROM (SELECT slot FROM (SELECT slot FROM "
                    "capacity_slots WHERE workshop = $1 AND slot >= (SELECT start FROM go) AND "
                    "slot <= (SELECT "
                    "slot_count FROM go) AND registration_id IS NULL ORDER BY slot LIMIT 1 FOR "
                    "UPDATE SKIP LOCKED) AS above UNION ALL SELECT slot FROM (SELECT slot FROM "
                    "capacity_slots WHERE workshop = $1 AND slot < (SELECT start FROM go) AND "
                    "slot <= (SELECT "
                    "slot_count FROM go) AND registration_id IS NULL ORDER BY slot LIMIT 1 FOR "
                    "UPDATE SKIP LOCKED) AS below) AS either LIMIT 1), "
                    "free AS (SELECT number FROM seats WHERE workshop = $1 AND location = "
                    "(SELECT location FROM go) AND number >= (SELECT range_min FROM go) AND "
                    "number <= (SELECT range_max FROM go) AND registration_id IS NULL AND "
                    "EXISTS (SELECT 1 FROM slot) ORDER BY number LIMIT 1 FOR UPDATE SKIP "
                    "LOCKED), "
                    "r AS (INSERT INTO registrations (participant_id, workshop, location, seat, "
                    "start_us, deadline_us, state, token_hash, progress_json, token_nonce) "
                    "SELECT $2, $1, go.location, free.number, $3, go.deadline_us, 'active', $6, "
                    "'', $7 FROM go, slot, free RETURNING ",
                    kRegistrationColumns,
                    "), s AS (UPDATE seats SET registration_id = r.id, "
                    "generation = seats.generation + 1 FROM r WHERE seats.location = "
                    "r.location AND seats.number = r.seat AND seats.registration_id IS NULL "
                    "RETURNING seats.location, seats.number, seats.workshop, "
                    "seats.registration_id, seats.password, seats.reset_epoch, "
                    "seats.generation), "
                    "c AS (UPDATE capacity_slots SET registration_id = r.id FROM r, slot WHERE "
                    "capacity_slots.workshop = r.workshop AND capacity_slots.slot = slot.slot "
                    "AND capacity_slots.registration_id IS NULL RETURNING "
                    "capacity_slots.slot) "
                    "SELECT w.active, w.capacity, w.range_min, w.range_max, w.location, "
                    "w.duration_hours, w.slot_count, a.workshop, a.deadline_us, r.*, s.*, "
                    "c.slot, (SELECT slot FROM slot) FROM (SELECT 1) AS one LEFT JOIN w ON TRUE "
                    "LEFT JOIN a ON TRUE LEFT JOIN r ON TRUE LEFT JOIN s ON TRUE LEFT JOIN c ON "
                    "TRUE"),
                {request.workshop, participant.id, TimeToDb(now), given,
                 given ? TimeToDb(ToMicros(now + request.duration)) : int64_t{0}, token_hash,
                 token_nonce})));
        ASSIGN_OR_RETURN(target, examine(fused, 0));
        std::vector<std::optional<std::string>> rest;
        for (size_t i = kWorkshopWidth; i < fused.size(); ++i) {
          rest.push_back(fused.IsNull(i) ? std::nullopt : std::optional(fused.Text(i)));
        }
        row = SqlRow(std::move(rest));
      } else {
        ASSIGN_OR_RETURN(
            auto wrows,
            tx.Query(absl::StrCat("SELECT w.active, w.capacity, w.range_min, w.range_max, "
                                  "w.location, w.duration_hours, w.slot_count, a.workshop, "
                                  "a.deadline_us FROM workshops w LEFT JOIN registrations a ON "
                                  "a.participant_id = $2 AND a.state = 'active' WHERE w.id = $1",
                                  tx.dialect() == Dialect::kPostgres ? " FOR KEY SHARE OF w" : ""),
                     {request.workshop, participant.id}));
        if (wrows.empty()) {
          // Unknown workshop; an active registration is still reported first.
          ASSIGN_OR_RETURN(auto active,
                           tx.Query("SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, workshop, "
                                    "deadline_us FROM registrations WHERE participant_id = $1 "
                                    "AND state = 'active'",
                                    {participant.id}));
          if (!active.empty()) return examine(active[0], 0).status();
          return absl::NotFoundError(absl::StrCat("workshop '", request.workshop, "' not found"));
        }
        ASSIGN_OR_RETURN(target, examine(wrows[0], 0));
      }
      const int64_t capacity = target.capacity;
      const model::SeatRange range = target.range;
      const std::string& location = target.location;
      const int64_t slot_count = target.slot_count;
      const absl::Time deadline = target.deadline;
      const absl::Status capacity_reached = absl::ResourceExhaustedError(absl::StrCat(
          "workshop '", request.workshop, "' is full: capacity ", capacity, " reached"));
      const absl::Status no_free_seat = absl::ResourceExhaustedError(
          absl::StrCat("workshop '", request.workshop, "' is full: no free seat in range ",
                       range.min, "-", range.max, " on location '", location, "'"));

      // CREATE: the named seat is locked and checked before a slot is claimed (a claimed slot
      // is skipped by concurrent registrations until this transaction ends, so failing after
      // the claim could make them see the workshop full). Waiting for the seat's lock cannot
      // deadlock: whoever holds it (a verb, or a registration that picked that seat) never
      // waits for a lock a registration holds. A full workshop still reports its capacity
      // first, as when the count was checked before the seat.
      if (request.seat) {
        absl::Status seat_ok =
            CheckRequestedSeat(tx, request.workshop, range, location, *request.seat);
        if (!seat_ok.ok()) {
          if (slot_count >= capacity) {
            ASSIGN_OR_RETURN(auto free_rows,
                             tx.Query("SELECT slot FROM capacity_slots WHERE workshop = $1 AND "
                                      "slot <= $2 AND registration_id IS NULL LIMIT 1",
                                      {request.workshop, slot_count}));
            if (free_rows.empty()) return capacity_reached;
          }
          return seat_ok;
        }
      }

      // SQLite, and CREATE on PostgreSQL: claims the lowest free capacity slot, inserts the
      // registration on the seat `seat_sql` yields (one row with `number`, or none when there
      // is no seat to take), occupies that seat and hands the slot to the registration.
      // Returns one row: the registration's columns, the seat's, the slot taken, the slot
      // claimed (NULLs for what did not happen). PostgreSQL claims with SKIP LOCKED (a slot
      // claimed by a concurrent registration is passed over, not waited for) and does it in
      // one statement (a data-modifying WITH); SQLite, which runs write transactions alone
      // and has no such WITH, in up to four.
      auto claim_and_occupy = [&](const std::string& seat_sql,
                                  std::vector<SqlParam> params) -> absl::StatusOr<SqlRow> {
        params.insert(params.end(), {participant.id, TimeToDb(now), TimeToDb(deadline), token_hash,
                                     request.workshop, location, token_nonce});
        const size_t n = params.size();
        auto insert = [&](const std::string& from) {
          return absl::StrCat(
              "INSERT INTO registrations (participant_id, workshop, location, seat, start_us, "
              "deadline_us, state, token_hash, progress_json, token_nonce) SELECT $",
              n - 6, ", $", n - 2, ", $", n - 1, ", free.number, $", n - 5, ", $", n - 4,
              ", 'active', $", n - 3, ", '', $", n, " FROM ", from, " RETURNING ",
              kRegistrationColumns);
        };
        constexpr char kFreeSlot[] =
            " WHERE workshop = $%d AND slot <= $%d AND registration_id IS NULL ORDER BY slot "
            "LIMIT 1";
        if (tx.dialect() == Dialect::kPostgres) {
          params.push_back(slot_count);
          return OneRow(tx.Query(
              absl::StrCat(
                  "WITH slot AS (SELECT slot FROM capacity_slots",
                  absl::StrFormat(kFreeSlot, n - 2, n + 1), " FOR UPDATE SKIP LOCKED), r AS (",
                  insert(absl::StrCat("slot, (", seat_sql, ") AS free")),
                  "), s AS (UPDATE seats SET registration_id = r.id, "
                  "generation = seats.generation + 1 FROM r WHERE seats.location = "
                  "r.location AND seats.number = r.seat AND seats.registration_id IS NULL "
                  "RETURNING seats.location, seats.number, seats.workshop, "
                  "seats.registration_id, seats.password, seats.reset_epoch, "
                  "seats.generation), c AS (UPDATE capacity_slots SET registration_id = r.id "
                  "FROM r, slot WHERE capacity_slots.workshop = r.workshop AND "
                  "capacity_slots.slot = slot.slot AND capacity_slots.registration_id IS NULL "
                  "RETURNING capacity_slots.slot) SELECT r.*, s.*, c.slot, (SELECT slot FROM "
                  "slot) FROM (SELECT 1) AS one LEFT JOIN r ON TRUE LEFT JOIN s ON TRUE LEFT "
                  "JOIN c ON TRUE"),
              params));
        }
        std::vector<std::optional<std::string>> joined(kRegistrationWidth + kSeatWidth + 2);
        ASSIGN_OR_RETURN(auto slot_rows,
                         tx.Query(absl::StrCat("SELECT slot FROM capacity_slots INDEXED BY "
                                               "capacity_slots_free",
                                               absl::StrFormat(kFreeSlot, 1, 2)),
                                  {request.workshop, slot_count}));
        if (slot_rows.empty()) return SqlRow(std::move(joined));
        const int64_t slot = slot_rows[0].Int(0);
        joined.back() = absl::StrCat(slot);
        ASSIGN_OR_RETURN(auto rows,
                         tx.Query(insert(absl::StrCat("(", seat_sql, ") AS free")), params));
        if (rows.size() != 1) return SqlRow(std::move(joined));
        const SqlRow& r = rows[0];
        ASSIGN_OR_RETURN(
            auto seat_rows,
            tx.Query(absl::StrCat("UPDATE seats SET registration_id = $1, "
                                  "generation = generation + 1 WHERE location = $2 AND "
                                  "number = $3 AND registration_id IS NULL RETURNING ",
                                  kSeatColumns),
                     {r.Int(0), location, r.Int(4)}));
        ASSIGN_OR_RETURN(int64_t slots_taken,
                         tx.Exec("UPDATE capacity_slots SET registration_id = $1 WHERE "
                                 "workshop = $2 AND slot = $3 AND registration_id IS NULL",
                                 {r.Int(0), request.workshop, slot}));
        for (size_t i = 0; i < kRegistrationWidth; ++i) {
          if (!r.IsNull(i)) joined[i] = r.Text(i);
        }
        for (size_t i = 0; seat_rows.size() == 1 && i < kSeatWidth; ++i) {
          if (!seat_rows[0].IsNull(i)) joined[kRegistrationWidth + i] = seat_rows[0].Text(i);
        }
        if (slots_taken == 1) joined[kRegistrationWidth + kSeatWidth] = absl::StrCat(slot);
        return SqlRow(std::move(joined));
      };
      if (request.seat) {
        ASSIGN_OR_RETURN(row,
                         claim_and_occupy("SELECT CAST($1 AS INTEGER) AS number", {*request.seat}));
      } else if (tx.dialect() == Dialect::kSqlite) {
        // The lowest vacant seat, picked inside the INSERT: an index seek on seats_vacant.
        // SQLite is told the index: without statistics its planner prefers the primary key
        // and walks every occupied seat below the first vacant one.
        ASSIGN_OR_RETURN(
            row, claim_and_occupy("SELECT number FROM seats INDEXED BY seats_vacant WHERE "
                                  "workshop = $1 AND location = $2 AND number >= $3 AND "
                                  "number <= $4 AND registration_id IS NULL ORDER BY number "
                                  "LIMIT 1",
                                  {request.workshop, location, range.min, range.max}));
      }
      const size_t slot_taken = kRegistrationWidth + kSeatWidth;
      if (row.size() != slot_taken + 2) {
        return absl::InternalError("registration insert returned no row");
      }
      if (row.IsNull(slot_taken + 1)) {
        return slot_count < capacity ? no_free_seat : capacity_reached;
      }
      if (row.IsNull(0)) {
        if (!request.seat) return no_free_seat;
        return absl::FailedPreconditionError(
            absl::StrCat(SeatName(location, *request.seat), " is occupied"));
      }
      Registration registration = RegistrationFromRow(row);
      if (row.IsNull(kRegistrationWidth)) {
        return absl::FailedPreconditionError(
            absl::StrCat(SeatName(location, registration.seat), " is occupied"));
      }
      if (row.IsNull(slot_taken)) {
        return absl::InternalError(absl::StrCat("capacity slot ", row.Int(slot_taken + 1),
                                                " of workshop '", request.workshop,
                                                "' was taken meanwhile"));
      }
      result.registration = std::move(registration);
      result.participant = std::move(participant);
      result.seat = SeatFromRow(row, kRegistrationWidth);
      result.token = token;
      return tx.MarkChanged();
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
                                                         ForUpdate(tx)),
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
        RETURN_IF_ERROR(ReleaseSlot(tx, reg_rows[0].Text(2), registration_id));
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
      return tx.MarkChanged();
    }));
    return result;
  }

  absl::StatusOr<Registration> Extend(int64_t registration_id, absl::Time new_deadline) override {
    new_deadline = ToMicros(new_deadline);
    Registration out;
    RETURN_IF_ERROR(db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows,
                       tx.Query(absl::StrCat("SELECT ", kRegistrationColumns,
                                             " FROM registrations WHERE id = $1", ForUpdate(tx)),
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
      return tx.MarkChanged();
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

  absl::Status PutSeatStatus(const SeatStatus& status, const std::string& lease_name,
                             int64_t lease_epoch) override {
    if (status.location.empty()) return absl::InvalidArgumentError("seat status without location");
    if (!status.progress_json.empty() && !nlohmann::json::accept(status.progress_json)) {
      return absl::InvalidArgumentError("seat progress is not JSON");
    }
    const std::string conditions = ConditionsToJson(status.conditions);
    std::optional<int64_t> last_activity;
    if (status.last_activity) last_activity = TimeToDb(*status.last_activity);
    return db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      // FOR SHARE: a takeover (which updates the lease row) waits until this write commits,
      // so no status of the old holder lands after the new holder's first write.
      RETURN_IF_ERROR(CheckFence(tx, lease_name, lease_epoch));
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
               std::string(model::PhaseName(status.phase)), conditions, status.last_error,
               TimeToDb(status.updated), lease_name, lease_epoch, status.progress_registration,
               status.progress_json, last_activity})
          .status();
    });
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
    return db_->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
      return tx
          .Exec(
              "INSERT INTO events (time_us, location, seat, kind, reason, message) "
              "VALUES ($1, $2, $3, $4, $5, $6)",
              {TimeToDb(event.time), event.location, event.seat, event.kind, event.reason,
               event.message})
          .status();
    });
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

  bool WaitForChange(absl::Duration timeout) override { return db_->WaitForChange(timeout); }

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
      ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT holder, epoch, expires_us FROM leases "
                                           "WHERE name = $1" +
                                               ForUpdate(tx),
                                           {name}));
      if (rows.empty()) return absl::InternalError(absl::StrCat("lease '", name, "' vanished"));
      const std::string current = rows[0].Text(0);
      int64_t epoch = rows[0].Int(1);
      const absl::Time expires = TimeFromDb(rows[0].Int(2));
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
      const char* lock = tx.dialect() == Dialect::kPostgres ? " FOR UPDATE SKIP LOCKED" : "";
      ASSIGN_OR_RETURN(
          auto rows,
          tx.Query(absl::StrCat("UPDATE notifications SET claimed_until_us = $1, "
                                "attempts = attempts + 1 WHERE id IN (SELECT id FROM "
                                "notifications WHERE state = 'pending' AND next_attempt_us <= $2 "
                                "AND (claimed_until_us IS NULL OR claimed_until_us <= $2) "
                                "ORDER BY next_attempt_us, id LIMIT $3",
                                lock, ") RETURNING ", kNotificationColumns),
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
      ASSIGN_OR_RETURN(
          auto rows,
          tx.Query("SELECT revoked FROM api_tokens WHERE name = $1" + ForUpdate(tx), {name}));
      if (rows.empty()) {
        return absl::NotFoundError(absl::StrCat("no token named '", name, "'"));
      }
      changed = !rows[0].Bool(0);
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
  static std::string ForUpdate(const SqlTx& tx) {
    return tx.dialect() == Dialect::kPostgres ? " FOR UPDATE" : "";
  }
  static std::string ForKeyShare(const SqlTx& tx) {
    return tx.dialect() == Dialect::kPostgres ? " FOR KEY SHARE" : "";
  }

  // CREATE's checks of the named seat: in the workshop's range, existing, of the workshop,
  // vacant. The seat row is locked first (PostgreSQL), so the answer holds until the
  // transaction ends.
  static absl::Status CheckRequestedSeat(SqlTx& tx, const std::string& workshop,
                                         const model::SeatRange& range, const std::string& location,
                                         int number) {
    if (!range.Contains(number)) {
      return absl::FailedPreconditionError(absl::StrCat("seat ", number, " is outside the range ",
                                                        range.min, "-", range.max, " of workshop '",
                                                        workshop, "'"));
    }
    ASSIGN_OR_RETURN(auto srows, tx.Query(absl::StrCat("SELECT workshop, registration_id FROM "
                                                       "seats WHERE location = $1 AND number = $2",
                                                       ForUpdate(tx)),
                                          {location, number}));
    if (srows.empty()) {
      return absl::NotFoundError(absl::StrCat(SeatName(location, number), " not found"));
    }
    if (srows[0].Text(0) != workshop) {
      return absl::FailedPreconditionError(absl::StrCat(
          SeatName(location, number), " belongs to workshop '", srows[0].Text(0), "'"));
    }
    if (!srows[0].IsNull(1)) {
      return absl::FailedPreconditionError(
          absl::StrCat(SeatName(location, number), " is occupied"));
    }
    return absl::OkStatus();
  }

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
    ASSIGN_OR_RETURN(
        auto wrows,
        tx.Query("SELECT slot_count FROM workshops WHERE id = $1" + ForKeyShare(tx), {workshop}));
    if (wrows.empty()) {
      return absl::InternalError(absl::StrCat("workshop '", workshop, "' vanished"));
    }
    const int64_t slot_count = wrows[0].Int(0);
    ASSIGN_OR_RETURN(auto own, tx.Query("SELECT slot FROM capacity_slots WHERE workshop = $1 AND "
                                        "registration_id = $2" +
                                            ForUpdate(tx),
                                        {workshop, registration_id}));
    if (own.empty()) {
      return absl::InternalError(
          absl::StrCat("registration ", registration_id, " holds no capacity slot"));
    }
    const int64_t slot = own[0].Int(0);
    if (slot > slot_count) {
      return tx
          .Exec("DELETE FROM capacity_slots WHERE workshop = $1 AND slot = $2", {workshop, slot})
          .status();
    }
    constexpr char kHighHeld[] =
        "SELECT slot FROM capacity_slots WHERE workshop = $1 AND slot > $2 AND "
        "registration_id IS NOT NULL ORDER BY slot DESC LIMIT 1";
    for (int attempt = 0; attempt < kMaxSlotLookups; ++attempt) {
      ASSIGN_OR_RETURN(auto high, tx.Query(kHighHeld + ForUpdate(tx), {workshop, slot_count}));
      if (!high.empty()) {
        RETURN_IF_ERROR(tx.Exec("DELETE FROM capacity_slots WHERE workshop = $1 AND slot = $2",
                                {workshop, slot})
                            .status());
        return tx
            .Exec("UPDATE capacity_slots SET slot = $3 WHERE workshop = $1 AND slot = $2",
                  {workshop, high[0].Int(0), slot})
            .status();
      }
      if (tx.dialect() == Dialect::kSqlite) break;
      // PostgreSQL: the highest one may have been released or renumbered by a verb that
      // committed while this one waited for its lock; a fresh statement sees what is left.
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
  static absl::Status SyncSlots(SqlTx& tx) {
    ASSIGN_OR_RETURN(auto seat_counts,
                     tx.Query("SELECT workshop, count(*) FROM seats GROUP BY workshop"));
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

  // Makes the seats table match the ranges of the active workshops: one seat per number of
  // each range, on the workshop's location. Where ranges overlap (the catalog lint rejects
  // that, but the store must not trip on it) the seat goes to the first workshop by id.
  // Occupied seats are left exactly as they are.
  static absl::Status RebuildSeatPool(SqlTx& tx, CatalogChange* change, bool* moved) {
    ASSIGN_OR_RETURN(auto wrows, tx.Query("SELECT id, location, range_min, range_max FROM "
                                          "workshops WHERE active = $1 ORDER BY id",
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
    const char* lock = tx.dialect() == Dialect::kPostgres ? " FOR SHARE" : "";
    ASSIGN_OR_RETURN(
        auto rows, tx.Query(absl::StrCat("SELECT holder, epoch FROM leases WHERE name = $1", lock),
                            {lease_name}));
    if (rows.empty()) {
      return absl::AbortedError(absl::StrCat("lease '", lease_name, "' does not exist"));
    }
    if (rows[0].Int(1) != lease_epoch) {
      return absl::AbortedError(absl::StrCat("lease '", lease_name, "' is at epoch ",
                                             rows[0].Int(1), ", not ", lease_epoch,
                                             ": another holder took it over"));
    }
    if (rows[0].Text(0).empty()) {
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
