// Shared by the content driver tests: temp directories, the fixture workshops, a small workshop
// of our own written into a temp dir, and the two environments of the contract suite (the fake,
// and the real driver on a temp root prefix).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "catalogfs/load.h"
#include "common/files.h"
#include "drivers/content/content.h"
#include "drivers/content/content_fake.h"
#include "drivers/content/content_real.h"
#include "model/catalog.h"
#include "model/content.h"

namespace wod::drivers::content::testing {

namespace fs = std::filesystem;

inline const fs::path kFixtures = fs::path(WOD_FIXTURES_DIR) / "wod-notebooks";

// A directory removed when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "wod-content-XXXXXX").string();
    char* made = mkdtemp(tmpl.data());
    if (made == nullptr) std::abort();
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline void WriteText(const fs::path& path, const std::string& text, int mode = 0644) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
  chmod(path.c_str(), mode);
}

inline std::string ReadText(const fs::path& path) {
  auto text = common::ReadFile(path.string());
  return text.ok() ? *text : std::string();
}

// An nbformat-4.5 notebook of our own; `code` cells are (source, execution_count or -1).
inline std::string MakeNotebook(const std::vector<std::string>& markdown,
                                const std::vector<std::pair<std::string, int>>& code) {
  nlohmann::json cells = nlohmann::json::array();
  int id = 0;  // ids built with append: gcc 12 -O3 misfires -Wrestrict on "c" + std::string
  for (const std::string& m : markdown) {
    cells.push_back({{"cell_type", "markdown"},
                     {"id", std::string("m").append(std::to_string(id++))},
                     {"metadata", nlohmann::json::object()},
                     {"source", m}});
  }
  for (const auto& [source, count] : code) {
    nlohmann::json cell = {{"cell_type", "code"},
                           {"id", std::string("c").append(std::to_string(id++))},
                           {"metadata", nlohmann::json::object()},
                           {"outputs", nlohmann::json::array()},
                           {"source", source}};
    cell["execution_count"] = count >= 0 ? nlohmann::json(count) : nlohmann::json(nullptr);
    cells.push_back(cell);
  }
  return nlohmann::json{{"cells", cells},
                        {"metadata", nlohmann::json::object()},
                        {"nbformat", 4},
                        {"nbformat_minor", 5}}
      .dump(1);
}

// A workshop folder of our own: WKSHP-Own/ with a readme notebook using the seat variables, a
// lab notebook with one cell shipped executed and two not, an executable script, a picture
// (binary, with bytes that look like template tags), a subfolder, and a wod.yml.
inline fs::path WriteOwnWorkshop(const fs::path& parent, const std::string& name = "WKSHP-Own") {
  const fs::path dir = parent / name;
  WriteText(dir / "wod.yml", "name: 'Own workshop'\nactive: true\ncapacity: 4\nrange: [1,4]\n");
  WriteText(dir / "0-ReadMeFirst.ipynb",
            MakeNotebook({"# Welcome student{{ STDID }} to {{ BRANDINGWOD }}\n",
                          "Your password is {{ PASSSTU }}; open http://{{ WODBEEXTFQDN }}:"
                          "{{ HTTPPORT }} or {{ hostvars[inventory_hostname]['IP-" +
                              name + "'] }}"},
                         {}));
  WriteText(
      dir / "1-Lab.ipynb",
      MakeNotebook(
          {"{% if MODEWS == 'WKSHP' %}Workshop mode{% else %}Challenge{% endif %}"},
          {{"print('shipped executed')", 1}, {"print('student{{ STDID }}')", -1}, {"x = 2", -1}}));
  WriteText(dir / "scripts/setup.sh", "#!/bin/sh\necho student{{ STDID }}\n", 0755);
  std::string picture = "\x89PNG\r\n\x1a\n{{ not a template }}";
  picture.push_back('\0');
  picture += "\xff\xfe";
  WriteText(dir / "Pictures/logo.png", picture, 0444);
  return dir;
}

inline model::Workshop OwnWorkshop(const std::string& name = "WKSHP-Own") {
  model::Workshop w;
  w.id = name;
  w.name = "Own workshop";
  w.range = {1, 4};
  model::Appliance web;
  web.name = "web";
  web.image = "busybox";
  web.ports = {{80, 14000}, {22, 15000}};
  w.appliances = {web};
  return w;
}

inline std::map<std::string, std::string> OperatorVars() {
  return {{"BRANDING", "Brand"},
          {"BRANDINGWOD", "Brand-XYZZY Workshops"},
          {"BRANDINGLOGO", "https://example.test/logo.png"},
          {"BRANDINGURL", "https://example.test"},
          {"SURVEYURL", "https://example.test/survey"},
          {"SURVEYCHALURL", "https://example.test/quiz"}};
}

inline model::Location TestLocation() {
  model::Location l;
  l.name = "local";
  l.fqdn = "wod.example.test";
  return l;
}

// The workshop of a fixture folder, as the catalog reads it.
inline std::optional<model::Workshop> FixtureWorkshop(const fs::path& dir) {
  model::Catalog catalog = catalogfs::LoadCatalog({dir.string()}, "local");
  if (catalog.entries.size() != 1) return std::nullopt;
  return catalog.entries[0].workshop;
}

inline model::AccountPolicy TestPolicy() {
  model::AccountPolicy p;
  p.uid_base = 10000;
  p.seat_count = 5000;
  return p;
}

// What the contract suite needs from the world around a driver.
class ContentEnv {
 public:
  virtual ~ContentEnv() = default;
  virtual ContentDriver& driver() = 0;
  virtual void AddHome(int seat) = 0;
  virtual std::optional<std::string> ReadFile(int seat, const std::string& path) = 0;
  virtual bool WriteFile(int seat, const std::string& path, const std::string& data) = 0;
  virtual bool RemoveFile(int seat, const std::string& path) = 0;
  virtual bool Exists(int seat, const std::string& path) = 0;
  // Changes whenever the file is written again, even with the same bytes.
  virtual std::string Identity(int seat, const std::string& path) = 0;
  virtual const std::string& archive_dir() const = 0;
  virtual bool real() const = 0;
};

class FakeEnv : public ContentEnv {
 public:
  explicit FakeEnv(std::string archive_dir)
      : archive_dir_(std::move(archive_dir)), fake_(TestPolicy(), archive_dir_) {}
  ContentDriver& driver() override { return fake_; }
  FakeContentDriver& fake() { return fake_; }
  void AddHome(int seat) override { fake_.AddHome(seat); }
  std::optional<std::string> ReadFile(int seat, const std::string& path) override {
    return fake_.ReadFile(seat, path);
  }
  bool WriteFile(int seat, const std::string& path, const std::string& data) override {
    ++writes_;
    return fake_.WriteFile(seat, path, data);
  }
  bool RemoveFile(int seat, const std::string& path) override {
    return fake_.RemoveFile(seat, path);
  }
  bool Exists(int seat, const std::string& path) override {
    for (const std::string& p : fake_.ListHome(seat)) {
      if (p == path || p == path + "/") return true;
    }
    return false;
  }
  std::string Identity(int seat, const std::string& path) override {
    auto data = fake_.ReadFile(seat, path);
    return (data ? *data : "<none>") + "#" + std::to_string(fake_.files_written()) + "#" +
           std::to_string(writes_);
  }
  const std::string& archive_dir() const override { return archive_dir_; }
  bool real() const override { return false; }

 private:
  std::string archive_dir_;
  FakeContentDriver fake_;
  int writes_ = 0;
};

// The real driver on a temp root: homes at <root>/home/student<N>, mode 0700. With `as_root`,
// homes are owned by the seat's uid (no such user needs to exist) and the driver chowns.
class RealEnv : public ContentEnv {
 public:
  RealEnv(const fs::path& root, std::string archive_dir, bool as_root)
      : root_(root), archive_dir_(std::move(archive_dir)), as_root_(as_root) {
    fs::create_directories(root_ / "home");
    RealContentOptions options;
    options.root = root_.string();
    options.policy = TestPolicy();
    options.archive_dir = archive_dir_;
    options.chown = as_root;
    options.sync = false;  // tmp files; the sync path is exercised by the root suite
    if (as_root) options.sync = true;
    auto driver = RealContentDriver::Create(options);
    if (!driver.ok()) std::abort();
    driver_ = *std::move(driver);
  }
  ContentDriver& driver() override { return *driver_; }
  RealContentDriver& real_driver() { return *driver_; }
  fs::path Home(int seat) const { return root_ / ("home/student" + std::to_string(seat)); }
  void AddHome(int seat) override {
    const fs::path home = Home(seat);
    fs::create_directories(home);
    chmod(home.c_str(), 0700);
    if (as_root_) {
      const model::AccountPolicy policy = TestPolicy();
      if (chown(home.c_str(), policy.Uid(seat), policy.gid) != 0) std::abort();
    }
  }
  std::optional<std::string> ReadFile(int seat, const std::string& path) override {
    const fs::path p = Home(seat) / path;
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(p, ec))) return std::nullopt;
    return ReadText(p);
  }
  bool WriteFile(int seat, const std::string& path, const std::string& data) override {
    const fs::path p = Home(seat) / path;
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << data;
    return static_cast<bool>(out);
  }
  bool RemoveFile(int seat, const std::string& path) override {
    std::error_code ec;
    return fs::remove_all(Home(seat) / path, ec) > 0;
  }
  bool Exists(int seat, const std::string& path) override {
    std::error_code ec;
    return fs::exists(fs::symlink_status(Home(seat) / path, ec));
  }
  std::string Identity(int seat, const std::string& path) override {
    struct stat st;
    if (lstat((Home(seat) / path).c_str(), &st) != 0) return "<none>";
    return std::to_string(st.st_ino) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ctim.tv_nsec);
  }
  const std::string& archive_dir() const override { return archive_dir_; }
  bool real() const override { return true; }

 private:
  fs::path root_;
  std::string archive_dir_;
  bool as_root_;
  std::unique_ptr<RealContentDriver> driver_;
};

}  // namespace wod::drivers::content::testing
