#include "store/sql_db.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/random.h"
#include "common/status.h"

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

SqlRow::SqlRow(std::shared_ptr<const SqlColumnNames> names,
               std::vector<std::optional<std::string>> values)
    : names_(std::move(names)),
      values_(std::make_shared<const std::vector<std::optional<std::string>>>(std::move(values))) {}

const std::string& SqlRow::Text(size_t i) const {
  static const std::string kEmpty;
  const auto& v = values_->at(i);
  return v ? *v : kEmpty;
}

int64_t SqlRow::Int(size_t i) const { return OptInt(i).value_or(0); }

std::optional<int64_t> SqlRow::OptInt(size_t i) const {
  const auto& v = values_->at(i);
  if (!v) return std::nullopt;
  int64_t out = 0;
  if (!absl::SimpleAtoi(*v, &out)) return 0;
  return out;
}

bool SqlRow::Bool(size_t i) const {
  const auto& v = values_->at(i);
  if (!v || v->empty()) return false;
  return (*v)[0] == 't' || (*v)[0] == '1';
}

SqlRow SqlRow::WithPrefix(std::string prefix) const {
  SqlRow out = *this;
  out.prefix_ = prefix_ + prefix;
  return out;
}

size_t SqlRow::Index(std::string_view name) const {
  if (names_ != nullptr) {
    // Parsers read the columns in the order they are selected, so the search starts after
    // the last column found: most lookups then compare one name.
    const size_t n = names_->size();
    const size_t length = prefix_.size() + name.size();
    for (size_t k = 0; k < n; ++k) {
      const size_t i = next_ + k < n ? next_ + k : next_ + k - n;
      std::string_view column = (*names_)[i];
      if (column.size() == length && column.ends_with(name) && column.starts_with(prefix_)) {
        next_ = i + 1;
        return i;
      }
    }
  }
  // A statement and its parser disagree: no input can cause this, only our code.
  std::fprintf(stderr, "wod: store: the statement selected no column '%s%.*s'\n", prefix_.c_str(),
               static_cast<int>(name.size()), name.data());
  std::abort();
}

absl::StatusOr<SqlBound> BindNamed(std::string_view sql, const std::vector<SqlNamedParam>& params) {
  auto is_name_start = [](char c) { return absl::ascii_isalpha(c) || c == '_'; };
  auto is_name_char = [](char c) { return absl::ascii_isalnum(c) || c == '_'; };
  SqlBound out;
  out.sql.reserve(sql.size());
  std::vector<std::string_view> used;  // names in placeholder order
  size_t i = 0;
  while (i < sql.size()) {
    size_t plain = i;
    while (plain < sql.size() && sql[plain] != ':' && sql[plain] != '\'' && sql[plain] != '"') {
      ++plain;
    }
    out.sql.append(sql.substr(i, plain - i));  // plain text, copied in one go
    i = plain;
    if (i == sql.size()) break;
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // a literal or quoted identifier, copied as it is
      size_t end = sql.find(c, i + 1);
      end = end == std::string_view::npos ? sql.size() : end + 1;
      out.sql.append(sql.substr(i, end - i));
      i = end;
      continue;
    }
    if (c == ':' && i + 1 < sql.size() && sql[i + 1] == ':') {  // a cast
      out.sql.append("::");
      i += 2;
      continue;
    }
    if (c != ':' || i + 1 >= sql.size() || !is_name_start(sql[i + 1])) {
      out.sql.push_back(c);
      ++i;
      continue;
    }
    size_t end = i + 1;
    while (end < sql.size() && is_name_char(sql[end])) ++end;
    const std::string_view name = sql.substr(i + 1, end - i - 1);
    auto seen = std::find(used.begin(), used.end(), name);
    if (seen == used.end()) {
      auto param = std::find_if(params.begin(), params.end(),
                                [&](const SqlNamedParam& p) { return p.name == name; });
      if (param == params.end()) {
        return absl::InternalError(absl::StrCat(
            "statement parameter ':", absl::string_view(name.data(), name.size()), "' not given"));
      }
      used.push_back(name);
      out.params.push_back(param->value);
      seen = used.end() - 1;
    }
    absl::StrAppend(&out.sql, "$", seen - used.begin() + 1);
    i = end;
  }
  return out;
}

absl::StatusOr<std::vector<SqlRow>> SqlTx::QueryNamed(std::string_view sql,
                                                      const std::vector<SqlNamedParam>& params) {
  ASSIGN_OR_RETURN(SqlBound bound, BindNamed(sql, params));
  return Query(bound.sql, bound.params);
}

absl::StatusOr<int64_t> SqlTx::ExecNamed(std::string_view sql,
                                         const std::vector<SqlNamedParam>& params) {
  ASSIGN_OR_RETURN(SqlBound bound, BindNamed(sql, params));
  return Exec(bound.sql, bound.params);
}

void ChangeScope::Add(std::string_view location) {
  if (all) return;
  if (location.empty()) {
    all = true;
    locations.clear();
    return;
  }
  auto it = std::lower_bound(locations.begin(), locations.end(), location);
  if (it == locations.end() || *it != location) locations.insert(it, std::string(location));
}

void ChangeScope::Merge(const ChangeScope& other) {
  if (other.all) {
    Add("");
    return;
  }
  for (const std::string& l : other.locations) Add(l);
}

bool ChangeScope::Concerns(std::string_view watched) const {
  if (all) return true;
  if (watched.empty()) return !locations.empty();
  return std::binary_search(locations.begin(), locations.end(), watched);
}

std::string ChangeScope::Encode() const { return all ? "*" : absl::StrJoin(locations, ","); }

ChangeScope ChangeScope::Decode(std::string_view text) {
  ChangeScope scope;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view name = text.substr(start, end - start);
    // "*", an empty element or anything that is not a location name: every location, so a
    // change is never missed.
    if (name.empty() ||
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string_view::npos) {
      scope.Add("");
      return scope;
    }
    scope.Add(name);
    start = end + 1;
  }
  return scope;
}

absl::Status SqlTx::MarkChanged(std::string_view location) {
  const bool first = change_scope_.empty();
  change_scope_.Add(location);
  return first ? OnFirstChange() : absl::OkStatus();
}

void SleepBeforeRetry(int attempt, absl::Duration base, int max_doublings) {
  const uint32_t cap_us = (uint32_t{1} << std::min(attempt, max_doublings)) * 1000;
  absl::SleepFor(base + absl::Microseconds(common::RandomUniform(cap_us)));
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
