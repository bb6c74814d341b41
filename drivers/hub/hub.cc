#include "drivers/hub/hub.h"

#include <algorithm>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace wod::drivers::hub_internal {
namespace {

using json = nlohmann::json;
using model::HubServerState;

// The server state from a user model. `pending` and `server` come with the read:users scope;
// a token that only has read:servers sees the default server in `servers[""]` instead.
HubServerState ServerStateOf(const json& user) {
  auto from = [](const json& pending, bool ready) {
    if (pending.is_string()) {
      const std::string& p = pending.get_ref<const std::string&>();
      if (p == "spawn") return HubServerState::kPendingStart;
      if (p == "stop") return HubServerState::kPendingStop;
      // Other transitions ("check") happen to an existing server.
      return ready ? HubServerState::kRunning : HubServerState::kPendingStart;
    }
    return ready ? HubServerState::kRunning : HubServerState::kNone;
  };
  if (user.contains("pending") || user.contains("server")) {
    json pending = user.value("pending", json());
    auto server = user.find("server");
    bool ready = server != user.end() && server->is_string() &&
                 !server->get_ref<const std::string&>().empty();
    return from(pending, ready);
  }
  auto servers = user.find("servers");
  if (servers != user.end() && servers->is_object()) {
    auto def = servers->find("");
    if (def != servers->end() && def->is_object()) {
      auto ready = def->find("ready");
      return from(def->value("pending", json()),
                  ready != def->end() && ready->is_boolean() && ready->get<bool>());
    }
  }
  return HubServerState::kNone;
}

absl::StatusOr<HubUserRecord> RecordOf(const json& user) {
  if (!user.is_object()) return absl::UnavailableError("hub user model is not an object");
  auto name = user.find("name");
  if (name == user.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) {
    return absl::UnavailableError("hub user model has no name");
  }
  HubUserRecord r;
  r.name = name->get<std::string>();
  auto admin = user.find("admin");
  r.admin = admin != user.end() && admin->is_boolean() && admin->get<bool>();
  r.server = ServerStateOf(user);
  auto activity = user.find("last_activity");
  if (activity != user.end() && activity->is_string()) {
    r.last_activity = ParseHubTime(activity->get_ref<const std::string&>());
  }
  return r;
}

}  // namespace

std::optional<absl::Time> ParseHubTime(std::string_view text) {
  absl::Time t;
  std::string err;
  const std::string s(text);  // this Abseil's string_view is not std::string_view
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return t;
  if (absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*S", s, absl::UTCTimeZone(), &t, &err)) return t;
  return std::nullopt;
}

absl::StatusOr<UsersPage> ParseUsersPage(std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return absl::UnavailableError("hub users list is not json");
  UsersPage page;
  const json* items = nullptr;
  if (doc.is_array()) {
    items = &doc;
  } else if (doc.is_object() && doc.contains("items") && doc["items"].is_array()) {
    page.paginated = true;
    items = &doc["items"];
    auto pagination = doc.find("_pagination");
    if (pagination != doc.end() && pagination->is_object()) {
      auto next = pagination->find("next");
      if (next != pagination->end() && next->is_object()) {
        auto offset = next->find("offset");
        if (offset == next->end() || !offset->is_number_integer()) {
          return absl::UnavailableError("hub users list: _pagination.next has no offset");
        }
        page.next_offset = offset->get<int>();
      }
    }
  } else {
    return absl::UnavailableError("hub users list is neither a list nor {items, _pagination}");
  }
  page.users.reserve(items->size());
  for (const json& user : *items) {
    auto record = RecordOf(user);
    if (!record.ok()) return record.status();
    page.users.push_back(*std::move(record));
  }
  return page;
}

absl::StatusOr<HubUserRecord> ParseUser(std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return absl::UnavailableError("hub user model is not json");
  return RecordOf(doc);
}

std::string HubErrorMessage(std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) return "";
  auto message = doc.find("message");
  if (message == doc.end() || !message->is_string()) return "";
  std::string m = message->get<std::string>();
  if (m.size() > 200) m = m.substr(0, 200) + "...";
  return m;
}

absl::StatusOr<model::ObservedHub> CollectUsers(const model::HubPolicy& policy, int page_size,
                                                const FetchUsersPage& fetch, int max_pages) {
  if (page_size < 1) return absl::InvalidArgumentError("hub page size must be at least 1");
  model::ObservedHub out;
  std::set<std::string> seen;
  std::set<std::string> foreign;
  int offset = 0;
  for (int pages = 0;; ++pages) {
    if (pages >= max_pages) {
      return absl::UnavailableError(
          absl::StrCat("hub users list did not end after ", max_pages, " pages"));
    }
    auto page = fetch(offset, page_size);
    if (!page.ok()) return page.status();
    bool added = false;
    for (HubUserRecord& r : page->users) {
      if (!seen.insert(r.name).second) continue;
      added = true;
      if (auto seat = policy.SeatOfName(r.name)) {
        out.users.push_back(
            model::ObservedHubUser{std::move(r.name), *seat, r.admin, r.server, r.last_activity});
      } else {
        foreign.insert(std::move(r.name));
      }
    }
    if (page->paginated) {
      if (!page->next_offset) break;
      if (*page->next_offset <= offset) {
        return absl::UnavailableError(absl::StrCat(
            "hub users list: next offset ", *page->next_offset, " does not advance past ", offset));
      }
      offset = *page->next_offset;
    } else {
      if (page->users.empty() || !added) break;
      offset += static_cast<int>(page->users.size());
    }
  }
  std::sort(out.users.begin(), out.users.end(),
            [](const model::ObservedHubUser& a, const model::ObservedHubUser& b) {
              return a.seat < b.seat;
            });
  out.foreign.assign(foreign.begin(), foreign.end());
  return out;
}

}  // namespace wod::drivers::hub_internal
