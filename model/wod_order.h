// Orders in the mail format of HPE Workshops-on-Demand's procmail API, so that a site whose
// WoD api-db sends its orders by mail can point them at wod (`wod mail-ingest`).
//
// One order is one RFC 822 message:
//   Subject: CREATE <stdid> <participant-id> <email>
//   Subject: CLEANUP <stdid> <participant-id>      (also RESET, PURGE)
//   body, first non-empty line: the workshop folder name, e.g. WKSHP-Python101
// <stdid> is the student number, which is wod's seat number on the location.
//
// Parsing is pure and total: any byte string yields an order or an error naming the header,
// the field and what is wrong. Nothing here looks at the store or runs anything.
#pragma once

#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "model/types.h"

namespace wod::model {

struct WodOrder {
  Verb verb = Verb::kCreate;
  int seat = 0;                // <stdid>
  std::string participant_id;  // WoD's customer id, kept for events and logs
  std::string email;           // CREATE only; lowercased
  std::string workshop;        // the first non-empty body line
  std::string sender;          // the address in From:, lowercased ("" when absent)
  // The other addresses a mail says it came from: each Sender: and Return-Path: (the envelope
  // sender the MTA recorded), lowercased, "" for one without an address (`<>`). A mail is
  // trusted only when all of them and `sender` are (wod mail-ingest --allow-sender).
  std::vector<std::string> other_senders;
  std::string message_id;  // Message-ID without the angle brackets ("" when absent)
  bool operator==(const WodOrder&) const = default;
};

// Orders larger than this are refused before parsing (a WoD order is a few hundred bytes).
inline constexpr size_t kMaxOrderMailBytes = 256 * 1024;

// InvalidArgument with a message such as "Subject: seat 'x7' is not a number (field stdid)".
// A mail with more than one From: or Subject: header is refused (which one counts would be a
// guess another mail program may make differently).
absl::StatusOr<WodOrder> ParseWodOrderMail(absl::string_view raw);

// The address inside a From: value: `Name <a@b>` → "a@b", `a@b (Name)` → "a@b"; lowercased.
// "" when there is none.
std::string MailboxAddress(absl::string_view from_value);

}  // namespace wod::model
