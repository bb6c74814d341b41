// The API's Prometheus metrics, kept in process and rendered in the text exposition format
// (version 0.0.4) by GET /metrics. Label values are route templates and fixed outcome names,
// never anything a client sent.
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "store/store.h"

namespace wod::api {

// Upper bounds (seconds) of the request duration histogram.
inline constexpr std::array<double, 12> kDurationBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

class Metrics {
 public:
  // `method` is a label as sent only when it is one of HTTP's methods, otherwise "other".
  void CountRequest(const std::string& route, const std::string& method, int status);
  void ObserveDuration(const std::string& route, const std::string& method, double seconds);
  void CountRegistration(const std::string& outcome);

  // One gauge family, rendered after the counters (values gathered at scrape time).
  struct Gauge {
    std::string name;
    std::string help;
    std::vector<std::pair<std::string, double>> samples;  // label text ("phase=\"Ready\""), value
  };
  std::string Render(const std::vector<Gauge>& gauges) const;

  int64_t registrations(const std::string& outcome) const;

 private:
  struct Histogram {
    std::array<int64_t, kDurationBuckets.size()> buckets{};
    int64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, int64_t> requests_;
  std::map<std::pair<std::string, std::string>, Histogram> durations_;
  std::map<std::string, int64_t> registrations_;
};

// Escapes a label value: backslash, double quote and newline.
std::string EscapeLabel(const std::string& value);

// The mail outcomes of the notifications outbox (store::Store::CountNotifications), as gauges:
//   wod_mail_notifications{kind,state}  mails by kind and state (pending, sent, failed; all
//                                       three present for every kind seen)
//   wod_mail_send_attempts{kind}        send attempts (claims) of those mails
//   wod_mail_send_failures{kind}        attempts that failed: attempts - sent - in flight
// Counted in the store, so every API process shows the outcomes of the one lifecycle.
std::vector<Metrics::Gauge> MailGauges(const std::vector<store::NotificationCount>& counts);

}  // namespace wod::api
