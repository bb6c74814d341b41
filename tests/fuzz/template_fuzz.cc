// Fuzz target for the template renderer (model/template.h). The first byte picks the options
// (bit 0: JSON escaping, bit 1: trim_blocks); the rest is the template. Properties checked:
//  - parsing and rendering never crash, whatever the bytes;
//  - a text with no `{{`, `{%` or `{#` parses and renders to itself, in every mode;
//  - every error is InvalidArgument and starts with "FILE:LINE: ";
//  - rendering fails only on an undefined variable, and with every referenced variable defined
//    (to values with quotes and backslashes) it succeeds;
//  - rendering is deterministic.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "model/template.h"

namespace {

constexpr std::string_view kFile = "fuzz.ipynb";

void Fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "template_fuzz: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

void CheckError(const absl::Status& s) {
  const std::string message(s.message());
  if (s.code() != absl::StatusCode::kInvalidArgument) Fail("error is not InvalidArgument", message);
  const std::string prefix = std::string(kFile) + ":";
  if (message.rfind(prefix, 0) != 0) Fail("error does not start with the file name", message);
  size_t i = prefix.size();
  const size_t digits_start = i;
  while (i < message.size() && message[i] >= '0' && message[i] <= '9') ++i;
  if (i == digits_start || message.compare(i, 2, ": ") != 0) {
    Fail("error has no line number", message);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wod::model;
  if (size == 0) return 0;
  TemplateOptions options;
  options.escape = (data[0] & 1) ? TemplateEscape::kJson : TemplateEscape::kNone;
  options.trim_blocks = (data[0] & 2) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool has_syntax = text.find("{{") != std::string_view::npos ||
                          text.find("{%") != std::string_view::npos ||
                          text.find("{#") != std::string_view::npos;

  const TemplateVariables fixed = {{"STDID", "7"},
                                   {"PASSSTU", "p\"w\\d"},
                                   {"MODEWS", "WKSHP"},
                                   {"HTTPPORT", "10007"},
                                   {"IP-WKSHP-X", "10.0.0.1"}};
  absl::StatusOr<Template> tmpl = Template::Parse(text, kFile, options);
  if (!tmpl.ok()) {
    if (!has_syntax) Fail("text without template syntax failed to parse", text);
    CheckError(tmpl.status());
    return 0;
  }
  absl::StatusOr<std::string> out = tmpl->Render(fixed);
  if (!has_syntax && (!out.ok() || *out != text))
    Fail("text without template syntax changed", text);
  if (!out.ok()) {
    CheckError(out.status());
    if (std::string(out.status().message()).find("undefined variable '") == std::string::npos) {
      Fail("render failed for another reason than an undefined variable",
           std::string(out.status().message()));
    }
  }

  TemplateVariables all = fixed;
  for (const std::string& name : tmpl->ReferencedVariables()) all.emplace(name, "v\"\\\n");
  const absl::StatusOr<std::string> first = tmpl->Render(all);
  if (!first.ok()) Fail("render failed with every referenced variable defined", text);
  const absl::StatusOr<std::string> second = tmpl->Render(all);
  if (!second.ok() || *second != *first) Fail("rendering is not deterministic", text);
  return 0;
}
