#include "api/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "absl/strings/str_cat.h"

namespace wod::api {

std::string EscapeLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// The method as a label: one of HTTP's own, else "other". A client chooses the method of a
// request, so a label taken as sent would let it grow /metrics without bound (seen: 5,000
// requests with 8,000-character methods made 40 MB) and put raw bytes in it.
std::string MethodLabel(const std::string& method) {
  static constexpr std::array<const char*, 9> kKnown = {
      "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"};
  for (const char* known : kKnown) {
    if (method == known) return method;
  }
  return "other";
}

void Metrics::CountRequest(const std::string& route, const std::string& method, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, MethodLabel(method), status}];
}

void Metrics::ObserveDuration(const std::string& route, const std::string& method, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  Histogram& h = durations_[{route, MethodLabel(method)}];
  for (size_t i = 0; i < kDurationBuckets.size(); ++i) {
    if (seconds <= kDurationBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::CountRegistration(const std::string& outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  ++registrations_[outcome];
}

int64_t Metrics::registrations(const std::string& outcome) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = registrations_.find(outcome);
  return it == registrations_.end() ? 0 : it->second;
}

std::string Metrics::Render(const std::vector<Gauge>& gauges) const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  out +=
      "# HELP wod_api_registrations_total Registration requests by outcome.\n"
      "# TYPE wod_api_registrations_total counter\n";
  for (const auto& [outcome, n] : registrations_) {
    out +=
        fmt::format("wod_api_registrations_total{{outcome=\"{}\"}} {}\n", EscapeLabel(outcome), n);
  }
  out +=
      "# HELP wod_api_http_requests_total HTTP requests by route template, method and status.\n"
      "# TYPE wod_api_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    out +=
        fmt::format("wod_api_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                    EscapeLabel(route), EscapeLabel(method), status, n);
  }
  out +=
      "# HELP wod_api_http_request_duration_seconds Time spent in the handler, by route.\n"
      "# TYPE wod_api_http_request_duration_seconds histogram\n";
  for (const auto& [key, h] : durations_) {
    std::string labels =
        fmt::format("route=\"{}\",method=\"{}\"", EscapeLabel(key.first), EscapeLabel(key.second));
    for (size_t i = 0; i < kDurationBuckets.size(); ++i) {
      out += fmt::format("wod_api_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n",
                         labels, kDurationBuckets[i], h.buckets[i]);
    }
    out += fmt::format("wod_api_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n",
                       labels, h.count);
    out += fmt::format("wod_api_http_request_duration_seconds_sum{{{}}} {}\n", labels, h.sum);
    out += fmt::format("wod_api_http_request_duration_seconds_count{{{}}} {}\n", labels, h.count);
  }
  for (const Gauge& g : gauges) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", g.name, g.help, g.name);
    for (const auto& [labels, value] : g.samples) {
      if (labels.empty()) {
        out += fmt::format("{} {}\n", g.name, value);
      } else {
        out += fmt::format("{}{{{}}} {}\n", g.name, labels, value);
      }
    }
  }
  return out;
}

std::vector<Metrics::Gauge> MailGauges(const std::vector<store::NotificationCount>& counts) {
  struct PerKind {
    std::map<std::string, double> by_state = {{"pending", 0}, {"sent", 0}, {"failed", 0}};
    double attempts = 0;
    double failures = 0;
  };
  std::map<std::string, PerKind> kinds;
  for (const store::NotificationCount& c : counts) {
    PerKind& k = kinds[c.kind];
    k.by_state[model::NotificationStateName(c.state)] += static_cast<double>(c.count);
    k.attempts += static_cast<double>(c.attempts);
    // A sent mail's last attempt succeeded; a claimed pending one is still being tried.
    const int64_t ok = c.state == model::NotificationState::kSent ? c.count : 0;
    k.failures += static_cast<double>(std::max<int64_t>(0, c.attempts - ok - c.in_flight));
  }
  Metrics::Gauge mails{
      "wod_mail_notifications", "Mails in the notifications outbox by kind and state.", {}};
  Metrics::Gauge attempts{"wod_mail_send_attempts", "Send attempts of the outbox's mails.", {}};
  Metrics::Gauge failures{
      "wod_mail_send_failures", "Send attempts that failed (retried or given up).", {}};
  for (const auto& [kind, k] : kinds) {
    const std::string label = absl::StrCat("kind=\"", EscapeLabel(kind), "\"");
    for (const auto& [state, n] : k.by_state) {
      mails.samples.push_back({absl::StrCat(label, ",state=\"", state, "\""), n});
    }
    attempts.samples.push_back({label, k.attempts});
    failures.samples.push_back({label, k.failures});
  }
  return {std::move(mails), std::move(attempts), std::move(failures)};
}

}  // namespace wod::api
