#include "reconcilers/content_planner.h"

#include "absl/strings/str_cat.h"

namespace wod::reconcilers {

using model::ContentAction;
using model::ObservedSeatContent;

namespace {

// Harvest (unless purged) and wipe what a seat holds for a registration that is not its
// occupant's any more.
void Clear(const DesiredState& desired, const ObservedSeatContent& c, const std::string& why,
           std::vector<ContentAction>& out) {
  if (c.deployed() && !desired.purged_registrations.count(c.registration_id)) {
    out.push_back(ContentAction::Harvest(c.seat, c.registration_id, c.workshop,
                                         absl::StrCat(why, ": harvest before wipe")));
  }
  out.push_back(ContentAction::Wipe(c.seat, c.workshop, why));
}

}  // namespace

ContentPlan PlanContent(const DesiredState& desired, const model::ObservedContent& observed) {
  ContentPlan plan;
  auto& out = plan.actions;
  for (const model::Seat& seat : desired.seats) {
    const ObservedSeatContent* c = observed.Find(seat.number);
    const bool has_content =
        c != nullptr && c->manifest_state != ObservedSeatContent::Manifest::kMissing;
    if (!seat.registration_id) {
      if (has_content) {
        Clear(desired, *c,
              c->deployed() ? absl::StrCat("seat vacated by registration ", c->registration_id)
                            : absl::StrCat("seat is vacant; manifest ", c->manifest_error),
              out);
      }
      continue;
    }
    // What the home holds for someone else (or unreadably) goes first, whatever the seat's
    // workshop is: even a workshop without notebooks, or one missing from the catalog, must not
    // leave the previous occupant's content in the new occupant's home.
    const int64_t reg = *seat.registration_id;
    const model::Workshop* workshop = desired.WorkshopOf(seat);
    std::string reason = "seat is occupied";
    if (has_content) {
      if (!c->deployed()) {
        Clear(desired, *c, absl::StrCat("manifest ", c->manifest_error), out);
        reason = "replacing unreadable content";
      } else if (c->registration_id != reg) {
        Clear(desired, *c, absl::StrCat("content belongs to registration ", c->registration_id),
              out);
      } else if (workshop == nullptr) {
        // The occupant's own content stays until the catalog says what the seat should hold.
      } else if (c->reset_epoch == seat.reset_epoch && c->workshop == workshop->id) {
        continue;  // converged; the participant's edits are theirs
      } else {
        reason = c->reset_epoch != seat.reset_epoch
                     ? absl::StrCat("seat was reset (epoch ", seat.reset_epoch, ")")
                     : absl::StrCat("workshop changed to '", workshop->id, "'");
        // Deploy replaces the folder of the same workshop pristine; another workshop's folder,
        // or any folder when there is nothing to deploy, is wiped first.
        if (c->workshop != workshop->id || workshop->content_dir.empty()) {
          out.push_back(ContentAction::Wipe(seat.number, c->workshop, reason));
        }
      }
    }
    if (workshop == nullptr) {
      plan.problems.push_back(
          {seat.number, "content", "UnknownWorkshop",
           absl::StrCat("workshop '", seat.workshop, "' is not in the catalog")});
      continue;
    }
    if (workshop->content_dir.empty()) continue;  // a catalog entry without notebooks
    auto vars = desired.variables.find(seat.number);
    out.push_back(ContentAction::Deploy(
        seat.number, reg, workshop->id, seat.reset_epoch, workshop->content_dir,
        vars == desired.variables.end() ? Variables{} : vars->second, reason));
  }
  for (const ObservedSeatContent& c : observed.seats) {
    if (desired.FindSeat(c.seat) != nullptr) continue;
    if (c.manifest_state == ObservedSeatContent::Manifest::kMissing) continue;
    Clear(desired, c, "seat is no longer in the pool", out);
  }
  return plan;
}

}  // namespace wod::reconcilers
