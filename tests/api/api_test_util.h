// Helpers for the API tests: a store in a scratch database with a small catalog, a server on
// 127.0.0.1 with an ephemeral port, and a client.
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/server.h"
#include "common/clock.h"
#include "store/store.h"
#include "tests/testing/status_matchers.h"

namespace wod::api::testing {

// Sends `request` as given (bytes httplib's client would fix up: a missing Content-Type, odd
// headers) on a fresh connection to 127.0.0.1:`port` and answers what came back until the
// server closed it ("" when it could not connect). The request should say Connection: close.
inline std::string RawExchange(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t sent = 0;
    while (sent < request.size()) {
      ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    char buf[4096];
    for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
      out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

inline model::Workshop MakeWorkshop(const std::string& id, int min, int max, int capacity,
                                    bool active = true) {
  model::Workshop w;
  w.id = id;
  w.name = "Workshop " + id;
  w.description = "about " + id;
  w.active = active;
  w.capacity = capacity;
  w.range = {min, max};
  w.duration_hours = 4;
  w.location = "loc-a";
  w.category = {"Test"};
  return w;
}

inline std::string RegistrationBody(const std::string& workshop, const std::string& email) {
  return nlohmann::json{{"workshop", workshop},
                        {"email", email},
                        {"name", "Name of " + email},
                        {"company", "ACME"},
                        {"accept_terms", true}}
      .dump();
}

// A running server and a client for it.
struct Running {
  std::unique_ptr<Server> server;
  int port = 0;
  std::unique_ptr<httplib::Client> client;
};

inline std::unique_ptr<Running> StartServer(store::Store* store, const ServerConfig& config,
                                            const common::Clock* clock) {
  auto r = std::make_unique<Running>();
  r->server = std::make_unique<Server>(store, config, clock);
  auto port = r->server->Bind("127.0.0.1", 0);
  EXPECT_OK(port);
  if (!port.ok()) return nullptr;
  r->port = *port;
  EXPECT_OK(r->server->Start());
  r->client = std::make_unique<httplib::Client>("127.0.0.1", r->port);
  r->client->set_read_timeout(30, 0);
  return r;
}

// The "error" object of a response body ({} when there is none).
inline nlohmann::json ErrorOf(const httplib::Result& res) {
  if (!res) return nlohmann::json::object();
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (!j.is_object() || !j.contains("error")) return nlohmann::json::object();
  return j["error"];
}

}  // namespace wod::api::testing
