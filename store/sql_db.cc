#include "store/sql_db.h"

#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace wod::store {

std::string SqlParam::ToText() const {
  switch (kind_) {
    case Kind::kNull:
      return "";
    case Kind::kInt:
      return absl::StrCat(int_);
    case Kind::kBool:
      return int_ != 0 ? "true" : "false";
    case Kind::kText:
      return text_;
  }
  return "";
}

const std::string& SqlRow::Text(size_t i) const {
  static const std::string kEmpty;
  const auto& v = values_.at(i);
  return v ? *v : kEmpty;
}

int64_t SqlRow::Int(size_t i) const { return OptInt(i).value_or(0); }

std::optional<int64_t> SqlRow::OptInt(size_t i) const {
  const auto& v = values_.at(i);
  if (!v) return std::nullopt;
  int64_t out = 0;
  if (!absl::SimpleAtoi(*v, &out)) return 0;
  return out;
}

bool SqlRow::Bool(size_t i) const {
  const auto& v = values_.at(i);
  if (!v || v->empty()) return false;
  return (*v)[0] == 't' || (*v)[0] == '1';
}

int64_t TimeToDb(absl::Time t) {
  if (t == absl::InfinitePast()) return std::numeric_limits<int64_t>::min();
  if (t == absl::InfiniteFuture()) return std::numeric_limits<int64_t>::max();
  return absl::ToUnixMicros(t);
}

absl::Time TimeFromDb(int64_t us) {
  if (us == std::numeric_limits<int64_t>::min()) return absl::InfinitePast();
  if (us == std::numeric_limits<int64_t>::max()) return absl::InfiniteFuture();
  return absl::FromUnixMicros(us);
}

std::string FirstLine(std::string_view message) {
  size_t end = message.find('\n');
  std::string_view line = message.substr(0, end);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
  return std::string(line);
}

}  // namespace wod::store
