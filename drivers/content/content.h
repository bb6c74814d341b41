// The content driver: deploys a workshop's rendered notebooks into seats' homes, observes every
// managed home's manifest and notebook progress in bulk, wipes, and harvests progress (with a
// take-home archive). Implementations: RealContentDriver (files under a root prefix) and
// FakeContentDriver (in memory). Both pass one contract suite:
// tests/drivers/content_contract_test.cc.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/content.h"

namespace wod::drivers::content {

class ContentDriver {
 public:
  virtual ~ContentDriver() = default;

  // Every managed home (a directory under the policy's home base named like a seat's user):
  // its manifest (missing and corrupt are states, not errors), the progress of each notebook
  // the manifest lists and the newest modification time among them (the controller's live
  // progress and last activity). Unavailable when the home base itself cannot be read.
  [[nodiscard]] virtual absl::StatusOr<model::ObservedContent> Observe() = 0;

  // Applies one action; idempotent. Unlike the other drivers, Apply returns a result, because
  // a harvest produces the progress the controller stores into the registration. Errors:
  //   InvalidArgument     seat outside the policy, a workshop id that is not a folder name,
  //                       template errors (every "FILE:LINE: ..." line), a notebook that is
  //                       not a notebook once rendered, an unreadable content folder
  //   NotFound            deploy/harvest into a seat without a home; harvest of a
  //                       registration whose content is not in the home (nothing to harvest)
  //   FailedPrecondition  the home is not owned by the seat's uid, or is a symlink; another
  //                       filesystem mounted inside what we would remove
  //   Aborted             the home changed under us (re-observe)
  //   Unavailable         disk full, I/O error (retry)
  //   PermissionDenied    we may not write there
  // Wipe of a missing home or of a home without our content is success.
  [[nodiscard]] virtual absl::StatusOr<model::ContentResult> Apply(
      const model::ContentAction& action) = 0;
};

}  // namespace wod::drivers::content
