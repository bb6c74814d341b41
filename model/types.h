// The value types of wod's desired state: what a workshop, location, seat, participant,
// registration and notification are. Plain structs, no I/O; validation lives in validate.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace wod::model {

// A port a workshop's appliance exposes: container port, published on the host at
// host_base + (seat number - range min).
struct AppliancePort {
  int container = 0;
  int host_base = 0;
  bool operator==(const AppliancePort&) const = default;
};

struct Appliance {
  std::string name;                  // [a-z0-9][a-z0-9-]*, unique within the workshop
  std::string image;                 // docker image reference
  std::vector<std::string> command;  // argv run in the container; empty: the image's default
  std::vector<AppliancePort> ports;
  std::map<std::string, std::string> env;  // values are templates rendered per seat
  int64_t memory_bytes = 0;                // 0: no limit
  double cpus = 0;                         // 0: no limit
  bool privileged = false;
  bool operator==(const Appliance&) const = default;
};

struct SeatRange {
  int min = 0;
  int max = 0;
  int size() const { return max - min + 1; }
  bool Contains(int n) const { return n >= min && n <= max; }
  bool Overlaps(const SeatRange& o) const { return min <= o.max && o.min <= max; }
  bool operator==(const SeatRange&) const = default;
};

// One catalog entry, from WKSHP-<Name>/wod.yml. Field names follow WoD's wod.yml.
struct Workshop {
  std::string id;  // the folder or file stem: "WKSHP-API101"
  // Where the workshop's notebooks are on a backend: the WKSHP-<Name> folder the catalog was
  // loaded from (absolute), "" for a bare .yml file. A controller may map it (--content-root).
  std::string content_dir;
  std::string name;
  std::string description;
  bool active = false;
  int capacity = 0;
  int priority = 0;
  SeatRange range;
  bool reset = false;
  bool ldap = false;
  int replay_id = 0;
  bool varpass = false;
  bool compile = false;
  bool beta = false;
  bool monoappliance = false;
  bool multiappliance = false;
  std::string workshop_img;
  std::string badge_img;
  std::vector<std::string> category;
  int duration_hours = 0;
  std::string presenter;
  std::string role;
  std::string avatar;
  std::string replay_link;
  std::string video_link;
  std::string notebook;
  // wod's own fields
  std::string location;  // backend; empty in a file means the default location
  // Other locations the workshop's range also exists on (WoD's `alternateLocation`, a name or
  // a list): registrations are routed to the live one with the most free seats.
  std::vector<std::string> alternate_locations;
  std::vector<Appliance> appliances;
  std::map<std::string, std::string> variables;  // extra template variables
  bool operator==(const Workshop&) const = default;
  // `location` then each alternate not already named, in the file's order.
  std::vector<std::string> Locations() const;
};

// What an operator allows on a location. kDraining: no new registrations, running seats live
// to their deadline; kDisabled: also not counted as capacity.
enum class LocationState { kActive, kDraining, kDisabled };
const char* LocationStateName(LocationState state);
// The login page of the JupyterHub at `hub_url` (a base URL, as a location's hub_url).
std::string HubLoginUrl(std::string_view hub_url);  // "active", "draining", "disabled"
std::optional<LocationState> ParseLocationState(std::string_view name);

struct Location {
  std::string name;  // [a-z0-9][a-z0-9-]*
  std::string fqdn;  // external name participants reach (WODBEEXTFQDN)
  // The JupyterHub participants of this location log in to (the participant page's "Open
  // workshop" link and the mails); empty: the API's configured fallback.
  std::string hub_url;
  LocationState state = LocationState::kActive;
  int64_t generation = 0;
  // The user name prefix of its seat accounts (seat N is <user_prefix>N), recorded by its
  // controller from its config; empty until one ran: the API's configured fallback.
  std::string user_prefix;
  bool operator==(const Location&) const = default;
};

// The desired state of one seat. A vacant seat has no registration_id.
struct Seat {
  std::string location;
  int number = 0;
  std::string workshop;  // the workshop whose range holds this number
  std::optional<int64_t> registration_id;
  std::string password;  // the occupant's password, or the locked vacant password
  int64_t reset_epoch = 0;
  int64_t generation = 0;
  bool operator==(const Seat&) const = default;
};

struct Participant {
  int64_t id = 0;
  std::string email;  // stored lowercased
  std::string name;
  std::string company;
  bool operator==(const Participant&) const = default;
};

enum class RegistrationState {
  kActive,  // holds a seat
  kEnded,   // CLEANUP: seat released, progress harvested
  kFailed,  // PURGE: seat released without harvest
};
const char* RegistrationStateName(RegistrationState s);
std::optional<RegistrationState> ParseRegistrationState(std::string_view s);

struct Registration {
  int64_t id = 0;
  int64_t participant_id = 0;
  std::string workshop;
  std::string location;
  int seat = 0;
  absl::Time start;
  absl::Time deadline;
  std::optional<absl::Time> ended;
  RegistrationState state = RegistrationState::kActive;
  std::string token_hash;     // sha256 of the participant's secret page token
  std::string progress_json;  // harvested progress, "" until harvested
  // With the server's secret, derives the page token (model/participant_token.h); "" when the
  // token was random (no secret configured). Not a secret by itself.
  std::string token_nonce;
  bool operator==(const Registration&) const = default;
};

enum class NotificationState { kPending, kSent, kFailed };
const char* NotificationStateName(NotificationState s);
std::optional<NotificationState> ParseNotificationState(std::string_view s);

// A mail in the outbox. `key` makes enqueueing idempotent ("<registration>:<kind>").
struct Notification {
  int64_t id = 0;
  std::string key;
  std::optional<int64_t> registration_id;
  std::string kind;  // welcome, credentials, reminder, final, apology, badge-N
  std::string recipient;
  std::string subject;
  std::string text_body;
  std::string html_body;
  NotificationState state = NotificationState::kPending;
  int attempts = 0;
  absl::Time next_attempt = absl::InfinitePast();
  std::string last_error;
  bool operator==(const Notification&) const = default;
};

// The four WoD verbs. As state transitions: CREATE occupies, CLEANUP vacates with harvest,
// RESET bumps reset_epoch, PURGE vacates without harvest and marks the registration failed.
enum class Verb { kCreate, kCleanup, kReset, kPurge };
const char* VerbName(Verb v);

// The seat a user name "<prefix><digits>" stands for (Linux account and hub user alike): at
// most 9 digits, no leading zeros, so each seat has exactly one name; nullopt otherwise.
std::optional<int> SeatOfUserName(std::string_view name, std::string_view prefix);
std::optional<Verb> ParseVerb(std::string_view s);  // case-insensitive

}  // namespace wod::model
