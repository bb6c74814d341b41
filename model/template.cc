// The Jinja-subset renderer: one pass lexes and parses into a small tree (text ranges of the
// source, outputs, if-blocks); rendering walks the tree. docs/templates.md is the user's view.
#include "model/template.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "common/status.h"
#include "fmt/format.h"
#include "model/strings.h"

namespace wod::model {
namespace internal {

struct Expr {
  enum class Kind { kLiteral, kVariable };
  Kind kind = Kind::kLiteral;
  std::string value;  // the literal's text, or the variable's name
  size_t offset = 0;  // where it starts in the source, for messages
};

struct Condition {
  Expr lhs;
  bool equal = true;  // `==`, else `!=`
  Expr rhs;
};

struct Node;

struct Branch {
  Condition condition;
  std::vector<Node> body;
};

struct Node {
  enum class Kind { kText, kOutput, kIf };
  Kind kind = Kind::kText;
  size_t offset = 0;  // kText: a range of the source, verbatim
  size_t length = 0;
  Expr expr;                     // kOutput
  std::vector<Branch> branches;  // kIf: the `if` and each `elif`
  std::vector<Node> else_body;   // kIf
};

struct ParsedTemplate {
  std::string source;
  std::string file_name;
  TemplateOptions options;
  std::vector<Node> body;
};

}  // namespace internal

namespace {

using internal::Branch;
using internal::Condition;
using internal::Expr;
using internal::Node;
using internal::ParsedTemplate;

// Deeper nesting than any real template; the bound keeps rendering's recursion shallow.
constexpr int kMaxNesting = 64;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

constexpr char kHex[] = "0123456789abcdef";

bool IsKnownTag(std::string_view name) {
  return name == "if" || name == "elif" || name == "else" || name == "endif" || name == "raw" ||
         name == "endraw";
}

std::string Printable(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string(1, c);
  const auto u = static_cast<unsigned char>(c);
  return {'\\', 'x', kHex[u >> 4], kHex[u & 0xf]};
}

// Writes the UTF-8 form of `cp` (at most 0x10FFFF) into `out` and returns its length, 1 to 4.
// Into a fixed array rather than a string, so the compiler sees every write is in bounds.
int EncodeUtf8(uint32_t cp, char (&out)[4]) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xc0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xe0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out[2] = static_cast<char>(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = static_cast<char>(0xf0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
  out[3] = static_cast<char>(0x80 | (cp & 0x3f));
  return 4;
}

void AppendJsonEscaped(std::string_view value, std::string* out) {
  for (char c : value) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          const auto u = static_cast<unsigned char>(c);
          out->append({'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 0xf]});
        } else {
          out->push_back(c);
        }
    }
  }
}

// One token inside `{{ }}` or `{% %}`.
struct Token {
  enum class Kind { kName, kString, kLBracket, kRBracket, kEq, kNe };
  Kind kind = Kind::kName;
  std::string text;  // kName: the name; kString: the decoded literal
  size_t offset = 0;
};

std::string Describe(const Token& t) {
  switch (t.kind) {
    case Token::Kind::kName:
      return t.text;
    case Token::Kind::kString: {
      std::string shown;
      for (char c : t.text.substr(0, 40)) shown += Printable(c);
      return Cat("'", shown, t.text.size() > 40 ? "...'" : "'");
    }
    case Token::Kind::kLBracket:
      return "[";
    case Token::Kind::kRBracket:
      return "]";
    case Token::Kind::kEq:
      return "==";
    case Token::Kind::kNe:
      return "!=";
  }
  return "?";
}

// The tokens of one tag and where it ended.
struct TagScan {
  std::vector<Token> tokens;
  size_t end = 0;             // just past the closing `}}` / `%}`
  bool trim_after = false;    // `-}}` / `-%}`
  bool keep_newline = false;  // `+%}`
};

// One character of a tag as its author wrote it. In JSON mode a tag sits inside a JSON string,
// so its escape sequences are decoded first; a decoded `\uXXXX` may be several UTF-8 bytes.
struct TagChar {
  char bytes[4] = {};
  int size = 0;
  size_t next = 0;  // source offset just past this character
  bool Is(char c) const { return size == 1 && bytes[0] == c; }
};

enum class ReadResult { kOk, kEnd, kBadEscape };

// "FILE:LINE: message". Lines are counted only here: errors are rare, so the parse keeps byte
// offsets and never pays for line numbers.
absl::Status ErrorAt(const ParsedTemplate& parsed, size_t offset, std::string_view message) {
  const std::string_view source = parsed.source;
  const auto end = source.begin() + std::min(offset, source.size());
  const int line = 1 + static_cast<int>(std::count(source.begin(), end, '\n'));
  return absl::InvalidArgumentError(Cat(parsed.file_name, ":", line, ": ", message));
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view file_name, const TemplateOptions& options)
      : parsed_(std::make_shared<ParsedTemplate>()) {
    parsed_->source = std::string(text);
    parsed_->file_name = std::string(file_name);
    parsed_->options = options;
    s_ = parsed_->source;
  }

  absl::StatusOr<std::shared_ptr<const ParsedTemplate>> Run() {
    size_t pos = 0;
    while (pos < s_.size()) {
      const size_t start = FindTagStart(pos);
      if (start == std::string_view::npos) {
        AddText(pos, s_.size());
        break;
      }
      const char opener = s_[start + 1];
      size_t p = start + 2;
      bool trim_before = false;
      if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) {
        trim_before = s_[p] == '-';
        ++p;
      }
      size_t text_end = start;
      if (trim_before) {
        while (text_end > pos && IsSpace(s_[text_end - 1])) --text_end;
      }
      AddText(pos, text_end);

      if (opener == '#') {
        const size_t close = s_.find("#}", p);
        if (close == std::string_view::npos) return Error(start, "unclosed comment");
        const bool trim_after = close > p && s_[close - 1] == '-';
        const bool keep = close > p && s_[close - 1] == '+';
        pos = AfterTag(close + 2, trim_after, !keep);
        continue;
      }
      const char closer = opener == '{' ? '}' : '%';
      ASSIGN_OR_RETURN(TagScan scan, ScanTag(start, p, closer));
      if (opener == '{') {
        RETURN_IF_ERROR(AddOutput(scan, start));
        pos = AfterTag(scan.end, scan.trim_after, /*trim_newline=*/false);
      } else {
        ASSIGN_OR_RETURN(pos, AddBlock(scan, start));
      }
    }
    if (!open_.empty()) return Error(open_.back().offset, "unclosed 'if' block");
    parsed_->body = std::move(root_);
    return std::shared_ptr<const ParsedTemplate>(std::move(parsed_));
  }

 private:
  struct OpenIf {
    Node node;
    bool in_else = false;
    size_t offset = 0;  // of the `{% if %}` tag
  };

  absl::Status Error(size_t at, std::string_view message) const {
    return ErrorAt(*parsed_, at, message);
  }

  size_t FindTagStart(size_t from) const {
    for (size_t i = s_.find('{', from); i != std::string_view::npos; i = s_.find('{', i + 1)) {
      if (i + 1 < s_.size() && (s_[i + 1] == '{' || s_[i + 1] == '%' || s_[i + 1] == '#')) return i;
    }
    return std::string_view::npos;
  }

  // Where text resumes after a tag ending at `pos`: `-` eats all following whitespace;
  // trim_blocks eats one newline after a block tag or comment.
  size_t AfterTag(size_t pos, bool trim_after, bool trim_newline) const {
    if (trim_after) {
      while (pos < s_.size() && IsSpace(s_[pos])) ++pos;
    } else if (trim_newline && parsed_->options.trim_blocks) {
      if (pos < s_.size() && s_[pos] == '\n') {
        ++pos;
      } else if (pos + 1 < s_.size() && s_[pos] == '\r' && s_[pos + 1] == '\n') {
        pos += 2;
      }
    }
    return pos;
  }

  std::vector<Node>& CurrentBody() {
    if (open_.empty()) return root_;
    OpenIf& top = open_.back();
    return top.in_else ? top.node.else_body : top.node.branches.back().body;
  }

  void AddText(size_t begin, size_t end) {
    if (end <= begin) return;
    Node node;
    node.kind = Node::Kind::kText;
    node.offset = begin;
    node.length = end - begin;
    CurrentBody().push_back(std::move(node));
  }

  ReadResult ReadTagChar(size_t pos, TagChar* c) const {
    if (pos >= s_.size()) return ReadResult::kEnd;
    c->size = 1;
    c->bytes[0] = s_[pos];
    c->next = pos + 1;
    if (parsed_->options.escape != TemplateEscape::kJson || s_[pos] != '\\') return ReadResult::kOk;
    if (pos + 1 >= s_.size()) return ReadResult::kBadEscape;
    c->next = pos + 2;
    switch (s_[pos + 1]) {
      case '"':
      case '\\':
      case '/':
        c->bytes[0] = s_[pos + 1];
        return ReadResult::kOk;
      case 'b':
        c->bytes[0] = '\b';
        return ReadResult::kOk;
      case 'f':
        c->bytes[0] = '\f';
        return ReadResult::kOk;
      case 'n':
        c->bytes[0] = '\n';
        return ReadResult::kOk;
      case 'r':
        c->bytes[0] = '\r';
        return ReadResult::kOk;
      case 't':
        c->bytes[0] = '\t';
        return ReadResult::kOk;
      case 'u':
        break;
      default:
        return ReadResult::kBadEscape;
    }
    uint32_t cp = 0;
    if (!Hex4(pos + 2, &cp)) return ReadResult::kBadEscape;
    c->next = pos + 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {
      uint32_t low = 0;
      if (s_.compare(c->next, 2, "\\u") != 0 || !Hex4(c->next + 2, &low) || low < 0xdc00 ||
          low > 0xdfff) {
        return ReadResult::kBadEscape;
      }
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
      c->next += 6;
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
      return ReadResult::kBadEscape;
    }
    c->size = EncodeUtf8(cp, c->bytes);
    return ReadResult::kOk;
  }

  bool Hex4(size_t pos, uint32_t* value) const {
    if (pos + 4 > s_.size()) return false;
    *value = 0;
    for (size_t i = pos; i < pos + 4; ++i) {
      const char h = s_[i];
      uint32_t digit;
      if (h >= '0' && h <= '9') {
        digit = h - '0';
      } else if (h >= 'a' && h <= 'f') {
        digit = h - 'a' + 10;
      } else if (h >= 'A' && h <= 'F') {
        digit = h - 'A' + 10;
      } else {
        return false;
      }
      *value = *value * 16 + digit;
    }
    return true;
  }

  // Reads the tokens of the tag opened at `at` (contents from `p`) up to its closer.
  absl::StatusOr<TagScan> ScanTag(size_t at, size_t p, char closer) {
    const std::string opener = closer == '}' ? "{{" : "{%";
    TagScan scan;
    TagChar c;
    for (;;) {
      const ReadResult read = ReadTagChar(p, &c);
      if (read == ReadResult::kEnd) return Error(at, Cat("unclosed '", opener, "'"));
      if (read == ReadResult::kBadEscape) return Error(p, "malformed JSON escape in tag");
      const size_t token_at = p;
      if (c.size == 1 && IsSpace(c.bytes[0])) {
        p = c.next;
        continue;
      }
      // A tag ends with [-+]?CLOSER}.
      if (c.Is('-') || c.Is('+') || c.Is(closer)) {
        TagChar c2, c3;
        size_t end = 0;
        if (c.Is(closer)) {
          if (ReadTagChar(c.next, &c2) == ReadResult::kOk && c2.Is('}')) end = c2.next;
        } else if (ReadTagChar(c.next, &c2) == ReadResult::kOk && c2.Is(closer) &&
                   ReadTagChar(c2.next, &c3) == ReadResult::kOk && c3.Is('}')) {
          end = c3.next;
        }
        if (end != 0) {
          scan.end = end;
          scan.trim_after = c.Is('-');
          scan.keep_newline = c.Is('+');
          return scan;
        }
      }
      Token token;
      token.offset = token_at;
      TagChar after;
      if (c.size == 1 && IsNameStart(c.bytes[0])) {
        token.kind = Token::Kind::kName;
        while (ReadTagChar(p, &c) == ReadResult::kOk && c.size == 1 && IsNameChar(c.bytes[0])) {
          token.text.push_back(c.bytes[0]);
          p = c.next;
        }
      } else if (c.Is('\'') || c.Is('"')) {
        const char quote = c.bytes[0];
        token.kind = Token::Kind::kString;
        RETURN_IF_ERROR(ScanString(quote, c.next, at, opener, &token.text, &p));
      } else if (c.Is('[') || c.Is(']')) {
        token.kind = c.Is('[') ? Token::Kind::kLBracket : Token::Kind::kRBracket;
        p = c.next;
      } else if ((c.Is('=') || c.Is('!')) && ReadTagChar(c.next, &after) == ReadResult::kOk &&
                 after.Is('=')) {
        token.kind = c.Is('=') ? Token::Kind::kEq : Token::Kind::kNe;
        p = after.next;
      } else {
        // An unexpected character in a tag that never closes is better reported as unclosed.
        const std::string close = closer == '}' ? "}}" : "%}";
        const size_t next_close = s_.find(close, p);
        const size_t next_open = FindTagStart(at + 2);
        if (next_close == std::string_view::npos || next_open < next_close) {
          return Error(at, Cat("unclosed '", opener, "'"));
        }
        // `{% set X = 1 %}` is better reported by its name than by the `=`.
        if (closer == '%' && !scan.tokens.empty() && scan.tokens[0].kind == Token::Kind::kName &&
            !IsKnownTag(scan.tokens[0].text)) {
          return Error(at, Cat("unknown tag '", scan.tokens[0].text, "'"));
        }
        std::string shown;
        for (int i = 0; i < c.size; ++i) shown += Printable(c.bytes[i]);
        return Error(token_at, Cat("malformed expression: unexpected '", shown, "'"));
      }
      scan.tokens.push_back(std::move(token));
    }
  }

  // A Jinja string literal from just after its opening quote; Python-style backslash escapes.
  absl::Status ScanString(char quote, size_t p, size_t at, const std::string& opener,
                          std::string* value, size_t* end) {
    TagChar c;
    for (;;) {
      const ReadResult read = ReadTagChar(p, &c);
      if (read == ReadResult::kEnd) return Error(at, Cat("unclosed '", opener, "'"));
      if (read == ReadResult::kBadEscape) return Error(p, "malformed JSON escape in tag");
      p = c.next;
      if (c.Is(quote)) break;
      if (!c.Is('\\')) {
        value->append(c.bytes, c.size);
        continue;
      }
      TagChar e;
      const ReadResult escaped = ReadTagChar(p, &e);
      if (escaped == ReadResult::kEnd) return Error(at, Cat("unclosed '", opener, "'"));
      if (escaped == ReadResult::kBadEscape) return Error(p, "malformed JSON escape in tag");
      p = e.next;
      if (e.Is('n')) {
        value->push_back('\n');
      } else if (e.Is('t')) {
        value->push_back('\t');
      } else if (e.Is('r')) {
        value->push_back('\r');
      } else if (e.Is('\\') || e.Is('\'') || e.Is('"')) {
        value->push_back(e.bytes[0]);
      } else {
        // Python keeps unknown escapes as written.
        value->push_back('\\');
        value->append(e.bytes, e.size);
      }
    }
    *end = p;
    return absl::OkStatus();
  }

  // NAME | 'string' | "string" | hostvars[inventory_hostname]['KEY']
  absl::StatusOr<Expr> ParseOperand(const std::vector<Token>& tokens, size_t* i, size_t at) {
    if (*i >= tokens.size()) {
      return Error(at, "malformed expression: expected a name or a string");
    }
    const Token& t = tokens[(*i)++];
    Expr expr;
    expr.offset = t.offset;
    if (t.kind == Token::Kind::kString) {
      expr.kind = Expr::Kind::kLiteral;
      expr.value = t.text;
      return expr;
    }
    if (t.kind != Token::Kind::kName) {
      return Error(t.offset, Cat("malformed expression: unexpected '", Describe(t), "'"));
    }
    expr.kind = Expr::Kind::kVariable;
    if (t.text != "hostvars") {
      expr.value = t.text;
      return expr;
    }
    const auto is = [&](size_t k, Token::Kind kind) {
      return k < tokens.size() && tokens[k].kind == kind;
    };
    const size_t k = *i;
    if (!is(k, Token::Kind::kLBracket) || !is(k + 1, Token::Kind::kName) ||
        tokens[k + 1].text != "inventory_hostname" || !is(k + 2, Token::Kind::kRBracket) ||
        !is(k + 3, Token::Kind::kLBracket) || !is(k + 4, Token::Kind::kString) ||
        !is(k + 5, Token::Kind::kRBracket)) {
      return Error(t.offset,
                   "malformed expression: expected hostvars[inventory_hostname]['KEY'] after "
                   "'hostvars'");
    }
    expr.value = tokens[k + 4].text;
    *i = k + 6;
    if (expr.value.empty()) return Error(t.offset, "malformed expression: empty hostvars key");
    return expr;
  }

  absl::Status ExpectEnd(const std::vector<Token>& tokens, size_t i) const {
    if (i == tokens.size()) return absl::OkStatus();
    return Error(tokens[i].offset,
                 Cat("malformed expression: unexpected '", Describe(tokens[i]), "'"));
  }

  absl::StatusOr<Condition> ParseCondition(const std::vector<Token>& tokens, size_t i, size_t at) {
    Condition condition;
    ASSIGN_OR_RETURN(condition.lhs, ParseOperand(tokens, &i, at));
    if (i >= tokens.size() ||
        (tokens[i].kind != Token::Kind::kEq && tokens[i].kind != Token::Kind::kNe)) {
      return Error(i < tokens.size() ? tokens[i].offset : at,
                   "malformed condition: expected '==' or '!='");
    }
    condition.equal = tokens[i].kind == Token::Kind::kEq;
    ++i;
    ASSIGN_OR_RETURN(condition.rhs, ParseOperand(tokens, &i, at));
    RETURN_IF_ERROR(ExpectEnd(tokens, i));
    return condition;
  }

  absl::Status AddOutput(const TagScan& scan, size_t at) {
    if (scan.tokens.empty()) return Error(at, "empty expression");
    size_t i = 0;
    Node node;
    node.kind = Node::Kind::kOutput;
    ASSIGN_OR_RETURN(node.expr, ParseOperand(scan.tokens, &i, at));
    RETURN_IF_ERROR(ExpectEnd(scan.tokens, i));
    CurrentBody().push_back(std::move(node));
    return absl::OkStatus();
  }

  // Handles one `{% %}` tag; returns where text resumes.
  absl::StatusOr<size_t> AddBlock(const TagScan& scan, size_t at) {
    if (scan.tokens.empty()) return Error(at, "empty tag");
    const Token& head = scan.tokens[0];
    if (head.kind != Token::Kind::kName) {
      return Error(at, Cat("malformed tag: unexpected '", Describe(head), "'"));
    }
    const std::string& name = head.text;
    const auto no_arguments = [&]() -> absl::Status {
      if (scan.tokens.size() == 1) return absl::OkStatus();
      return Error(at,
                   Cat("malformed '", name, "' tag: unexpected '", Describe(scan.tokens[1]), "'"));
    };
    const auto outside_if = [&] {
      return Error(at, Cat("unexpected '", name, "' outside an 'if' block"));
    };
    if (name == "raw") {
      RETURN_IF_ERROR(no_arguments());
      return AddRaw(scan, at);
    }
    if (name == "if") {
      if (static_cast<int>(open_.size()) >= kMaxNesting) {
        return Error(at, Cat("'if' blocks nested deeper than ", kMaxNesting));
      }
      OpenIf open;
      open.offset = at;
      open.node.kind = Node::Kind::kIf;
      ASSIGN_OR_RETURN(Condition condition, ParseCondition(scan.tokens, 1, at));
      open.node.branches.push_back(Branch{std::move(condition), {}});
      open_.push_back(std::move(open));
    } else if (name == "elif") {
      if (open_.empty()) return outside_if();
      if (open_.back().in_else) return Error(at, "'elif' after 'else'");
      ASSIGN_OR_RETURN(Condition condition, ParseCondition(scan.tokens, 1, at));
      open_.back().node.branches.push_back(Branch{std::move(condition), {}});
    } else if (name == "else") {
      RETURN_IF_ERROR(no_arguments());
      if (open_.empty()) return outside_if();
      if (open_.back().in_else) return Error(at, "second 'else' in one 'if' block");
      open_.back().in_else = true;
    } else if (name == "endif") {
      RETURN_IF_ERROR(no_arguments());
      if (open_.empty()) return outside_if();
      Node node = std::move(open_.back().node);
      open_.pop_back();
      CurrentBody().push_back(std::move(node));
    } else if (name == "endraw") {
      return Error(at, "unexpected 'endraw' outside a 'raw' block");
    } else {
      return Error(at, Cat("unknown tag '", name, "'"));
    }
    return AfterTag(scan.end, scan.trim_after, !scan.keep_newline);
  }

  // Copies everything up to `{% endraw %}` verbatim.
  absl::StatusOr<size_t> AddRaw(const TagScan& scan, size_t at) {
    const size_t content_start = AfterTag(scan.end, scan.trim_after, /*trim_newline=*/false);
    for (size_t q = content_start;;) {
      const size_t t = s_.find("{%", q);
      if (t == std::string_view::npos) return Error(at, "unclosed 'raw' block");
      q = t + 2;
      size_t r = t + 2;
      bool trim_before = false;
      if (r < s_.size() && (s_[r] == '-' || s_[r] == '+')) trim_before = s_[r++] == '-';
      while (r < s_.size() && IsSpace(s_[r])) ++r;
      if (s_.compare(r, 6, "endraw") != 0) continue;
      r += 6;
      while (r < s_.size() && IsSpace(s_[r])) ++r;
      bool trim_after = false;
      bool keep = false;
      if (r < s_.size() && (s_[r] == '-' || s_[r] == '+')) {
        trim_after = s_[r] == '-';
        keep = s_[r] == '+';
        ++r;
      }
      if (s_.compare(r, 2, "%}") != 0) continue;
      size_t content_end = t;
      if (trim_before) {
        while (content_end > content_start && IsSpace(s_[content_end - 1])) --content_end;
      }
      AddText(content_start, content_end);
      return AfterTag(r + 2, trim_after, !keep);
    }
  }

  std::shared_ptr<ParsedTemplate> parsed_;
  std::string_view s_;
  std::vector<Node> root_;
  std::vector<OpenIf> open_;
};

class Renderer {
 public:
  Renderer(const ParsedTemplate& parsed, const TemplateVariables& vars)
      : parsed_(parsed), vars_(vars) {}

  absl::Status Render(const std::vector<Node>& nodes, std::string* out) const {
    for (const Node& node : nodes) {
      switch (node.kind) {
        case Node::Kind::kText:
          out->append(parsed_.source, node.offset, node.length);
          break;
        case Node::Kind::kOutput: {
          ASSIGN_OR_RETURN(const std::string* value, Evaluate(node.expr));
          if (parsed_.options.escape == TemplateEscape::kJson) {
            AppendJsonEscaped(*value, out);
          } else {
            out->append(*value);
          }
          break;
        }
        case Node::Kind::kIf: {
          const std::vector<Node>* taken = &node.else_body;
          for (const Branch& branch : node.branches) {
            ASSIGN_OR_RETURN(const std::string* lhs, Evaluate(branch.condition.lhs));
            ASSIGN_OR_RETURN(const std::string* rhs, Evaluate(branch.condition.rhs));
            if ((*lhs == *rhs) == branch.condition.equal) {
              taken = &branch.body;
              break;
            }
          }
          RETURN_IF_ERROR(Render(*taken, out));
          break;
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<const std::string*> Evaluate(const Expr& expr) const {
    if (expr.kind == Expr::Kind::kLiteral) return &expr.value;
    const auto it = vars_.find(expr.value);
    if (it == vars_.end()) {
      return ErrorAt(parsed_, expr.offset, Cat("undefined variable '", expr.value, "'"));
    }
    return &it->second;
  }

  const ParsedTemplate& parsed_;
  const TemplateVariables& vars_;
};

void CollectVariables(const std::vector<Node>& nodes, std::set<std::string>* names) {
  const auto add = [&](const Expr& e) {
    if (e.kind == Expr::Kind::kVariable) names->insert(e.value);
  };
  for (const Node& node : nodes) {
    if (node.kind == Node::Kind::kOutput) add(node.expr);
    if (node.kind != Node::Kind::kIf) continue;
    for (const Branch& branch : node.branches) {
      add(branch.condition.lhs);
      add(branch.condition.rhs);
      CollectVariables(branch.body, names);
    }
    CollectVariables(node.else_body, names);
  }
}

}  // namespace

TemplateOptions TemplateOptionsForFile(std::string_view file_name) {
  TemplateOptions options;
  if (file_name.ends_with(".ipynb")) options.escape = TemplateEscape::kJson;
  return options;
}

Template::Template(std::shared_ptr<const internal::ParsedTemplate> parsed)
    : parsed_(std::move(parsed)) {}

absl::StatusOr<Template> Template::Parse(std::string_view text, std::string_view file_name,
                                         const TemplateOptions& options) {
  Parser parser(text, file_name, options);
  ASSIGN_OR_RETURN(std::shared_ptr<const ParsedTemplate> parsed, parser.Run());
  return Template(std::move(parsed));
}

absl::StatusOr<std::string> Template::Render(const TemplateVariables& vars) const {
  std::string out;
  out.reserve(parsed_->source.size() + parsed_->source.size() / 8);
  RETURN_IF_ERROR(Renderer(*parsed_, vars).Render(parsed_->body, &out));
  return out;
}

std::vector<std::string> Template::ReferencedVariables() const {
  std::set<std::string> names;
  CollectVariables(parsed_->body, &names);
  return std::vector<std::string>(names.begin(), names.end());
}

absl::StatusOr<std::string> RenderTemplate(std::string_view text, const TemplateVariables& vars,
                                           std::string_view file_name) {
  return RenderTemplate(text, vars, file_name, TemplateOptionsForFile(file_name));
}

absl::StatusOr<std::string> RenderTemplate(std::string_view text, const TemplateVariables& vars,
                                           std::string_view file_name,
                                           const TemplateOptions& options) {
  ASSIGN_OR_RETURN(Template tmpl, Template::Parse(text, file_name, options));
  return tmpl.Render(vars);
}

absl::StatusOr<std::vector<std::string>> ReferencedVariables(std::string_view text,
                                                             std::string_view file_name) {
  ASSIGN_OR_RETURN(Template tmpl,
                   Template::Parse(text, file_name, TemplateOptionsForFile(file_name)));
  return tmpl.ReferencedVariables();
}

}  // namespace wod::model
