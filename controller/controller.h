// The reconcile pass of one location (DESIGN.md "The reconcile pass"): load the desired seats,
// observe every domain in bulk, plan with the pure planners, execute with bounded concurrency
// keeping each seat's steps in order, and record status, events, harvests and drift. A domain
// that cannot be observed marks its conditions Unknown and does not block the others.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "controller/backoff.h"
#include "drivers/accounts/accounts.h"
#include "drivers/appliances/appliances.h"
#include "drivers/content/content.h"
#include "drivers/hub/hub.h"
#include "model/accounts.h"
#include "store/store.h"

namespace wod::controller {

struct Drivers {
  drivers::accounts::AccountsDriver* accounts = nullptr;
  drivers::Hub* hub = nullptr;  // null: the location has no hub domain
  drivers::content::ContentDriver* content = nullptr;
  drivers::ApplianceDriver* appliances = nullptr;  // null: the location runs no appliances
};

struct ControllerOptions {
  std::string location = "local";
  std::string holder;  // lease holder identity; default "<hostname>:<pid>"
  model::AccountPolicy account_policy;
  std::map<std::string, std::string> operator_variables;  // BRANDING*, SURVEYURL, ...
  // When set, a workshop's content is <content_root>/<workshop id> on this backend instead of
  // the folder the catalog was loaded from.
  std::string content_root;
  int concurrency = 4;
  absl::Duration lease_ttl = absl::Seconds(15);
  absl::Duration resync = absl::Seconds(15);
  BackoffPolicy backoff;
  // Passes run back to back while they still act (each re-observes what the last one did).
  int max_passes_per_wake = 5;
  std::function<double()> jitter;  // tests pin it
};

struct PassResult {
  int seats = 0;
  int actions = 0;         // actions executed
  int failures = 0;        // actions that failed
  int skipped_seats = 0;   // seats waiting on backoff or a terminal error
  int drift = 0;           // drift entries written
  int harvests = 0;        // harvests newly recorded
  bool converged = false;  // nothing planned, nothing skipped, every domain observed
  absl::Duration observe_time, plan_time, execute_time, total_time;
};

// One line, key=value, for logs and `wod controller --once`:
// "seats=12 actions=3 failures=0 skipped=0 drift=3 harvests=0 converged=false time=41ms".
std::string PassSummary(const PassResult& result);

class Controller {
 public:
  Controller(store::Store* store, Drivers drivers, ControllerOptions options,
             common::Clock* clock = common::RealClock::Get());
  ~Controller();

  // Takes (or renews) the location's lease; FailedPrecondition while another holder has it.
  absl::Status AcquireLease();
  void ReleaseLease();
  int64_t lease_epoch() const { return lease_epoch_; }

  // One pass. Needs the lease (call AcquireLease first). With `apply` false it observes and
  // plans only (`wod drift --live`), writing nothing anywhere.
  absl::StatusOr<PassResult> RunPass(bool apply = true);
  // The drift the last pass computed.
  std::vector<store::DriftEntry> last_drift() const;

  // Runs until `stop` becomes true: waits for the lease, then passes on every change and
  // every resync period, renewing the lease; releases it on the way out. A pass in flight
  // finishes the seats whose actions have started and starts no other seat. Each pass's
  // summary is logged at info, except repeats of an unchanged summary of a pass that did
  // nothing (a converged location logs once, then stays quiet: debug).
  absl::Status Run(const std::atomic<bool>& stop);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int64_t lease_epoch_ = 0;
};

}  // namespace wod::controller
