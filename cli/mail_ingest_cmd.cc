// `wod mail-ingest`: one order mail in the format of WoD's procmail API on stdin (see
// model/wod_order.h), applied as the same desired-state transition the API and `wod verb` use.
// A site whose WoD api-db mails its orders can deliver them here (procmail, a .forward pipe, or
// an MTA's pipe transport). Nothing of the mail ever reaches a shell: it is parsed into an order,
// checked against the sender allow-list and the store, then applied through the store.
#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/store_open.h"
#include "common/clock.h"
#include "model/wod_order.h"

namespace wod::cli {
namespace {

constexpr int kExitRefusedSender = 8;
// The participant name of a registration made by a CREATE mail: it carries WoD's participant
// id, which the later CLEANUP / RESET / PURGE of the seat must name again.
constexpr char kWodParticipantPrefix[] = "WoD participant ";

struct MailIngestOptions {
  std::vector<std::string> allow_senders;
  bool allow_any_sender = false;
  bool json = false;
};

// Reads stdin, at most one byte past the limit (so an oversized mail is recognised as such).
std::string ReadStdin() {
  std::string data;
  char buf[8192];
  while (data.size() <= model::kMaxOrderMailBytes) {
    const size_t n = std::fread(buf, 1, sizeof buf, stdin);
    if (n == 0) break;
    data.append(buf, n);
  }
  return data;
}

int RunMailIngest(const GlobalOptions& global, const MailIngestOptions& opts) {
  auto order = model::ParseWodOrderMail(ReadStdin());
  if (!order.ok()) {
    return PrintError(absl::InvalidArgumentError(
        absl::StrCat("mail-ingest: malformed order mail: ", order.status().message())));
  }
  if (!opts.allow_any_sender) {
    std::set<std::string> allowed;
    for (const std::string& a : opts.allow_senders) allowed.insert(absl::AsciiStrToLower(a));
    if (allowed.count(order->sender) == 0) {
      std::fprintf(stderr,
                   "wod: mail-ingest: sender '%s' is not allowed (give it with --allow-sender, "
                   "or --allow-any-sender to accept every sender); nothing changed\n",
                   order->sender.empty() ? "(none)" : order->sender.c_str());
      return kExitRefusedSender;
    }
    // From: is whatever the mail's author wrote; the envelope sender (Return-Path:) and Sender:
    // say who actually sent it, and must be allowed too when the mail has them.
    for (const std::string& other : order->other_senders) {
      if (allowed.count(other) != 0) continue;
      std::fprintf(stderr,
                   "wod: mail-ingest: the mail's Sender:/Return-Path: '%s' is not an allowed "
                   "sender (From: says '%s'); nothing changed\n",
                   other.empty() ? "(none)" : other.c_str(), order->sender.c_str());
      return kExitRefusedSender;
    }
  }

  auto store = OpenStoreOrPrint(global.store_url);
  if (!store) return 1;
  auto workshop = store->GetWorkshop(order->workshop);
  if (!workshop.ok()) return PrintError(workshop.status());
  const absl::Time now = common::RealClock::Get()->Now();

  nlohmann::json out = {{"verb", model::VerbName(order->verb)},    {"workshop", workshop->id},
                        {"location", workshop->location},          {"seat", order->seat},
                        {"participant_id", order->participant_id}, {"sender", order->sender}};
  std::string summary;
  if (order->verb == model::Verb::kCreate) {
    store::RegisterRequest req;
    req.workshop = workshop->id;
    req.email = order->email;
    req.name = absl::StrCat(kWodParticipantPrefix, order->participant_id);
    req.company = "";
    req.now = now;
    req.seat = order->seat;
    auto r = store->Register(req);
    if (!r.ok()) {
      // A mail delivered twice: the seat already holds this participant for this workshop.
      auto seat = store->GetSeat(workshop->location, order->seat);
      if (r.status().code() == absl::StatusCode::kAlreadyExists && seat.ok() && seat->participant &&
          seat->participant->email == order->email && seat->seat.workshop == workshop->id) {
        out["changed"] = false;
        out["registration"] = seat->registration->id;
        summary = absl::StrCat("CREATE: seat ", order->seat, " on '", workshop->location,
                               "' already holds '", order->email, "'; nothing changed");
      } else {
        return PrintError(r.status());
      }
    } else {
      out["changed"] = true;
      out["registration"] = r->registration.id;
      out["deadline"] = common::FormatTime(r->registration.deadline);
      summary =
          absl::StrCat("CREATE: seat ", order->seat, " on '", workshop->location, "' occupied by '",
                       order->email, "' (registration ", r->registration.id, ") until ",
                       common::FormatTime(r->registration.deadline));
    }
  } else {
    // The order names the workshop: refuse to act on a seat of another workshop.
    auto seat = store->GetSeat(workshop->location, order->seat);
    if (!seat.ok()) return PrintError(seat.status());
    if (seat->seat.workshop != workshop->id) {
      return PrintError(absl::FailedPreconditionError(absl::StrCat(
          "mail-ingest: seat ", order->seat, " on '", workshop->location, "' belongs to workshop '",
          seat->seat.workshop, "', not '", workshop->id, "'; nothing changed")));
    }
    // The order names the participant it is about: an order that arrives late or twice must
    // not end the registration of whoever holds the seat now. Checked again in the store's
    // transaction (ApplyVerbIfHeldBy), so the seat cannot change hands in between.
    absl::StatusOr<store::VerbResult> r;
    if (seat->registration) {
      const std::string wod_name = absl::StrCat(kWodParticipantPrefix, order->participant_id);
      if (!seat->participant || seat->participant->name != wod_name) {
        return PrintError(absl::FailedPreconditionError(
            absl::StrCat("mail-ingest: seat ", order->seat, " on '", workshop->location,
                         "' is held by another participant (registration ", seat->registration->id,
                         "), not WoD participant ", order->participant_id,
                         ": a stale or repeated order; nothing changed")));
      }
      r = store->ApplyVerbIfHeldBy(order->verb, workshop->location, order->seat,
                                   seat->registration->id, now);
    } else {
      r = store->ApplyVerb(order->verb, workshop->location, order->seat, now);  // a no-op
    }
    if (!r.ok()) return PrintError(r.status());
    out["changed"] = r->changed;
    if (r->registration) out["registration"] = r->registration->id;
    summary = r->changed
                  ? absl::StrCat(model::VerbName(order->verb), ": seat ", order->seat, " on '",
                                 workshop->location, "' done")
                  : absl::StrCat(model::VerbName(order->verb), ": seat ", order->seat, " on '",
                                 workshop->location, "' already in that state; nothing changed");
  }
  if (opts.json) {
    fmt::print("{}\n", out.dump(2));
  } else {
    fmt::print("{}\n", summary);
  }
  return 0;
}

}  // namespace

void AddMailIngestCommand(CLI::App& app, GlobalOptions& global, int* exit_code) {
  auto opts = std::make_shared<MailIngestOptions>();
  CLI::App* cmd =
      app.add_subcommand("mail-ingest",
                         "Apply one WoD procmail-API order mail read on stdin (CREATE, CLEANUP, "
                         "RESET or PURGE)");
  cmd->add_option("--store", global.store_url, "Store URL: sqlite:PATH or postgresql://...")
      ->envname("WOD_STORE")
      ->capture_default_str();
  cmd->add_option("--allow-sender", opts->allow_senders,
                  "A sender address whose orders are applied; repeatable. The mail's From: and, "
                  "when present, its Sender: and Return-Path: (envelope) must all be allowed");
  cmd->add_flag("--allow-any-sender", opts->allow_any_sender,
                "Apply orders from any sender (only where the mail path is trusted)");
  cmd->add_flag("--json", opts->json, "Print the applied order as JSON");
  cmd->footer(
      "The mail: Subject 'CREATE <stdid> <participant-id> <email>' or 'CLEANUP|RESET|PURGE "
      "<stdid> <participant-id>'; the first non-empty body line names the workshop. <stdid> "
      "is the seat number. A mail delivered twice changes nothing the second time.\n"
      "Exit codes: 0 applied (or already in effect), 2 malformed mail, 3 unknown workshop or "
      "seat, 4 the email holds another active registration, 5 full, 6 seat not available "
      "(occupied, of another workshop, workshop inactive, held by another participant than the "
      "order names), 7 store unavailable, 8 sender not "
      "allowed. On any non-zero exit nothing changed.");
  cmd->callback([&global, opts, exit_code] { *exit_code = RunMailIngest(global, *opts); });
}

}  // namespace wod::cli
