// Fuzz target for the hub driver's parsers of JupyterHub's users API (drivers/hub/hub.h,
// hub_internal): the body of GET /hub/api/users in both shapes, one user model, the error
// body and the hub's timestamps. Properties checked:
//  - nothing crashes or throws, whatever the bytes;
//  - a page that parses has a named user per item; `paginated` exactly for the object shape;
//    a next offset only when paginated;
//  - ParseUser agrees with the page parser on a single-item page;
//  - CollectUsers over that page sorts every user into ours (name = policy name of its seat)
//    or foreign, never both, each once;
//  - HubErrorMessage is at most 200 characters plus "...".
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "drivers/hub/hub.h"
#include "nlohmann/json.hpp"

namespace {

using namespace wod::drivers::hub_internal;

void Fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "hub_users_fuzz: %s\n%.*s\n", what, static_cast<int>(input.size()),
               input.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (HubErrorMessage(input).size() > 203) Fail("error message longer than its cap", input);
  (void)ParseHubTime(input);
  (void)ParseUser(input);

  const auto page = ParseUsersPage(input);
  if (!page.ok()) return 0;
  const nlohmann::json doc = nlohmann::json::parse(input, nullptr, false);
  if (page->paginated != doc.is_object()) Fail("paginated does not follow the shape", input);
  if (page->next_offset && !page->paginated) Fail("next offset in a plain list", input);
  for (const auto& u : page->users) {
    if (u.name.empty()) Fail("user without a name", input);
  }
  if (page->users.size() == 1) {
    const nlohmann::json& item = doc.is_array() ? doc[0] : doc["items"][0];
    const auto one = ParseUser(item.dump());
    if (!one.ok() || one->name != page->users[0].name || one->admin != page->users[0].admin ||
        one->server != page->users[0].server ||
        one->last_activity != page->users[0].last_activity) {
      Fail("ParseUser disagrees with ParseUsersPage", input);
    }
  }

  wod::model::HubPolicy policy;
  int calls = 0;
  const auto observed = CollectUsers(
      policy, 50,
      [&](int, int) -> absl::StatusOr<UsersPage> {
        if (calls++ == 0) return *page;
        return UsersPage{};  // an empty plain list ends the listing
      },
      /*max_pages=*/4);
  if (!observed.ok()) return 0;
  std::set<std::string> names;
  for (const auto& u : page->users) names.insert(u.name);
  std::set<std::string> seen;
  for (const auto& u : observed->users) {
    if (policy.UserName(u.seat) != u.name) Fail("ours with a name not its seat's", input);
    if (!seen.insert(u.name).second) Fail("a user listed twice", input);
  }
  for (const auto& name : observed->foreign) {
    if (policy.SeatOfName(name)) Fail("a seat's user reported as foreign", input);
    if (!seen.insert(name).second) Fail("a user both ours and foreign, or twice", input);
  }
  if (seen != names) Fail("users lost or invented", input);
  return 0;
}
