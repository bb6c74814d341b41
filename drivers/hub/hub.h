// The JupyterHub driver: observes the hub's users with the state of their default single-user
// server, and creates/deletes users and starts/stops servers. The real implementation
// (hub_real.h) talks to the hub's REST API with a service token; the fake (hub_fake.h) keeps
// the same semantics in memory for planner and loop tests.
//
// Contract (both implementations; tests/drivers/hub_contract_test.cc):
// - Observe() lists every hub user in one paginated pass. Users named by the HubPolicy are
//   ours; the others are reported by name as foreign and never touched.
// - Apply() is idempotent: creating an existing user, deleting a missing one, starting a
//   running or starting server and stopping a stopped one all succeed. It never waits for a
//   server to come up or go down: Observe() shows kPendingStart / kPendingStop meanwhile.
// - Error codes say what the caller does next: Unavailable (hub down, 5xx, 429, a pending
//   transition in the way) = retry later; FailedPrecondition (no Linux account for the user,
//   hub misconfigured), InvalidArgument, PermissionDenied (bad token or missing scopes) =
//   stop until something changes; NotFound = starting a server of a user that does not exist.
// - The service token never appears in a log line or an error.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/hub.h"

namespace wod::drivers {

class Hub {
 public:
  virtual ~Hub() = default;
  // Every hub user: ours (with server state and last activity) and the names of the others.
  [[nodiscard]] virtual absl::StatusOr<model::ObservedHub> Observe() = 0;
  [[nodiscard]] virtual absl::Status Apply(const model::HubAction& action) = 0;
};

// Pieces shared by the real driver and the fake, so that both page through users the same
// way. Exposed for tests.
namespace hub_internal {

// One user as the hub's user model describes it, before the policy sorts ours from foreign.
struct HubUserRecord {
  std::string name;
  bool admin = false;
  model::HubServerState server = model::HubServerState::kNone;
  std::optional<absl::Time> last_activity;
};

// One response of GET /hub/api/users. `paginated` is the {items, _pagination} shape (asked for
// with `Accept: application/jupyterhub-pagination+json`, JupyterHub >= 2.0); otherwise the
// hub sent a plain list (older hubs, which may also ignore offset and limit).
struct UsersPage {
  std::vector<HubUserRecord> users;
  bool paginated = false;
  std::optional<int> next_offset;  // paginated only: where the next page starts
};

using FetchUsersPage = std::function<absl::StatusOr<UsersPage>(int offset, int limit)>;

// Pages through the users from offset 0 until the hub says there is no next page (paginated)
// or a page brings nothing new (plain list: an empty page, or a hub ignoring offset). A user
// seen twice (the list shifted between pages) counts once. Bounded: gives up with Unavailable
// after `max_pages` pages or when the hub's next offset does not advance.
absl::StatusOr<model::ObservedHub> CollectUsers(const model::HubPolicy& policy, int page_size,
                                                const FetchUsersPage& fetch,
                                                int max_pages = 100000);

// Parses a users page in either shape. Unavailable when the body is not a users list.
absl::StatusOr<UsersPage> ParseUsersPage(std::string_view body);
// Parses one user model (GET /hub/api/users/NAME).
absl::StatusOr<HubUserRecord> ParseUser(std::string_view body);
// The "message" of the hub's JSON error body, cut to 200 characters; "" when there is none.
std::string HubErrorMessage(std::string_view body);
// The hub's timestamps ("2026-11-22T02:47:46.456346Z"; older hubs omit the zone: UTC).
std::optional<absl::Time> ParseHubTime(std::string_view text);

}  // namespace hub_internal
}  // namespace wod::drivers
