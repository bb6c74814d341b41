// As root (label `root`): deploy into a home owned by a seat's uid in a temp prefix, and check
// who owns what on disk and with which mode — the participant owns the workshop folder and the
// workspace, root owns the manifest, the home keeps 0700. No Linux account is needed: ownership
// is by number.
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/drivers/content_test_env.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"

namespace wod::drivers::content {
namespace {

using model::ContentAction;
using ::testing::HasSubstr;
using ::wod::testing::StatusIs;
using namespace ::wod::drivers::content::testing;  // NOLINT

constexpr int kSeat = 7;

struct Owned {
  uid_t uid = 0;
  gid_t gid = 0;
  int mode = 0;
};

Owned OwnerOf(const fs::path& p) {
  struct stat st;
  if (lstat(p.c_str(), &st) != 0) return {static_cast<uid_t>(-1), static_cast<gid_t>(-1), -1};
  return {st.st_uid, st.st_gid, static_cast<int>(st.st_mode & 07777)};
}

class ContentRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WOD_REQUIRE_ROOT();
    env_ = std::make_unique<RealEnv>(tmp_.path() / "root", "", /*as_root=*/true);
    env_->AddHome(kSeat);
    own_dir_ = WriteOwnWorkshop(tmp_.path() / "catalog");
  }
  ContentAction DeployOwn(int seat = kSeat) {
    return ContentAction::Deploy(
        seat, 11, "WKSHP-Own", 0, own_dir_.string(),
        model::SeatVariables(OwnWorkshop(), TestLocation(), seat, "pw", OperatorVars()),
        "occupied");
  }

  TempDir tmp_;
  std::unique_ptr<RealEnv> env_;
  fs::path own_dir_;
};

TEST_F(ContentRootTest, ParticipantOwnsTheFolderAndRootOwnsTheManifest) {
  ASSERT_OK(env_->driver().Apply(DeployOwn()));
  const model::AccountPolicy policy = TestPolicy();
  const uid_t uid = policy.Uid(kSeat);
  const gid_t gid = policy.gid;
  const fs::path home = env_->Home(kSeat);

  struct Expect {
    const char* path;
    uid_t uid;
    gid_t gid;
    int mode;
  };
  const Expect expected[] = {
      {"", uid, gid, 0700},
      {"WKSHP-Own", uid, gid, 0755},
      {"WKSHP-Own/0-ReadMeFirst.ipynb", uid, gid, 0644},
      {"WKSHP-Own/1-Lab.ipynb", uid, gid, 0644},
      {"WKSHP-Own/scripts", uid, gid, 0755},
      {"WKSHP-Own/scripts/setup.sh", uid, gid, 0755},
      {"WKSHP-Own/Pictures", uid, gid, 0755},
      {"WKSHP-Own/Pictures/logo.png", uid, gid, 0644},
      {".jupyter", uid, gid, 0755},
      {".jupyter/lab", uid, gid, 0755},
      {".jupyter/lab/workspaces", uid, gid, 0755},
      {".jupyter/lab/workspaces/default-37a8.jupyterlab-workspace", uid, gid, 0644},
      {".wod", 0, 0, 0755},
      {".wod/manifest.json", 0, 0, 0644},
  };
  for (const Expect& e : expected) {
    SCOPED_TRACE(e.path);
    const Owned o = OwnerOf(home / e.path);
    EXPECT_EQ(o.uid, e.uid);
    EXPECT_EQ(o.gid, e.gid);
    EXPECT_EQ(o.mode, e.mode);
  }
  auto seen = env_->driver().Observe();
  ASSERT_OK(seen);
  ASSERT_NE(seen->Find(kSeat), nullptr);
  EXPECT_TRUE(seen->Find(kSeat)->deployed());
}

TEST_F(ContentRootTest, HomeOwnedBySomeoneElseIsRefused) {
  const fs::path home = env_->Home(8);
  fs::create_directories(home);
  ASSERT_EQ(chown(home.c_str(), 0, 0), 0);
  EXPECT_THAT(env_->driver().Apply(DeployOwn(8)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("owned by uid 0")));
  EXPECT_FALSE(fs::exists(home / "WKSHP-Own"));
}

TEST_F(ContentRootTest, ManifestPlantedByTheParticipantIsNotTrusted) {
  ASSERT_OK(env_->driver().Apply(DeployOwn()));
  const fs::path manifest = env_->Home(kSeat) / ".wod/manifest.json";
  const model::AccountPolicy policy = TestPolicy();
  ASSERT_EQ(chown(manifest.c_str(), policy.Uid(kSeat), policy.gid), 0);
  auto seen = env_->driver().Observe();
  ASSERT_OK(seen);
  EXPECT_EQ(seen->Find(kSeat)->manifest_state, model::ObservedSeatContent::Manifest::kCorrupt);
  // Deploy repairs it: root-owned again.
  ASSERT_OK_AND_ASSIGN(model::ContentResult redeploy, env_->driver().Apply(DeployOwn()));
  EXPECT_TRUE(redeploy.changed);
  EXPECT_EQ(OwnerOf(manifest).uid, 0u);
}

}  // namespace
}  // namespace wod::drivers::content
