#include "api/server.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "api/api_error.h"
#include "api/json_body.h"
#include "api/openapi.h"
#include "api/registrations_csv.h"
#include "common/log.h"
#include "common/random.h"
#include "model/participant_token.h"
#include "model/validate.h"
#include "store/drift_json.h"

namespace wod::api {
namespace {

using json = nlohmann::json;
constexpr char kJson[] = "application/json";
constexpr int kListenBacklog = 1024;

// The route template the current thread is answering (set by Dispatch, cleared before and
// after each request): the error handler, which runs on the same thread, counts only the
// requests no route answered.
thread_local std::string current_route;

// httplib 0.11 listens with a backlog of 5: a burst of connections overflows it and the
// kernel resets some of them. The server socket is protected in httplib::Server, so a
// subclass re-listens with a real backlog (listen() on a listening socket updates it).
class HttpServer final : public httplib::Server {
 public:
  bool SetBacklog(int backlog) { return ::listen(svr_sock_, backlog) == 0; }
};

void WriteJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(Dump(body), kJson);
}

void WriteError(httplib::Response& res, const ApiError& e) {
  WriteJson(res, e.http_status, e.ToJson());
}

ApiError MakeError(int status, std::string code, std::string message) {
  ApiError e;
  e.http_status = status;
  e.code = std::move(code);
  e.message = std::move(message);
  return e;
}

// A store failure the client cannot act on: logged (store messages carry no secrets), answered
// without its message.
ApiError StoreError(const absl::Status& s, const char* what) {
  if (s.code() == absl::StatusCode::kUnavailable) {
    WOD_LOG(kWarning, "api", "{}: store unavailable: {}", what, std::string(s.message()));
    return MakeError(503, "unavailable", "the store is unavailable; retry shortly");
  }
  WOD_LOG(kError, "api", "{}: {}", what, s.ToString());
  return MakeError(500, "internal", "internal error");
}

// Occupancy of one workshop's seats.
struct Occupancy {
  int seats = 0;
  int occupied = 0;
};

int SeatsLeft(const model::Workshop& w, const Occupancy& o) {
  return std::max(0, std::min(w.capacity - o.occupied, o.seats - o.occupied));
}

// The public view of a workshop: what the portal shows. Not its content path, variables or
// appliances.
json WorkshopJson(const model::Workshop& w, const Occupancy& o) {
  return json{{"id", w.id},
              {"name", w.name},
              {"description", w.description},
              {"active", w.active},
              {"capacity", w.capacity},
              {"seats_left", SeatsLeft(w, o)},
              {"duration_hours", w.duration_hours},
              {"priority", w.priority},
              {"location", w.location},
              {"category", w.category},
              {"presenter", w.presenter},
              {"role", w.role},
              {"avatar", w.avatar},
              {"workshop_img", w.workshop_img},
              {"badge_img", w.badge_img},
              {"replay_link", w.replay_link},
              {"video_link", w.video_link},
              {"beta", w.beta}};
}

// Occupancy by workshop id from the store's aggregate (one query, no seat rows).
absl::StatusOr<std::map<std::string, Occupancy>> OccupancyOf(
    store::Store* store, const std::optional<std::string>& workshop) {
  auto rows = store->ListWorkshopOccupancy(workshop);
  if (!rows.ok()) return rows.status();
  std::map<std::string, Occupancy> out;
  for (const store::WorkshopOccupancy& o : *rows) out[o.workshop] = {o.seats, o.occupied};
  return out;
}

// "Authorization: <scheme> <credentials>" (scheme case-insensitive): the credentials, or
// nullopt when the header is missing or names another scheme.
std::optional<std::string> AuthCredentials(const httplib::Request& req, absl::string_view scheme) {
  if (!req.has_header("Authorization")) return std::nullopt;
  const std::string value = req.get_header_value("Authorization");
  const size_t space = value.find(' ');
  if (space == std::string::npos) return std::nullopt;
  if (!absl::EqualsIgnoreCase(value.substr(0, space), scheme)) return std::nullopt;
  std::string credentials(absl::StripAsciiWhitespace(value.substr(space + 1)));
  if (credentials.empty()) return std::nullopt;
  return credentials;
}

void WriteUnauthenticated(httplib::Response& res, const char* scheme, std::string message) {
  res.set_header("WWW-Authenticate", absl::StrCat(scheme, " realm=\"wod\""));
  WriteError(res, MakeError(401, "unauthenticated", std::move(message)));
}

// How far ahead an extension may put a registration's deadline.
constexpr absl::Duration kMaxDeadlineAhead = absl::Hours(30 * 24);

// A body must say it is JSON: any other type, or none, is 415. Without a type a page of
// another site could post one (a fetch of a typeless Blob is a "simple" cross-site request,
// sent without asking); application/json is not, the browser asks first (CORS preflight).
std::optional<ApiError> CheckJsonContentType(const httplib::Request& req) {
  if (!req.has_header("Content-Type")) {
    return MakeError(415, "unsupported_media_type",
                     "the body must be application/json (Content-Type is missing)");
  }
  std::string type = req.get_header_value("Content-Type");
  type = std::string(absl::StripAsciiWhitespace(type.substr(0, type.find(';'))));
  if (absl::EqualsIgnoreCase(type, kJson)) return std::nullopt;
  return MakeError(415, "unsupported_media_type", "the body must be application/json");
}

// Action routes take no parameters in their body: it is empty or `{}`; anything else is the
// usual strict-JSON 400 (an unknown field is named).
std::optional<ApiError> CheckEmptyBody(const httplib::Request& req) {
  if (absl::StripAsciiWhitespace(req.body).empty()) return std::nullopt;
  if (auto e = CheckJsonContentType(req)) return e;
  json body;
  if (auto e = ParseJsonBody(req.body, &body)) return e;
  return CheckFields(body, {});
}

json ProgressJson(const model::Registration& r) {
  if (r.progress_json.empty()) return nullptr;
  json p = json::parse(r.progress_json, nullptr, false);
  return p.is_discarded() ? json(nullptr) : p;
}

// The live progress a seat's status holds for `registration_id` (what the controller last
// observed in the home, the harvest's shape), or null when it holds none of that registration.
json LiveProgressJson(const store::SeatStatus* st, int64_t registration_id) {
  if (st == nullptr || st->progress_registration != registration_id || registration_id == 0 ||
      st->progress_json.empty()) {
    return nullptr;
  }
  json p = json::parse(st->progress_json, nullptr, false);
  return p.is_discarded() ? json(nullptr) : p;
}

// When that registration's participant last saved a notebook, or null.
json LastActivityJson(const store::SeatStatus* st, int64_t registration_id) {
  if (st == nullptr || st->progress_registration != registration_id || registration_id == 0 ||
      !st->last_activity) {
    return nullptr;
  }
  return common::FormatTime(*st->last_activity);
}

// The controllers' passes per location (store::PassStats) in the text exposition format: a
// summary without quantiles (its _sum and _count are counters) and two gauges.
std::string PassMetricsText(const std::vector<store::PassStats>& stats) {
  std::string sum, count, last, when;
  for (const store::PassStats& p : stats) {
    const std::string label = absl::StrCat("{location=\"", EscapeLabel(p.location), "\"}");
    absl::StrAppend(&sum, "wod_controller_pass_seconds_sum", label, " ",
                    absl::ToDoubleSeconds(p.total_duration), "\n");
    absl::StrAppend(&count, "wod_controller_pass_seconds_count", label, " ", p.passes, "\n");
    absl::StrAppend(&last, "wod_controller_last_pass_seconds", label, " ",
                    absl::ToDoubleSeconds(p.last_duration), "\n");
    absl::StrAppend(&when, "wod_controller_last_pass_timestamp_seconds", label, " ",
                    absl::ToUnixSeconds(p.last_pass), "\n");
  }
  return absl::StrCat(
      "# HELP wod_controller_pass_seconds Reconcile passes of each location's controller.\n"
      "# TYPE wod_controller_pass_seconds summary\n",
      sum, count,
      "# HELP wod_controller_last_pass_seconds Duration of the newest pass of each location.\n"
      "# TYPE wod_controller_last_pass_seconds gauge\n",
      last,
      "# HELP wod_controller_last_pass_timestamp_seconds When the newest pass of each location "
      "ended.\n"
      "# TYPE wod_controller_last_pass_timestamp_seconds gauge\n",
      when);
}

// A registration as admins see it (never its token hash).
json RegistrationJson(const model::Registration& r) {
  json j = {{"id", r.id},
            {"workshop", r.workshop},
            {"location", r.location},
            {"seat", r.seat},
            {"state", model::RegistrationStateName(r.state)},
            {"start", common::FormatTime(r.start)},
            {"deadline", common::FormatTime(r.deadline)},
            {"ended", r.ended ? json(common::FormatTime(*r.ended)) : json(nullptr)},
            {"progress", ProgressJson(r)}};
  return j;
}

// A seat without its password.
json SeatJson(const model::Seat& s) {
  return json{{"location", s.location},       {"seat", s.number},
              {"workshop", s.workshop},       {"generation", s.generation},
              {"reset_epoch", s.reset_epoch}, {"occupied", s.registration_id.has_value()}};
}

json StatusJson(const store::SeatStatus* st) {
  if (st == nullptr) return nullptr;
  json conditions = json::array();
  for (const store::Condition& c : st->conditions) {
    conditions.push_back({{"type", c.type},
                          {"status", model::ConditionStatusName(c.status)},
                          {"reason", c.reason},
                          {"message", c.message},
                          {"last_transition", common::FormatTime(c.last_transition)}});
  }
  return json{{"phase", model::PhaseName(st->phase)},
              {"observed_generation", st->observed_generation},
              {"conditions", std::move(conditions)},
              {"last_error", st->last_error},
              {"updated", common::FormatTime(st->updated)}};
}

// "?location=" of a listing: nullopt when absent or empty.
std::optional<std::string> LocationParam(const httplib::Request& req) {
  if (!req.has_param("location")) return std::nullopt;
  std::string location = req.get_param_value("location");
  if (location.empty()) return std::nullopt;
  return location;
}

// "/api/v1/workshops/{id}" -> "/api/v1/workshops/([^/]+)"
// The other characters match themselves ("openapi.json" does not match "openapiXjson").
std::string PathRegex(const std::string& path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '{') {
      i = path.find('}', i);
      out += "([^/]+)";
    } else {
      if (std::string_view(".[]()*+?^$|\\").find(path[i]) != std::string_view::npos) out += '\\';
      out += path[i];
    }
  }
  return out;
}

}  // namespace

Server::Server(store::Store* store, ServerConfig config, const common::Clock* clock)
    : store_(store),
      config_(std::move(config)),
      clock_(clock),
      deny_(config_.email_deny_list),
      registration_limiter_(config_.registration_rate_limit, clock),
      http_(std::make_unique<HttpServer>()) {
  const int threads = config_.threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(config_.max_body_bytes);
  // httplib writes headers and body separately: with Nagle's algorithm a keep-alive client's
  // delayed ACK holds every answer back ~40 ms.
  http_->set_tcp_nodelay(true);
  // httplib's default sets SO_REUSEPORT, which would let a second `wod serve` bind the same
  // port and take half the connections: SO_REUSEADDR only, so a taken port fails Bind.
  http_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  http_->set_default_headers({{"X-Content-Type-Options", "nosniff"}});

  AddRoute("GET", "/healthz", &Server::HandleHealthz);
  AddRoute("GET", "/readyz", &Server::HandleReadyz);
  AddRoute("GET", "/metrics", &Server::HandleMetrics);
  AddRoute("GET", "/api/v1/openapi.json", &Server::HandleOpenApi);
  AddRoute("GET", "/api/v1/workshops", &Server::HandleListWorkshops);
  AddRoute("GET", "/api/v1/workshops/{id}", &Server::HandleGetWorkshop);
  AddRoute("POST", "/api/v1/registrations", &Server::HandleRegister);
  AddRoute("GET", "/api/v1/seats", &Server::HandleListSeats);
  AddRoute("POST", "/api/v1/seats/{location}/{n}:reset", &Server::HandleSeatReset);
  AddRoute("POST", "/api/v1/seats/{location}/{n}:cleanup", &Server::HandleSeatCleanup);
  AddRoute("POST", "/api/v1/seats/{location}/{n}:purge", &Server::HandleSeatPurge);
  AddRoute("POST", "/api/v1/registrations/{id}:extend", &Server::HandleExtend);
  AddRoute("GET", "/api/v1/drift", &Server::HandleDrift);
  AddRoute("GET", "/api/v1/locations", &Server::HandleListLocations);
  AddRoute("PATCH", "/api/v1/locations/{name}", &Server::HandlePatchLocation);
  AddRoute("GET", "/api/v1/events", &Server::HandleEvents);
  AddRoute("GET", "/api/v1/whoami", &Server::HandleWhoami);
  AddRoute("GET", "/api/v1/registrations.csv", &Server::HandleRegistrationsCsv);
  AddRoute("GET", "/api/v1/me", &Server::HandleMe);
  AddRoute("POST", "/api/v1/me:end", &Server::HandleMeEnd);
  AddWebRoutes();

  // Requests no route answered (no such route, body too large, malformed request) are
  // counted here, before the answer is written (a client may scrape /metrics right after),
  // and get the API's error shape too.
  http_->set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (current_route.empty()) metrics_.CountRequest("unmatched", req.method, res.status);
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        ApiError e;
        switch (res.status) {
          case 404:
            e = MakeError(404, "not_found", "no such route");
            break;
          case 413:
            e = MakeError(413, "body_too_large", "the request body is too large");
            break;
          case 400:
            e = MakeError(400, "bad_request", "malformed HTTP request");
            break;
          default:
            e = MakeError(res.status, absl::StrCat("http_", res.status), "request failed");
        }
        WriteError(res, e);
        return httplib::Server::HandlerResponse::Handled;
      }));
  http_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        WOD_LOG(kError, "api", "handler threw an exception");
        WriteError(res, MakeError(500, "internal", "internal error"));
      });
  http_->set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    current_route.clear();
    // Two lengths that differ, or a length beside chunked encoding, frame the body two ways:
    // which one a proxy in front used is a guess (request smuggling). Refused, and the
    // connection closed, since where the next request starts is not known either.
    std::set<std::string> lengths;
    for (auto [it, end] = req.headers.equal_range("Content-Length"); it != end; ++it) {
      lengths.insert(std::string(absl::StripAsciiWhitespace(it->second)));
    }
    if (lengths.size() > 1 || (!lengths.empty() && req.has_header("Transfer-Encoding"))) {
      res.set_header("Connection", "close");
      WriteError(res, MakeError(400, "invalid_request",
                                lengths.size() > 1
                                    ? "the request has Content-Length headers that differ"
                                    : "the request has both Content-Length and Transfer-Encoding"));
      return httplib::Server::HandlerResponse::Handled;
    }
    // httplib 0.11 answers a client that accepts "br" with Brotli at quality 11, and browsers
    // ask for it: 150 ms of CPU for the dashboard's script, 0.7 s for one location's 1,000
    // seats, on any request (gzip: 7 ms and 40 ms, at about twice the size). Such a client
    // gets gzip instead. (The request is httplib's own mutable object, lent here as const.)
    auto& headers = const_cast<httplib::Request&>(req).headers;
    for (auto [it, end] = headers.equal_range("Accept-Encoding"); it != end; ++it) {
      std::vector<absl::string_view> kept;
      for (absl::string_view coding : absl::StrSplit(it->second, ',', absl::SkipWhitespace())) {
        const absl::string_view name =
            absl::StripAsciiWhitespace(coding.substr(0, coding.find(';')));
        if (!absl::EqualsIgnoreCase(name, "br")) kept.push_back(absl::StripAsciiWhitespace(coding));
      }
      it->second = absl::StrJoin(kept, ", ");
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http_->set_logger(
      [](const httplib::Request&, const httplib::Response&) { current_route.clear(); });
}

Server::~Server() { Stop(); }

void Server::AddRoute(const std::string& method, const std::string& path, Handler handler) {
  routes_.push_back({{method, path}, handler});
  const size_t index = routes_.size() - 1;
  auto fn = [this, index](const httplib::Request& req, httplib::Response& res) {
    Dispatch(routes_[index], req, res);
  };
  const std::string pattern = PathRegex(path);
  if (method == "GET") {
    http_->Get(pattern, fn);
  } else if (method == "POST") {
    http_->Post(pattern, fn);
  } else if (method == "PATCH") {
    http_->Patch(pattern, fn);
  }
}

void Server::Dispatch(const Route& route, const httplib::Request& req, httplib::Response& res) {
  current_route = route.info.path;
  const auto start = std::chrono::steady_clock::now();
  try {
    (this->*route.handler)(req, res);
  } catch (const std::exception& e) {
    WOD_LOG(kError, "api", "{} {}: exception: {}", route.info.method, route.info.path, e.what());
    WriteError(res, MakeError(500, "internal", "internal error"));
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  metrics_.ObserveDuration(route.info.path, route.info.method, took.count());
  metrics_.CountRequest(route.info.path, route.info.method, res.status);
}

std::vector<RouteInfo> Server::Routes() const {
  std::vector<RouteInfo> out;
  for (const Route& r : routes_) out.push_back(r.info);
  return out;
}

absl::StatusOr<int> Server::Bind(const std::string& host, int port) {
  int bound = port;
  if (port == 0) {
    bound = http_->bind_to_any_port(host);
    if (bound <= 0) bound = -1;
  } else if (!http_->bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound < 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on '", host, ":", port, "'"));
  }
  if (!static_cast<HttpServer*>(http_.get())->SetBacklog(kListenBacklog)) {
    WOD_LOG(kWarning, "api", "cannot raise the listen backlog to {}", kListenBacklog);
  }
  bound_ = true;
  return bound;
}

absl::Status Server::Start() {
  if (!bound_) return absl::FailedPreconditionError("Start before Bind");
  if (thread_.joinable()) return absl::FailedPreconditionError("already started");
  listen_done_ = false;
  thread_ = std::thread([this] {
    if (!http_->listen_after_bind()) WOD_LOG(kError, "api", "the HTTP server stopped on an error");
    listen_done_ = true;
  });
  return absl::OkStatus();
}

void Server::Stop() {
  if (!thread_.joinable()) return;
  // stop() does nothing before listen_after_bind has started listening: wait for that (or
  // for its failure) first.
  while (!http_->is_running() && !listen_done_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  http_->stop();
  thread_.join();
}

std::string Server::ClientAddress(const httplib::Request& req) const {
  if (config_.trust_x_forwarded_for && req.has_header("X-Forwarded-For")) {
    // Split a named copy: the views must not point into a temporary (TSan found that).
    const std::string forwarded = req.get_header_value("X-Forwarded-For");
    std::vector<absl::string_view> hops = absl::StrSplit(forwarded, ',', absl::SkipWhitespace());
    if (!hops.empty()) return std::string(absl::StripAsciiWhitespace(hops.back()));
  }
  return req.remote_addr;
}

// --- probes and metadata ---

void Server::HandleHealthz(const httplib::Request&, httplib::Response& res) {
  WriteJson(res, 200, json{{"status", "ok"}});
}

void Server::HandleReadyz(const httplib::Request&, httplib::Response& res) {
  auto locations = store_->ListLocations();
  if (!locations.ok()) {
    WOD_LOG(kWarning, "api", "readyz: store not reachable: {}",
            std::string(locations.status().message()));
    WriteError(res, MakeError(503, "store_unavailable", "the store is not reachable"));
    return;
  }
  WriteJson(res, 200, json{{"status", "ready"}});
}

void Server::HandleMetrics(const httplib::Request&, httplib::Response& res) {
  std::vector<Metrics::Gauge> gauges;
  Metrics::Gauge up{"wod_store_up", "1 when the store answered this scrape.", {}};
  auto seats = store_->ListSeats();
  auto statuses = store_->ListSeatStatus();
  if (seats.ok() && statuses.ok()) {
    up.samples.push_back({"", 1});
    std::map<std::pair<std::string, int>, const store::SeatStatus*> status_of;
    for (const store::SeatStatus& s : *statuses) status_of[{s.location, s.number}] = &s;
    // Every phase a seat can have is always present, so a dashboard's series do not vanish.
    std::map<std::string, double> by_phase;
    for (model::Phase p : model::kAllPhases) by_phase[std::string(model::PhaseName(p))] = 0;
    double occupied = 0;
    for (const store::SeatView& v : *seats) {
      auto it = status_of.find({v.seat.location, v.seat.number});
      const model::Phase phase =
          model::EffectivePhase(v.seat, it == status_of.end() ? nullptr : it->second);
      ++by_phase[std::string(model::PhaseName(phase))];
      if (v.seat.registration_id) ++occupied;
    }
    Metrics::Gauge phase{"wod_seats", "Seats by the phase their controller last reported.", {}};
    for (const auto& [p, n] : by_phase) {
      phase.samples.push_back({absl::StrCat("phase=\"", EscapeLabel(p), "\""), n});
    }
    gauges.push_back(std::move(phase));
    gauges.push_back(
        {"wod_seats_occupied", "Seats held by an active registration.", {{"", occupied}}});
  } else {
    up.samples.push_back({"", 0});
  }
  // Mail outcomes, counted in the outbox (without loading the mails' bodies).
  if (auto mails = store_->CountNotifications(); mails.ok()) {
    for (Metrics::Gauge& g : MailGauges(*mails)) gauges.push_back(std::move(g));
  } else {
    up.samples.back().second = 0;
  }
  // Per location: whether registrations can go there (live, and its state) and its seats.
  if (auto health = store_->ListLocationHealth(clock_->Now()); health.ok()) {
    Metrics::Gauge live{
        "wod_location_live", "1 while the location's controller holds its lease and passes.", {}};
    Metrics::Gauge active{
        "wod_location_active", "1 when the location takes new registrations (state active).", {}};
    Metrics::Gauge seats{"wod_location_seats", "Seats of the location by state.", {}};
    for (const auto& h : *health) {
      const std::string loc = absl::StrCat("location=\"", EscapeLabel(h.location.name), "\"");
      live.samples.push_back({loc, h.live ? 1 : 0});
      active.samples.push_back({loc, h.location.state == model::LocationState::kActive ? 1 : 0});
      seats.samples.push_back({absl::StrCat(loc, ",state=\"free\""), double(h.seats - h.occupied)});
      seats.samples.push_back({absl::StrCat(loc, ",state=\"occupied\""), double(h.occupied)});
      seats.samples.push_back({absl::StrCat(loc, ",state=\"failed\""), double(h.failed)});
    }
    gauges.push_back(std::move(live));
    gauges.push_back(std::move(active));
    gauges.push_back(std::move(seats));
  } else {
    up.samples.back().second = 0;
  }
  gauges.push_back(std::move(up));
  std::string text = metrics_.Render(gauges);
  // Controller passes per location, as the controllers record them in the store.
  if (auto passes = store_->ListPassStats(); passes.ok()) text += PassMetricsText(*passes);
  res.status = 200;
  res.set_content(text, "text/plain; version=0.0.4; charset=utf-8");
}

void Server::HandleOpenApi(const httplib::Request&, httplib::Response& res) {
  WriteJson(res, 200, OpenApiDocument());
}

// --- catalog ---

void Server::HandleListWorkshops(const httplib::Request&, httplib::Response& res) {
  auto workshops = store_->ListWorkshops();
  if (!workshops.ok()) return WriteError(res, StoreError(workshops.status(), "list workshops"));
  auto occupancy = OccupancyOf(store_, std::nullopt);
  if (!occupancy.ok()) return WriteError(res, StoreError(occupancy.status(), "occupancy"));
  json list = json::array();
  for (const model::Workshop& w : *workshops) {
    if (!w.active) continue;
    auto it = occupancy->find(w.id);
    list.push_back(WorkshopJson(w, it == occupancy->end() ? Occupancy{} : it->second));
  }
  WriteJson(res, 200, json{{"workshops", std::move(list)}});
}

void Server::HandleGetWorkshop(const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  auto w = store_->GetWorkshop(id);
  if (!w.ok()) {
    if (w.status().code() == absl::StatusCode::kNotFound) {
      return WriteError(res, MakeError(404, "workshop_not_found", "no such workshop"));
    }
    return WriteError(res, StoreError(w.status(), "get workshop"));
  }
  if (!w->active) {
    return WriteError(res, MakeError(404, "workshop_inactive", "the workshop is not active"));
  }
  auto occupancy = OccupancyOf(store_, w->id);
  if (!occupancy.ok()) return WriteError(res, StoreError(occupancy.status(), "occupancy"));
  auto it = occupancy->find(w->id);
  WriteJson(res, 200, WorkshopJson(*w, it == occupancy->end() ? Occupancy{} : it->second));
}

// --- registration ---

void Server::HandleRegister(const httplib::Request& req, httplib::Response& res) {
  auto fail = [&](const ApiError& e, const char* outcome) {
    metrics_.CountRegistration(outcome);
    WriteError(res, e);
  };
  if (absl::Duration wait = registration_limiter_.Take(ClientAddress(req));
      wait > absl::ZeroDuration()) {
    res.set_header("Retry-After",
                   std::to_string(std::max<int64_t>(1, std::ceil(absl::ToDoubleSeconds(wait)))));
    return fail(MakeError(429, "rate_limited", "too many registrations from this address"),
                "rate_limited");
  }
  if (auto e = CheckJsonContentType(req)) return fail(*e, "invalid");
  RegistrationBody body;
  if (auto err = ParseRegistrationBody(req.body, deny_, &body)) {
    return fail(*err, err->code == "email_denied" ? "denied" : "invalid");
  }

  store::RegisterRequest r;
  r.workshop = body.workshop;
  r.email = body.email;
  r.name = body.name;
  r.company = body.company;
  r.now = clock_->Now();
  if (!config_.participant_token_secret.empty()) {
    // Derived, so the lifecycle holding the same secret can put the page link into mails;
    // the store keeps the nonce and the token's hash only.
    r.token_nonce =
        model::MakeTokenNonce(config_.participant_token_secret, common::RandomToken(16));
    r.token = model::ParticipantToken(config_.participant_token_secret, r.token_nonce).value();
  }
  auto result = store_->Register(r);
  if (!result.ok()) {
    const absl::Status& s = result.status();
    switch (s.code()) {
      case absl::StatusCode::kAlreadyExists: {
        ApiError e =
            MakeError(409, "already_registered", "this email already holds an active registration");
        e.field = "email";
        // The store names the end in its message; look it up rather than parse prose.
        if (auto active = store_->GetActiveRegistrationByEmail(body.email); active.ok()) {
          e.details["deadline"] = common::FormatTime(active->deadline);
        }
        return fail(e, "already_registered");
      }
      case absl::StatusCode::kResourceExhausted:
        return fail(MakeError(409, "full", "the workshop has no seat left"), "full");
      case absl::StatusCode::kUnavailable:
        if (store::IsNoBackend(s)) {
          // Seats exist, on backends that are down: nothing was stored; retry after a pass
          // period, by when another backend may be back or the dead one taken over.
          WOD_LOG(kWarning, "api", "register: {}", std::string(s.message()));
          res.set_header("Retry-After", "15");
          return fail(MakeError(503, "no_backend",
                                "no backend is running for this workshop right now; try again "
                                "in a minute"),
                      "no_backend");
        }
        return fail(StoreError(s, "register"), "error");
      case absl::StatusCode::kNotFound: {
        ApiError e = MakeError(404, "workshop_not_found", "no such workshop");
        e.field = "workshop";
        return fail(e, "workshop_not_found");
      }
      case absl::StatusCode::kFailedPrecondition: {
        ApiError e =
            MakeError(404, "workshop_inactive", "the workshop is not open for registration");
        e.field = "workshop";
        return fail(e, "workshop_inactive");
      }
      case absl::StatusCode::kInvalidArgument:
        return fail(BadRequest("invalid_field", "", "the registration was refused as invalid"),
                    "invalid");
      default:
        return fail(StoreError(s, "register"), "error");
    }
  }
  metrics_.CountRegistration("created");
  const store::RegisterResult& out = *result;
  const std::string page = absl::StrCat(config_.public_base_url, "/p/", out.token);
  json j = {{"registration",
             {{"id", out.registration.id},
              {"workshop", out.registration.workshop},
              {"location", out.registration.location},
              {"seat", out.registration.seat},
              {"state", model::RegistrationStateName(out.registration.state)},
              {"start", common::FormatTime(out.registration.start)},
              {"deadline", common::FormatTime(out.registration.deadline)}}},
            {"participant",
             {{"email", out.participant.email},
              {"name", out.participant.name},
              {"company", out.participant.company}}},
            {"token", out.token},
            {"page_url", page}};
  res.set_header("Cache-Control", "no-store");
  WriteJson(res, 201, j);
}

// --- admin and operator routes ---

void Server::RecordAction(const std::string& kind, const std::string& location,
                          std::optional<int> seat, const std::string& actor,
                          const std::string& message) {
  store::Event e;
  e.time = clock_->Now();
  e.location = location;
  e.seat = seat;
  e.kind = kind;
  e.reason = actor;
  e.message = message;
  if (auto s = store_->AppendEvent(e); !s.ok()) {
    WOD_LOG(kWarning, "api", "recording '{}' by {}: {}", kind, actor, std::string(s.message()));
  }
}

bool Server::Authorize(const httplib::Request& req, httplib::Response& res, Role needed,
                       std::string* role, std::string* name) {
  std::optional<std::string> token = AuthCredentials(req, "Bearer");
  if (!token) {
    WriteUnauthenticated(res, "Bearer", "this route needs an Authorization: Bearer token");
    return false;
  }
  // Looked up by its SHA-256: the comparison is an index lookup of a digest, so there is no
  // byte-by-byte comparison of the secret whose timing could leak it.
  auto t = store_->GetApiTokenByHash(common::Sha256Hex(*token), clock_->Now());
  if (!t.ok()) {
    if (t.status().code() == absl::StatusCode::kNotFound) {
      WriteUnauthenticated(res, "Bearer", "unknown or revoked token");
    } else {
      WriteError(res, StoreError(t.status(), "token lookup"));
    }
    return false;
  }
  if (t->revoked) {
    WriteUnauthenticated(res, "Bearer", "unknown or revoked token");
    return false;
  }
  if (needed == Role::kAdmin && t->role != "admin") {
    WriteError(res, MakeError(403, "forbidden", "this route needs an admin token"));
    return false;
  }
  if (role != nullptr) *role = t->role;
  if (name != nullptr) *name = t->name;
  return true;
}

namespace {

// Whether an If-None-Match header names `etag` (weak comparison, as RFC 9110 asks for it).
bool IfNoneMatchNames(const std::string& header, absl::string_view etag) {
  const absl::string_view opaque = absl::StripPrefix(etag, "W/");
  for (absl::string_view tag : absl::StrSplit(header, ',', absl::SkipWhitespace())) {
    tag = absl::StripPrefix(absl::StripAsciiWhitespace(tag), "W/");
    if (tag == "*" || tag == opaque) return true;
  }
  return false;
}

}  // namespace

void Server::HandleListSeats(const httplib::Request& req, httplib::Response& res) {
  if (!Authorize(req, res, Role::kOperator)) return;
  const std::optional<std::string> location = LocationParam(req);
  std::optional<std::string> workshop;
  if (req.has_param("workshop") && !req.get_param_value("workshop").empty()) {
    workshop = req.get_param_value("workshop");
  }
  // The locations to read. ?workshop= alone reads only the workshop's own locations (its
  // `location` and alternates), not every seat of the store: the dashboard asks for it every
  // 2 s. An unknown workshop has no seats.
  std::vector<std::optional<std::string>> scopes = {location};
  if (workshop && !location) {
    auto w = store_->GetWorkshop(*workshop);
    if (!w.ok() && w.status().code() != absl::StatusCode::kNotFound) {
      return WriteError(res, StoreError(w.status(), "get workshop"));
    }
    scopes.clear();
    if (w.ok()) {
      for (const std::string& l : w->Locations()) scopes.push_back(l);
    }
  }
  std::vector<store::SeatView> seats;
  std::vector<store::SeatStatus> statuses;
  for (const std::optional<std::string>& scope : scopes) {
    auto some = store_->ListSeats(scope);
    if (!some.ok()) return WriteError(res, StoreError(some.status(), "list seats"));
    for (store::SeatView& v : *some) {
      if (!workshop || v.seat.workshop == *workshop) seats.push_back(std::move(v));
    }
    auto their = store_->ListSeatStatus(scope);
    if (!their.ok()) return WriteError(res, StoreError(their.status(), "list seat status"));
    std::move(their->begin(), their->end(), std::back_inserter(statuses));
  }
  if (scopes.size() > 1) {  // by location and number, as one location's list is
    std::sort(seats.begin(), seats.end(), [](const store::SeatView& a, const store::SeatView& b) {
      return std::tie(a.seat.location, a.seat.number) < std::tie(b.seat.location, b.seat.number);
    });
  }
  std::map<std::pair<std::string, int>, const store::SeatStatus*> status_of;
  for (const store::SeatStatus& st : statuses) status_of[{st.location, st.number}] = &st;
  const absl::Time now = clock_->Now();
  json list = json::array();
  std::vector<json> time_left;  // per element of `list`, added after the ETag is taken
  for (const store::SeatView& v : seats) {
    json j = SeatJson(v.seat);
    auto it = status_of.find({v.seat.location, v.seat.number});
    const store::SeatStatus* st = it == status_of.end() ? nullptr : it->second;
    j["phase"] = model::PhaseName(model::EffectivePhase(v.seat, st));
    j["status"] = StatusJson(st);
    j["registration"] = v.registration ? RegistrationJson(*v.registration) : json(nullptr);
    j["occupant"] = v.participant ? json{{"email", v.participant->email},
                                         {"name", v.participant->name},
                                         {"company", v.participant->company}}
                                  : json(nullptr);
    // Live: what the controller last observed in the home of the seat's occupant.
    const int64_t occupant = v.seat.registration_id.value_or(0);
    if (v.participant) j["occupant"]["registration_id"] = occupant;
    j["progress"] = LiveProgressJson(st, occupant);
    j["last_activity"] = LastActivityJson(st, occupant);
    time_left.push_back(
        v.registration && v.registration->state == model::RegistrationState::kActive
            ? json(std::max<int64_t>(0, absl::ToInt64Seconds(v.registration->deadline - now)))
            : json(nullptr));
    list.push_back(std::move(j));
  }
  // A weak validator over everything but time_left_seconds, which follows the clock alone
  // (the deadline is in the body): a viewer refreshing every 2 s gets 304 and no body while
  // only time passed, and counts its copy's time left down itself. docs/api.md.
  const std::string etag = absl::StrCat("W/\"", common::Sha256Hex(Dump(list)).substr(0, 32), "\"");
  res.set_header("ETag", etag);
  res.set_header("Cache-Control", "private, no-cache");
  if (req.has_header("If-None-Match") &&
      IfNoneMatchNames(req.get_header_value("If-None-Match"), etag)) {
    res.status = 304;
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) list[i]["time_left_seconds"] = std::move(time_left[i]);
  WriteJson(res, 200, json{{"seats", std::move(list)}});
}

// --- locations ---

json LocationJson(const store::LocationHealth& h) {
  const model::Location& l = h.location;
  return json{
      {"name", l.name},
      {"state", model::LocationStateName(l.state)},
      {"fqdn", l.fqdn},
      {"hub_url", l.hub_url},
      {"user_prefix", l.user_prefix},
      {"generation", l.generation},
      {"live", h.live},
      {"lease", h.lease_holder.empty() ? json(nullptr)
                                       : json{{"holder", h.lease_holder},
                                              {"epoch", h.lease_epoch},
                                              {"expires", common::FormatTime(h.lease_expires)}}},
      {"last_pass", h.last_pass
                        ? json{{"time", common::FormatTime(*h.last_pass)},
                               {"duration_ms", absl::ToInt64Milliseconds(h.last_pass_duration)},
                               {"passes", h.passes}}
                        : json(nullptr)},
      {"seats", json{{"total", h.seats},
                     {"occupied", h.occupied},
                     {"free", h.seats - h.occupied},
                     {"failed", h.failed}}},
  };
}

void Server::HandleListLocations(const httplib::Request& req, httplib::Response& res) {
  if (!Authorize(req, res, Role::kOperator)) return;
  auto health = store_->ListLocationHealth(clock_->Now());
  if (!health.ok()) return WriteError(res, StoreError(health.status(), "list locations"));
  json list = json::array();
  for (const auto& h : *health) list.push_back(LocationJson(h));
  WriteJson(res, 200, json{{"locations", std::move(list)}});
}

void Server::HandlePatchLocation(const httplib::Request& req, httplib::Response& res) {
  std::string token;
  if (!Authorize(req, res, Role::kAdmin, nullptr, &token)) return;
  const std::string name = req.matches[1];
  if (auto e = CheckJsonContentType(req)) return WriteError(res, *e);
  json body;
  if (auto e = ParseJsonBody(req.body, &body)) return WriteError(res, *e);
  static constexpr FieldSpec kFields[] = {{"fqdn", JsonType::kString, false},
                                          {"hub_url", JsonType::kString, false},
                                          {"state", JsonType::kString, false}};
  if (auto e = CheckFields(body, kFields)) return WriteError(res, *e);
  store::LocationPatch patch;
  if (body.contains("fqdn")) patch.fqdn = body["fqdn"].get<std::string>();
  if (body.contains("hub_url")) patch.hub_url = body["hub_url"].get<std::string>();
  if (body.contains("state")) {
    patch.state = model::ParseLocationState(body["state"].get<std::string>());
    if (!patch.state) {
      return WriteError(res, BadRequest("invalid_field", "state",
                                        "'state' must be active, draining or disabled"));
    }
  }
  if (patch.fqdn) {
    if (auto s = model::ValidateFqdn(*patch.fqdn); !s.ok()) {
      return WriteError(res, BadRequest("invalid_field", "fqdn", std::string(s.message())));
    }
  }
  if (patch.hub_url) {
    if (auto s = model::ValidateHubUrl(*patch.hub_url); !s.ok()) {
      return WriteError(res, BadRequest("invalid_field", "hub_url", std::string(s.message())));
    }
  }
  auto changed = store_->UpdateLocation(name, patch);
  if (!changed.ok()) {
    if (changed.status().code() == absl::StatusCode::kNotFound) {
      return WriteError(res, MakeError(404, "location_not_found", "no such location"));
    }
    return WriteError(res, StoreError(changed.status(), "update location"));
  }
  WOD_LOG(kInfo, "api", "location '{}' set: state {}, fqdn '{}', hub '{}'", name,
          model::LocationStateName(changed->state), changed->fqdn, changed->hub_url);
  RecordAction("api.location.set", name, std::nullopt, absl::StrCat("admin token '", token, "'"),
               absl::StrCat("state ", model::LocationStateName(changed->state), ", fqdn '",
                            changed->fqdn, "', hub '", changed->hub_url, "'"));
  auto health = store_->ListLocationHealth(clock_->Now());
  if (health.ok()) {
    for (const auto& h : *health) {
      if (h.location.name == name) return WriteJson(res, 200, LocationJson(h));
    }
  }
  store::LocationHealth only;
  only.location = *changed;
  WriteJson(res, 200, LocationJson(only));
}

void Server::HandleSeatReset(const httplib::Request& req, httplib::Response& res) {
  ApplySeatVerb(model::Verb::kReset, req, res);
}
void Server::HandleSeatCleanup(const httplib::Request& req, httplib::Response& res) {
  ApplySeatVerb(model::Verb::kCleanup, req, res);
}
void Server::HandleSeatPurge(const httplib::Request& req, httplib::Response& res) {
  ApplySeatVerb(model::Verb::kPurge, req, res);
}

void Server::ApplySeatVerb(model::Verb verb, const httplib::Request& req, httplib::Response& res) {
  std::string token;
  if (!Authorize(req, res, Role::kAdmin, nullptr, &token)) return;
  if (auto e = CheckEmptyBody(req)) return WriteError(res, *e);
  const std::string location = req.matches[1];
  int number = 0;
  if (!absl::SimpleAtoi(std::string(req.matches[2]), &number) || number < 0) {
    return WriteError(res, MakeError(404, "seat_not_found", "no such seat"));
  }
  auto r = store_->ApplyVerb(verb, location, number, clock_->Now());
  if (!r.ok()) {
    if (r.status().code() == absl::StatusCode::kNotFound) {
      return WriteError(res, MakeError(404, "seat_not_found", "no such seat"));
    }
    return WriteError(res, StoreError(r.status(), "verb"));
  }
  WOD_LOG(kInfo, "api", "{} {}/{}: {}", model::VerbName(verb), location, number,
          r->changed ? "applied" : "already in effect");
  if (r->changed) {
    RecordAction(absl::StrCat("api.", absl::AsciiStrToLower(model::VerbName(verb))), location,
                 number, absl::StrCat("admin token '", token, "'"),
                 r->registration ? absl::StrCat("registration ", r->registration->id) : "");
  }
  WriteJson(
      res, 200,
      json{{"changed", r->changed},
           {"verb", absl::AsciiStrToLower(model::VerbName(verb))},
           {"seat", SeatJson(r->seat)},
           {"registration", r->registration ? RegistrationJson(*r->registration) : json(nullptr)}});
}

void Server::HandleExtend(const httplib::Request& req, httplib::Response& res) {
  std::string token;
  if (!Authorize(req, res, Role::kAdmin, nullptr, &token)) return;
  auto not_found = [&] {
    WriteError(res, MakeError(404, "registration_not_found", "no such registration"));
  };
  int64_t id = 0;
  if (!absl::SimpleAtoi(std::string(req.matches[1]), &id) || id <= 0) return not_found();
  if (auto e = CheckJsonContentType(req)) return WriteError(res, *e);
  json body;
  if (auto e = ParseJsonBody(req.body, &body)) return WriteError(res, *e);
  static constexpr FieldSpec kFields[] = {{"deadline", JsonType::kString, false},
                                          {"minutes", JsonType::kInteger, false}};
  if (auto e = CheckFields(body, kFields)) return WriteError(res, *e);
  const bool has_deadline = body.contains("deadline");
  const bool has_minutes = body.contains("minutes");
  if (has_deadline == has_minutes) {
    return WriteError(res, BadRequest(has_deadline ? "invalid_body" : "missing_field", "deadline",
                                      "give exactly one of 'deadline' and 'minutes'"));
  }
  const absl::Time now = clock_->Now();
  auto current = store_->GetRegistration(id);
  if (!current.ok()) {
    if (current.status().code() == absl::StatusCode::kNotFound) return not_found();
    return WriteError(res, StoreError(current.status(), "get registration"));
  }
  absl::Time deadline;
  if (has_deadline) {
    if (!common::ParseTime(body["deadline"].get<std::string>(), &deadline)) {
      return WriteError(
          res, BadRequest("invalid_field", "deadline", "'deadline' must be an RFC 3339 time"));
    }
  } else {
    const int64_t minutes = body["minutes"].get<int64_t>();
    if (minutes < 1 || minutes > 7 * 24 * 60) {
      return WriteError(
          res, BadRequest("invalid_field", "minutes", "'minutes' must be between 1 and 10080"));
    }
    deadline = current->deadline + absl::Minutes(minutes);
  }
  if (deadline <= now) {
    return WriteError(res, BadRequest("invalid_field", has_deadline ? "deadline" : "minutes",
                                      "the new deadline must be in the future"));
  }
  // A seat is lent, not given: no deadline beyond the ceiling (ParseTime also takes
  // "infinite-future", which would make the time left INT64_MAX).
  if (deadline > now + kMaxDeadlineAhead) {
    return WriteError(res, BadRequest("invalid_field", has_deadline ? "deadline" : "minutes",
                                      "the new deadline must be at most 30 days from now"));
  }
  auto r = store_->Extend(id, deadline);
  if (!r.ok()) {
    switch (r.status().code()) {
      case absl::StatusCode::kNotFound:
        return not_found();
      case absl::StatusCode::kFailedPrecondition:
        return WriteError(res,
                          MakeError(409, "registration_not_active", "the registration has ended"));
      case absl::StatusCode::kInvalidArgument:
        return WriteError(res, BadRequest("invalid_field", has_deadline ? "deadline" : "minutes",
                                          "the new deadline must be after the start"));
      default:
        return WriteError(res, StoreError(r.status(), "extend"));
    }
  }
  RecordAction("api.extend", r->location, r->seat, absl::StrCat("admin token '", token, "'"),
               absl::StrCat("registration ", r->id, " until ", common::FormatTime(r->deadline)));
  WriteJson(res, 200, json{{"registration", RegistrationJson(*r)}});
}

void Server::HandleDrift(const httplib::Request& req, httplib::Response& res) {
  if (!Authorize(req, res, Role::kOperator)) return;
  auto drift = store_->ListDrift(LocationParam(req));
  if (!drift.ok()) return WriteError(res, StoreError(drift.status(), "list drift"));
  json list = json::array();
  for (const store::DriftEntry& d : *drift) list.push_back(store::DriftEntryToJson(d));
  WriteJson(res, 200, json{{"drift", std::move(list)}});
}

void Server::HandleEvents(const httplib::Request& req, httplib::Response& res) {
  if (!Authorize(req, res, Role::kOperator)) return;
  int limit = 100;
  if (req.has_param("limit")) {
    if (!absl::SimpleAtoi(req.get_param_value("limit"), &limit) || limit < 1 || limit > 1000) {
      return WriteError(res, BadRequest("invalid_field", "limit",
                                        "'limit' must be an integer between 1 and 1000"));
    }
  }
  auto events = store_->ListEvents(LocationParam(req), limit);
  if (!events.ok()) return WriteError(res, StoreError(events.status(), "list events"));
  json list = json::array();
  for (const store::Event& e : *events) {
    list.push_back({{"id", e.id},
                    {"time", common::FormatTime(e.time)},
                    {"location", e.location},
                    {"seat", e.seat ? json(*e.seat) : json(nullptr)},
                    {"kind", e.kind},
                    {"reason", e.reason},
                    {"message", e.message}});
  }
  WriteJson(res, 200, json{{"events", std::move(list)}});
}

void Server::HandleWhoami(const httplib::Request& req, httplib::Response& res) {
  std::string role;
  if (!Authorize(req, res, Role::kOperator, &role)) return;
  res.set_header("Cache-Control", "no-store");
  WriteJson(res, 200, json{{"role", role}});
}

void Server::HandleRegistrationsCsv(const httplib::Request& req, httplib::Response& res) {
  if (!Authorize(req, res, Role::kOperator)) return;
  auto csv = ExportRegistrationsCsv(store_);
  if (!csv.ok()) return WriteError(res, StoreError(csv.status(), "registrations csv"));
  res.set_header("Content-Disposition", "attachment; filename=\"registrations.csv\"");
  res.set_header("Cache-Control", "no-store");
  res.status = 200;
  res.set_content(*csv, "text/csv; charset=utf-8; header=present");
}

// --- the participant's own registration ---

namespace {

// The registration of the request's participant token, or an error written to `res`.
std::optional<model::Registration> ParticipantRegistration(store::Store* store,
                                                           const httplib::Request& req,
                                                           httplib::Response& res) {
  // Whatever happens, the answer is about a secret: never cached.
  res.set_header("Cache-Control", "no-store");
  std::optional<std::string> token = AuthCredentials(req, "Participant");
  if (!token) {
    WriteUnauthenticated(res, "Participant",
                         "this route needs an Authorization: Participant token");
    return std::nullopt;
  }
  auto r = store->GetRegistrationByToken(*token);
  if (!r.ok()) {
    if (r.status().code() == absl::StatusCode::kNotFound) {
      WriteUnauthenticated(res, "Participant", "unknown participant token");
    } else {
      WriteError(res, StoreError(r.status(), "registration by token"));
    }
    return std::nullopt;
  }
  return *r;
}

}  // namespace

void Server::HandleMe(const httplib::Request& req, httplib::Response& res) {
  std::optional<model::Registration> reg = ParticipantRegistration(store_, req, res);
  if (!reg) return;
  const bool active = reg->state == model::RegistrationState::kActive;
  const absl::Time now = clock_->Now();
  json workshop = {{"id", reg->workshop}, {"name", nullptr}};
  if (auto w = store_->GetWorkshop(reg->workshop); w.ok()) workshop["name"] = w->name;
  json j = {{"id", reg->id},
            {"state", model::RegistrationStateName(reg->state)},
            {"workshop", std::move(workshop)},
            {"location", reg->location},
            {"seat", reg->seat},
            {"start", common::FormatTime(reg->start)},
            {"deadline", common::FormatTime(reg->deadline)},
            {"ended", reg->ended ? json(common::FormatTime(*reg->ended)) : json(nullptr)},
            {"time_left_seconds",
             active ? std::max<int64_t>(0, absl::ToInt64Seconds(reg->deadline - now)) : 0},
            {"phase", nullptr},
            {"credentials", nullptr},
            {"progress", ProgressJson(*reg)},
            {"last_activity", nullptr}};
  // The participant page's "Open workshop" button: the hub of the seat's location when set
  // (`wod location set --hub-url`), else api.hub_public_url; null when neither is.
  // The user name: <prefix><seat> with the prefix its controller recorded for the location,
  // else api.participant_user_prefix.
  std::string hub = config_.hub_public_url;
  std::string user_prefix = config_.participant_user_prefix;
  if (auto locations = store_->ListLocations(); locations.ok()) {
    for (const auto& l : *locations) {
      if (l.name != reg->location) continue;
      if (!l.hub_url.empty()) hub = l.hub_url;
      if (!l.user_prefix.empty()) user_prefix = l.user_prefix;
    }
  }
  j["hub_url"] = hub.empty() ? json(nullptr) : json(model::HubLoginUrl(hub));
  if (active) {
    auto seat = store_->GetSeat(reg->location, reg->seat);
    if (!seat.ok()) return WriteError(res, StoreError(seat.status(), "participant seat"));
    auto status = store_->GetSeatStatus(reg->location, reg->seat);
    if (!status.ok() && status.status().code() != absl::StatusCode::kNotFound) {
      return WriteError(res, StoreError(status.status(), "participant seat status"));
    }
    const store::SeatStatus* st = status.ok() ? &*status : nullptr;
    // A status older than the seat's desired state says nothing about this occupant
    // (model::EffectivePhase): right after a turnover it is the previous occupant's Ready.
    const model::Phase phase = model::EffectivePhase(seat->seat, st);
    j["phase"] = model::PhaseName(phase);
    // While active: the live progress the controller observes in the home (null until it has
    // seen this registration's notebooks), instead of the harvest, which comes at the end.
    j["progress"] = LiveProgressJson(st, reg->id);
    j["last_activity"] = LastActivityJson(st, reg->id);
    // The password only once the controller reports the seat Ready, and only while this
    // registration holds the seat.
    if (phase == model::Phase::kReady && seat->seat.registration_id == reg->id) {
      j["credentials"] = {{"user", absl::StrCat(user_prefix, reg->seat)},
                          {"password", seat->seat.password}};
    }
  }
  WriteJson(res, 200, j);
}

void Server::HandleMeEnd(const httplib::Request& req, httplib::Response& res) {
  std::optional<model::Registration> reg = ParticipantRegistration(store_, req, res);
  if (!reg) return;
  if (auto e = CheckEmptyBody(req)) return WriteError(res, *e);
  if (reg->state != model::RegistrationState::kActive) {
    return WriteJson(res, 200,
                     json{{"changed", false}, {"state", model::RegistrationStateName(reg->state)}});
  }
  // Only while this registration holds the seat, checked in the verb's transaction: a seat
  // that changed hands (an admin ended this registration and someone else took the seat) is
  // never touched.
  auto r = store_->ApplyVerbIfHeldBy(model::Verb::kCleanup, reg->location, reg->seat, reg->id,
                                     clock_->Now());
  if (!r.ok()) return WriteError(res, StoreError(r.status(), "end early"));
  if (r->changed) {
    RecordAction("api.end", reg->location, reg->seat, "the participant (page token)",
                 absl::StrCat("registration ", reg->id));
  }
  std::string state = model::RegistrationStateName(reg->state);
  if (r->registration) {
    state = model::RegistrationStateName(r->registration->state);
  } else if (auto now = store_->GetRegistration(reg->id); now.ok()) {
    state = model::RegistrationStateName(now->state);  // ended meanwhile by someone else
  }
  WriteJson(res, 200, json{{"changed", r->changed}, {"state", state}});
}

}  // namespace wod::api
