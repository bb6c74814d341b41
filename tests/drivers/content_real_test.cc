// What only the real content driver can show: a participant's planted symlinks never make it
// write or delete outside the home, modes on disk, the take-home archive's entries, which
// directories Observe looks at, and that Observe re-parses only what changed (with a timing
// over many seats, printed).
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "drivers/content/archive.h"
#include "drivers/content/home_content.h"
#include "drivers/content/home_fs.h"
#include "tests/drivers/content_test_env.h"
#include "tests/testing/status_matchers.h"

namespace wod::drivers::content {
namespace {

using model::ContentAction;
using model::ObservedSeatContent;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::wod::testing::StatusIs;
using namespace ::wod::drivers::content::testing;  // NOLINT

constexpr int kSeat = 3;

std::vector<std::string> ListTree(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    out.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// CPU time of this thread: wall time on a shared, loaded machine says little.
double CpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int ModeOf(const fs::path& p) {
  struct stat st;
  if (lstat(p.c_str(), &st) != 0) return -1;
  return st.st_mode & 07777;
}

class RealContentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = std::make_unique<RealEnv>(tmp_.path() / "root", (tmp_.path() / "archive").string(),
                                     /*as_root=*/false);
    env_->AddHome(kSeat);
    own_dir_ = WriteOwnWorkshop(tmp_.path() / "catalog");
    // Somewhere outside the home that a planted symlink points at.
    outside_ = tmp_.path() / "outside";
    WriteText(outside_ / "keep.txt", "precious");
  }

  ContentAction DeployOwn(int64_t registration = 11, int64_t epoch = 0, int seat = kSeat) {
    return ContentAction::Deploy(
        seat, registration, "WKSHP-Own", epoch, own_dir_.string(),
        model::SeatVariables(OwnWorkshop(), TestLocation(), seat, "pw", OperatorVars()),
        "occupied");
  }

  fs::path Home() const { return env_->Home(kSeat); }
  ContentDriver& driver() { return env_->driver(); }

  void ExpectOutsideUntouched() {
    EXPECT_THAT(ListTree(outside_), ElementsAre("keep.txt"));
    EXPECT_EQ(ReadText(outside_ / "keep.txt"), "precious");
  }

  TempDir tmp_;
  std::unique_ptr<RealEnv> env_;
  fs::path own_dir_;
  fs::path outside_;
};

TEST_F(RealContentTest, ModesFollowTheSourceExecBit) {
  ASSERT_OK(driver().Apply(DeployOwn()));
  EXPECT_EQ(ModeOf(Home()), 0700);  // the home keeps its mode
  EXPECT_EQ(ModeOf(Home() / "WKSHP-Own"), 0755);
  EXPECT_EQ(ModeOf(Home() / "WKSHP-Own/scripts"), 0755);
  EXPECT_EQ(ModeOf(Home() / "WKSHP-Own/1-Lab.ipynb"), 0644);
  EXPECT_EQ(ModeOf(Home() / "WKSHP-Own/scripts/setup.sh"), 0755);
  EXPECT_EQ(ModeOf(Home() / "WKSHP-Own/Pictures/logo.png"), 0644);  // source is 0444
  EXPECT_EQ(ModeOf(Home() / ".wod"), 0755);
  EXPECT_EQ(ModeOf(Home() / ".wod/manifest.json"), 0644);
  // Nothing is left behind in ~/.wod but the manifest.
  EXPECT_THAT(ListTree(Home() / ".wod"), ElementsAre("manifest.json"));
}

TEST_F(RealContentTest, PlantedFolderSymlinkIsReplacedNotFollowed) {
  fs::create_directory_symlink(outside_, Home() / "WKSHP-Own");
  ASSERT_OK(driver().Apply(DeployOwn()));
  EXPECT_FALSE(fs::is_symlink(Home() / "WKSHP-Own"));
  EXPECT_TRUE(fs::is_directory(Home() / "WKSHP-Own"));
  EXPECT_TRUE(fs::exists(Home() / "WKSHP-Own/1-Lab.ipynb"));
  ExpectOutsideUntouched();
}

TEST_F(RealContentTest, PlantedStateAndJupyterSymlinksAreNotFollowed) {
  fs::create_directory_symlink(outside_, Home() / ".wod");
  fs::create_directory_symlink(outside_, Home() / ".jupyter");
  ASSERT_OK(driver().Apply(DeployOwn()));
  EXPECT_FALSE(fs::is_symlink(Home() / ".wod"));
  EXPECT_FALSE(fs::is_symlink(Home() / ".jupyter"));
  EXPECT_TRUE(fs::exists(Home() / ".wod/manifest.json"));
  EXPECT_TRUE(fs::exists(Home() / ".jupyter/lab/workspaces/default-37a8.jupyterlab-workspace"));
  ExpectOutsideUntouched();
}

TEST_F(RealContentTest, PlantedWorkspaceSymlinkIsReplacedNotWrittenThrough) {
  fs::create_directories(Home() / ".jupyter/lab/workspaces");
  fs::create_symlink(outside_ / "keep.txt",
                     Home() / ".jupyter/lab/workspaces/default-37a8.jupyterlab-workspace");
  ASSERT_OK(driver().Apply(DeployOwn()));
  EXPECT_FALSE(
      fs::is_symlink(Home() / ".jupyter/lab/workspaces/default-37a8.jupyterlab-workspace"));
  ExpectOutsideUntouched();
}

TEST_F(RealContentTest, WipeDoesNotFollowPlantedSymlinks) {
  ASSERT_OK(driver().Apply(DeployOwn()));
  // A link inside the folder, and then the folder itself swapped for a link.
  fs::create_directory_symlink(outside_, Home() / "WKSHP-Own/escape");
  ASSERT_OK(driver().Apply(ContentAction::Wipe(kSeat, "WKSHP-Own", "cleanup")));
  ExpectOutsideUntouched();
  EXPECT_FALSE(fs::exists(fs::symlink_status(Home() / "WKSHP-Own")));

  ASSERT_OK(driver().Apply(DeployOwn(12)));
  fs::remove_all(Home() / "WKSHP-Own");
  fs::create_directory_symlink(outside_, Home() / "WKSHP-Own");
  fs::remove_all(Home() / ".jupyter/lab/workspaces");
  fs::create_directory_symlink(outside_, Home() / ".jupyter/lab/workspaces");
  ASSERT_OK_AND_ASSIGN(model::ContentResult wiped,
                       driver().Apply(ContentAction::Wipe(kSeat, "WKSHP-Own", "cleanup")));
  EXPECT_TRUE(wiped.changed);
  ExpectOutsideUntouched();
  EXPECT_FALSE(fs::exists(fs::symlink_status(Home() / "WKSHP-Own")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(Home() / ".wod")));
}

TEST_F(RealContentTest, SymlinkedManifestIsCorruptNotRead) {
  ASSERT_OK(driver().Apply(DeployOwn()));
  fs::copy_file(Home() / ".wod/manifest.json", outside_ / "manifest.json");
  fs::remove(Home() / ".wod/manifest.json");
  fs::create_symlink(outside_ / "manifest.json", Home() / ".wod/manifest.json");
  auto seen = driver().Observe();
  ASSERT_OK(seen);
  ASSERT_NE(seen->Find(kSeat), nullptr);
  EXPECT_EQ(seen->Find(kSeat)->manifest_state, ObservedSeatContent::Manifest::kCorrupt);
  // ~/.wod itself a link to a directory holding a valid manifest: not followed either.
  fs::remove_all(Home() / ".wod");
  fs::create_directory_symlink(outside_, Home() / ".wod");
  seen = driver().Observe();
  ASSERT_OK(seen);
  EXPECT_NE(seen->Find(kSeat)->manifest_state, ObservedSeatContent::Manifest::kPresent);
}

TEST_F(RealContentTest, HomeThatIsASymlinkIsRefused) {
  const fs::path home = env_->Home(5);
  fs::create_directory_symlink(outside_, home);
  EXPECT_THAT(driver().Apply(DeployOwn(11, 0, 5)), StatusIs(absl::StatusCode::kFailedPrecondition));
  ExpectOutsideUntouched();
  auto seen = driver().Observe();
  ASSERT_OK(seen);
  ASSERT_NE(seen->Find(5), nullptr);
  EXPECT_EQ(seen->Find(5)->manifest_state, ObservedSeatContent::Manifest::kCorrupt);
}

TEST_F(RealContentTest, HarvestArchivesLinksAsLinksAndSkipsNothingElse) {
  ASSERT_OK(driver().Apply(DeployOwn(31)));
  fs::create_symlink(outside_ / "keep.txt", Home() / "WKSHP-Own/link-to-outside");
  WriteText(Home() / "WKSHP-Own/notes/mine.txt", "participant's notes");
  ASSERT_OK_AND_ASSIGN(model::ContentResult result,
                       driver().Apply(ContentAction::Harvest(kSeat, 31, "WKSHP-Own", "end")));
  ASSERT_TRUE(result.harvest.has_value());
  EXPECT_THAT(result.harvest->skipped, ::testing::IsEmpty());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> entries, ListArchive(result.harvest->archive));
  EXPECT_THAT(entries, ElementsAre("WKSHP-Own/", "WKSHP-Own/0-ReadMeFirst.ipynb",
                                   "WKSHP-Own/1-Lab.ipynb", "WKSHP-Own/Pictures/",
                                   "WKSHP-Own/Pictures/logo.png", "WKSHP-Own/link-to-outside",
                                   "WKSHP-Own/notes/", "WKSHP-Own/notes/mine.txt",
                                   "WKSHP-Own/scripts/", "WKSHP-Own/scripts/setup.sh"));
  // Participants' work: readable by the operator only.
  EXPECT_EQ(ModeOf(result.harvest->archive), 0600);
  ASSERT_OK_AND_ASSIGN(std::vector<ArchivedEntry> read, ReadArchive(result.harvest->archive));
  ASSERT_EQ(read.size(), 10u);
  EXPECT_EQ(read[5].type, 'l');  // the link, not what it points at
  EXPECT_EQ(read[5].symlink, (outside_ / "keep.txt").string());
  EXPECT_EQ(read[4].data, ReadText(own_dir_ / "Pictures/logo.png"));
  EXPECT_EQ(read[7].data, "participant's notes");
}

TEST_F(RealContentTest, HarvestWithoutArchiveDirectoryWritesNothing) {
  RealContentOptions options;
  options.root = (tmp_.path() / "root").string();
  options.policy = TestPolicy();
  options.chown = false;
  ASSERT_OK_AND_ASSIGN(auto plain, RealContentDriver::Create(options));
  ASSERT_OK(plain->Apply(DeployOwn(31)));
  ASSERT_OK_AND_ASSIGN(model::ContentResult result,
                       plain->Apply(ContentAction::Harvest(kSeat, 31, "WKSHP-Own", "end")));
  ASSERT_TRUE(result.harvest.has_value());
  EXPECT_EQ(result.harvest->archive, "");
  EXPECT_EQ(result.harvest->total.Counted(), 2);
  EXPECT_TRUE(fs::is_empty(tmp_.path() / "archive"));
}

// The crash test once found `<id>-WKSHP-Crash.tar.gz.tmp-<pid>` left forever by a controller
// SIGKILLed while it wrote a harvest archive. Here the writer is killed at that point, through
// the real harvest: a child process limited to a small file size, whose first write past the
// limit (SIGXFSZ, mid-archive) makes it SIGKILL itself. Nothing may be left in the archive
// directory (nor after a restart's sweep), and the next harvest writes the archive whole.
TEST_F(RealContentTest, HarvestKilledWhileWritingTheArchiveLeavesNothingBehind) {
  ASSERT_OK(driver().Apply(DeployOwn(31)));
  // Incompressible, so the archive's writes pass the child's file size limit.
  std::string noise(2u << 20, '\0');
  uint64_t x = 0x9e3779b97f4a7c15u;
  for (char& c : noise) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  WriteText(Home() / "WKSHP-Own/data/noise.bin", noise);
  const fs::path archive_dir = tmp_.path() / "archive";
  const std::string stem = "31-WKSHP-Own";

  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    signal(SIGXFSZ, [](int) { kill(getpid(), SIGKILL); });
    const rlimit limit{256u << 10, 256u << 10};
    setrlimit(RLIMIT_FSIZE, &limit);
    auto harvested = driver().Apply(ContentAction::Harvest(kSeat, 31, "WKSHP-Own", "end"));
    _exit(harvested.ok() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the writer was not killed mid-archive (status " << status << ")";
  EXPECT_THAT(ListTree(archive_dir), ::testing::IsEmpty()) << "left by the killed writer";

  // A restarted driver starts clean, also of the temp file an earlier version's killed writer
  // left (the crash test's), and its harvest writes the archive and the record whole.
  WriteText(archive_dir / (stem + ".tar.gz.tmp-12856"), "half an archive");
  ASSERT_OK_AND_ASSIGN(auto restarted, RealContentDriver::Create(env_->real_driver().options()));
  EXPECT_THAT(ListTree(archive_dir), ::testing::IsEmpty());
  ASSERT_OK_AND_ASSIGN(model::ContentResult result,
                       restarted->Apply(ContentAction::Harvest(kSeat, 31, "WKSHP-Own", "end")));
  ASSERT_TRUE(result.harvest.has_value());
  EXPECT_THAT(ListTree(archive_dir), ElementsAre(stem + ".json", stem + ".tar.gz"));
  EXPECT_EQ(ModeOf(archive_dir / (stem + ".tar.gz")), 0600);
  ASSERT_OK_AND_ASSIGN(std::vector<ArchivedEntry> read, ReadArchive(result.harvest->archive));
  bool found = false;
  for (const ArchivedEntry& e : read) {
    if (e.name == "WKSHP-Own/data/noise.bin") found = e.data == noise;
  }
  EXPECT_TRUE(found) << "the archive does not hold the participant's file whole";
}

TEST_F(RealContentTest, ObserveLooksOnlyAtSeatHomes) {
  fs::create_directories(tmp_.path() / "root/home/alice/.wod");
  WriteText(tmp_.path() / "root/home/alice/.wod/manifest.json", "garbage");
  fs::create_directories(tmp_.path() / "root/home/student007");  // not a seat's name
  env_->AddHome(12);
  ASSERT_OK_AND_ASSIGN(model::ObservedContent seen, driver().Observe());
  std::vector<int> seats;
  for (const auto& s : seen.seats) seats.push_back(s.seat);
  EXPECT_THAT(seats, ElementsAre(3, 12));
}

// A large backend's homes are observed by two threads: the result is the same as home by
// home (every home once, by seat, each with its own content) and the caches stay per seat.
TEST_F(RealContentTest, ObserveOfManyHomesSeesEachHomeOnceWithItsOwnContent) {
  std::vector<int> deployed;
  for (int seat = 100; seat < 400; ++seat) {
    env_->AddHome(seat);
    if (seat % 7 == 0) {
      ASSERT_OK(driver().Apply(DeployOwn(/*registration=*/seat * 10, 0, seat)));
      deployed.push_back(seat);
    }
  }
  RealContentDriver& real = env_->real_driver();
  for (int round = 0; round < 2; ++round) {
    ASSERT_OK_AND_ASSIGN(model::ObservedContent seen, driver().Observe());
    ASSERT_EQ(seen.seats.size(), 301u);  // the fixture's seat 3 too
    for (size_t i = 1; i < seen.seats.size(); ++i) {
      ASSERT_LT(seen.seats[i - 1].seat, seen.seats[i].seat);
    }
    for (const auto& c : seen.seats) {
      const bool expect = c.seat != kSeat && c.seat % 7 == 0;
      EXPECT_EQ(c.deployed(), expect) << "seat " << c.seat;
      if (expect) {
        EXPECT_EQ(c.registration_id, c.seat * 10) << "seat " << c.seat;
        EXPECT_TRUE(c.files_intact) << "seat " << c.seat;
        EXPECT_EQ(c.notebooks.size(), 2u) << "seat " << c.seat;
      }
    }
    // Parsed once in the first round, from the cache in the second.
    EXPECT_EQ(real.stats().manifest_parses, static_cast<int64_t>(deployed.size()));
  }
}

TEST_F(RealContentTest, ManifestOfAnotherOwnerIsNotTrusted) {
  ASSERT_OK(driver().Apply(DeployOwn()));
  HomeOptions options;
  options.manifest_owner = geteuid() + 1;
  auto home = OpenDirBelow((tmp_.path() / "root").string(), "/home/student3");
  ASSERT_OK(home);
  const ManifestRead read = ReadManifest(home->get(), options);
  EXPECT_EQ(read.state, ObservedSeatContent::Manifest::kCorrupt);
  EXPECT_THAT(read.error, HasSubstr("owned by uid"));
}

TEST_F(RealContentTest, ObserveReparsesOnlyChangedNotebooks) {
  ASSERT_OK(driver().Apply(DeployOwn()));
  RealContentDriver& real = env_->real_driver();
  ASSERT_OK(driver().Observe());
  const auto first = real.stats();
  EXPECT_EQ(first.manifest_parses, 1);
  EXPECT_EQ(first.notebook_parses, 2);
  ASSERT_OK(driver().Observe());
  EXPECT_EQ(real.stats().manifest_parses, 1);
  EXPECT_EQ(real.stats().notebook_parses, 2);

  // Same size, new content: the stamp (mtime/ctime) still changes.
  auto text = env_->ReadFile(kSeat, "WKSHP-Own/1-Lab.ipynb");
  ASSERT_TRUE(text.has_value());
  std::string edited = *text;
  const size_t at = edited.find("\"execution_count\": null");
  ASSERT_NE(at, std::string::npos);
  edited.replace(at, 23, "\"execution_count\": 1234");
  ASSERT_TRUE(env_->WriteFile(kSeat, "WKSHP-Own/1-Lab.ipynb", edited));
  ASSERT_OK_AND_ASSIGN(model::ObservedContent seen, driver().Observe());
  EXPECT_EQ(real.stats().notebook_parses, 3);
  EXPECT_EQ(seen.Find(kSeat)->total.executed, 1);

  // A new deploy (new manifest) drops the cached progress of the seat.
  ASSERT_OK(driver().Apply(DeployOwn(11, 1)));
  ASSERT_OK_AND_ASSIGN(seen, driver().Observe());
  EXPECT_EQ(real.stats().manifest_parses, 2);
  EXPECT_EQ(real.stats().notebook_parses, 5);
  EXPECT_EQ(seen.Find(kSeat)->total.executed, 0);
}

// Observe checks the directories on the way to the manifest and the notebooks itself (one
// lstat each) instead of opening them with O_NOFOLLOW: a ~/.wod or workshop folder replaced by a
// symlink to the very same files must be observed as a driver without a cache sees it.
TEST_F(RealContentTest, CachedObserveSeesSymlinkedDirectoriesAsAFreshDriverDoes) {
  ASSERT_OK(driver().Apply(DeployOwn()));
  ASSERT_OK(driver().Observe());  // warm the cache
  auto observe_fresh = [&]() -> model::ObservedContent {
    auto fresh = RealContentDriver::Create(env_->real_driver().options());
    EXPECT_OK(fresh);
    if (!fresh.ok()) return {};
    auto seen = (*fresh)->Observe();
    EXPECT_OK(seen);
    return seen.ok() ? *seen : model::ObservedContent{};
  };

  fs::rename(Home() / "WKSHP-Own", Home() / "moved");
  fs::create_directory_symlink("moved", Home() / "WKSHP-Own");
  ASSERT_OK_AND_ASSIGN(model::ObservedContent seen, driver().Observe());
  EXPECT_EQ(seen.Find(kSeat)->manifest_state, ObservedSeatContent::Manifest::kPresent);
  EXPECT_THAT(seen.Find(kSeat)->missing_files, ElementsAre("WKSHP-Own"));
  EXPECT_EQ(seen.seats, observe_fresh().seats);

  fs::rename(Home() / ".wod", Home() / ".wod-moved");
  fs::create_directory_symlink(".wod-moved", Home() / ".wod");
  ASSERT_OK_AND_ASSIGN(seen, driver().Observe());
  EXPECT_EQ(seen.Find(kSeat)->manifest_state, ObservedSeatContent::Manifest::kMissing);
  EXPECT_EQ(seen.seats, observe_fresh().seats);

  // Put back: the same files, seen as deployed again.
  fs::remove(Home() / ".wod");
  fs::rename(Home() / ".wod-moved", Home() / ".wod");
  fs::remove(Home() / "WKSHP-Own");
  fs::rename(Home() / "moved", Home() / "WKSHP-Own");
  ASSERT_OK_AND_ASSIGN(seen, driver().Observe());
  EXPECT_TRUE(seen.Find(kSeat)->files_intact);
  EXPECT_EQ(seen.seats, observe_fresh().seats);
}

// A home removed drops its cache entry; made again and deployed, it is observed anew.
TEST_F(RealContentTest, RemovedHomeIsForgotten) {
  ASSERT_OK(driver().Apply(DeployOwn()));
  ASSERT_OK(driver().Observe());
  fs::remove_all(Home());
  ASSERT_OK_AND_ASSIGN(model::ObservedContent seen, driver().Observe());
  EXPECT_EQ(seen.Find(kSeat), nullptr);
  env_->AddHome(kSeat);
  ASSERT_OK_AND_ASSIGN(seen, driver().Observe());
  EXPECT_EQ(seen.Find(kSeat)->manifest_state, ObservedSeatContent::Manifest::kMissing);
  ASSERT_OK(driver().Apply(DeployOwn(12)));
  ASSERT_OK_AND_ASSIGN(seen, driver().Observe());
  EXPECT_EQ(seen.Find(kSeat)->registration_id, 12);
  EXPECT_TRUE(seen.Find(kSeat)->files_intact);
}

// Many seats: the second Observe parses nothing. The time is printed for the record; the bound
// is loose (shared CI machines) and only catches an accidental re-parse of everything.
TEST_F(RealContentTest, ObserveOfManySeatsIsCheapWhenNothingChanged) {
  constexpr int kSeats = 500;  // 2,000 takes a minute to deploy on a loaded ext4
  const fs::path small = tmp_.path() / "small" / "WKSHP-Small";
  WriteText(small / "0-ReadMeFirst.ipynb", MakeNotebook({"student{{ STDID }}"}, {}));
  WriteText(small / "1-Lab.ipynb",
            MakeNotebook({"lab"}, {{"a = 1", -1}, {"b = 2", -1}, {"c = 3", 4}}));
  WriteText(small / "2-Conclusion.ipynb", MakeNotebook({"bye"}, {{"print(1)", -1}}));
  for (int seat = 1; seat <= kSeats; ++seat) {
    env_->AddHome(seat);
    ASSERT_OK(driver().Apply(ContentAction::Deploy(seat, seat, "WKSHP-Small", 0, small.string(),
                                                   {{"STDID", std::to_string(seat)}}, "bench")));
  }
  RealContentDriver& real = env_->real_driver();
  EXPECT_EQ(real.stats().source_reads, 1);  // parsed once, rendered 2,000 times

  auto t0 = std::chrono::steady_clock::now();
  ASSERT_OK_AND_ASSIGN(model::ObservedContent cold, driver().Observe());
  auto t1 = std::chrono::steady_clock::now();
  const auto parses = real.stats().notebook_parses;
  const double cpu0 = CpuMs();
  ASSERT_OK_AND_ASSIGN(model::ObservedContent warm, driver().Observe());
  const double warm_cpu_ms = CpuMs() - cpu0;
  auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(real.stats().notebook_parses, parses);
  ASSERT_EQ(warm.seats.size(), static_cast<size_t>(kSeats));
  EXPECT_EQ(warm.seats[1].total.Counted(), 3);
  const double cold_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  const double warm_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
  std::printf("observe %d seats: cold %.1f ms, warm %.1f ms (%.1f ms of CPU)\n", kSeats, cold_ms,
              warm_ms, warm_cpu_ms);
  EXPECT_LT(warm_ms, 2000.0);
}

}  // namespace
}  // namespace wod::drivers::content
