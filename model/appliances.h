// The appliances domain's vocabulary shared by the planner and the Docker driver: what a
// managed container looks like when observed, and the actions that converge it. Pure values,
// no I/O. A container is wod's when it carries the label wod.managed-by=<location>; the other
// wod.* labels say which seat, registration and reset epoch it was made for.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/types.h"

namespace wod::model {

// Labels wod puts on every container it creates. kLabelManagedBy holds the location's name:
// a controller lists, changes and removes only containers carrying its own location there.
inline constexpr char kLabelManagedBy[] = "wod.managed-by";
inline constexpr char kLabelSeat[] = "wod.seat";
inline constexpr char kLabelRegistration[] = "wod.registration";
inline constexpr char kLabelWorkshop[] = "wod.workshop";
inline constexpr char kLabelEpoch[] = "wod.epoch";
inline constexpr char kLabelAppliance[] = "wod.appliance";
// Digest of what the container was created from (ApplianceSpecHash): a planner compares it
// with the desired one to notice catalog changes without inspecting every container.
inline constexpr char kLabelSpec[] = "wod.spec";

enum class ContainerState { kCreated, kRunning, kPaused, kRestarting, kRemoving, kExited, kDead };
const char* ContainerStateName(ContainerState s);
// Docker's State strings ("running", "exited", ...); nullopt for anything else.
std::optional<ContainerState> ParseContainerState(std::string_view s);

// The name wod gives a seat's appliance container: wod-<location>-<seat>-<appliance>.
std::string ApplianceContainerName(std::string_view location, int seat, std::string_view appliance);

// A port published on the host: container port `container` reachable at host_ip:host.
struct PublishedPort {
  int container = 0;
  int host = 0;
  std::string host_ip;  // "" in an action: the driver's configured host address
  bool operator==(const PublishedPort&) const = default;
};

// A container carrying this location's wod.managed-by label, as the engine lists it.
struct ObservedContainer {
  std::string id;
  std::string name;  // without Docker's leading '/'
  std::string image;
  ContainerState state = ContainerState::kCreated;
  std::map<std::string, std::string> labels;  // every label, ours and the image's
  std::vector<PublishedPort> ports;           // ports actually published now
  // Decoded from the wod.* labels. `malformed` is set when one is missing or unparsable: the
  // container is still ours (it has our managed-by label) and a planner removes it.
  int seat = 0;
  int64_t registration_id = 0;
  std::string workshop;
  int64_t epoch = 0;
  std::string appliance;
  std::string spec_hash;
  bool malformed = false;

  bool running() const { return state == ContainerState::kRunning; }
  bool operator==(const ObservedContainer&) const = default;
};

// Everything the appliances driver owns on one location, from one listing.
struct ObservedAppliances {
  std::vector<ObservedContainer> containers;  // sorted by name
  const ObservedContainer* Find(std::string_view name) const;
};

// One step towards the desired appliances of a seat. Every kind names the container by
// location, seat and appliance; kCreate also carries everything the container is made from.
struct ApplianceAction {
  enum class Kind {
    kCreate,  // create (not start) the container with its labels, env, ports and limits
    kStart,   // start it; already running is success
    kStop,    // stop it within stop_timeout_seconds; already stopped or absent is success
    kRemove,  // remove it with its anonymous volumes; absent is success
  };
  Kind kind = Kind::kCreate;
  std::string location;
  int seat = 0;
  std::string appliance;

  // kCreate only.
  std::string workshop;
  int64_t registration_id = 0;
  int64_t epoch = 0;  // the seat's reset_epoch
  std::string image;
  std::vector<std::string> command;        // empty: the image's default command
  std::map<std::string, std::string> env;  // rendered values; may hold the seat's password
  std::vector<PublishedPort> ports;
  int64_t memory_bytes = 0;  // 0: no limit
  double cpus = 0;           // 0: no limit
  bool privileged = false;

  // kStop only.
  int stop_timeout_seconds = 10;

  std::string reason;  // why the planner wants this, for events and logs

  std::string ContainerName() const;
  // One line for logs and events: kind, container, reason; never env values.
  std::string Describe() const;
  bool operator==(const ApplianceAction&) const = default;
};

const char* ApplianceActionKindName(ApplianceAction::Kind k);

// Host port of `port` for `seat` of a workshop whose seats span `range`:
// host_base + (seat - range.min), so seats of one workshop never share a host port.
int ApplianceHostPort(const AppliancePort& port, int seat, const SeatRange& range);

// The kCreate action for one appliance of a seat, from the catalog entry and the env values
// already rendered for this seat (the template engine lives elsewhere).
ApplianceAction MakeApplianceCreate(const Workshop& workshop, const Appliance& appliance,
                                    std::string_view location, int seat, int64_t registration_id,
                                    int64_t epoch, std::map<std::string, std::string> rendered_env);

// Digest of the settings a kCreate action makes a container from (image, command, env,
// ports, limits, privileged), stored in the wod.spec label. Equal specs give equal digests.
std::string ApplianceSpecHash(const ApplianceAction& create);

}  // namespace wod::model
