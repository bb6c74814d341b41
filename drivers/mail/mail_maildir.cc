// Maildir delivery: create tmp/NAME exclusively, write, fsync, rename to new/NAME, fsync new/.
#include "drivers/mail/mail_maildir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/errno_status.h"
#include "common/log.h"
#include "common/random.h"
#include "drivers/mail/compose.h"

namespace wod::drivers {

namespace {

absl::Status EnsureDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return absl::OkStatus();
  return common::ErrnoStatus(errno, "cannot create maildir directory", path);
}

// True when new/NAME exists, or cur/NAME with any ":2,FLAGS" suffix (already read).
bool AlreadyDelivered(const std::string& dir, const std::string& name) {
  struct stat st;
  if (stat(absl::StrCat(dir, "/new/", name).c_str(), &st) == 0) return true;
  DIR* cur = opendir(absl::StrCat(dir, "/cur").c_str());
  if (cur == nullptr) return false;
  bool found = false;
  while (dirent* e = readdir(cur)) {
    std::string_view entry = e->d_name;
    if (entry == name || entry.substr(0, name.size() + 1) == name + ":") found = true;
  }
  closedir(cur);
  return found;
}

}  // namespace

MaildirMailSender::MaildirMailSender(MaildirOptions options, const common::Clock* clock)
    : options_(std::move(options)), clock_(clock) {}

absl::Status MaildirMailSender::Send(const model::MailMessage& message) {
  const absl::Time now = clock_->Now();
  const std::string domain = MessageIdDomain(options_.identity);
  const std::string token = common::RandomToken(8);
  ComposeParams params{
      .identity = options_.identity,
      .date = now,
      .message_id = message.key.empty() ? absl::StrCat("wod.", token, "@", domain)
                                        : MessageIdForKey(message.key, domain),
  };
  absl::StatusOr<std::string> text = ComposeMail(message, params);
  if (!text.ok()) return text.status();
  // Files in a maildir use the local line ending.
  const std::string body = absl::StrReplaceAll(*text, {{"\r\n", "\n"}});

  const std::string& dir = options_.dir;
  for (const char* sub : {"", "/tmp", "/new", "/cur"}) {
    if (absl::Status s = EnsureDir(dir + sub); !s.ok()) return s;
  }
  std::string name;
  if (message.key.empty()) {
    // The maildir convention: time, then what makes it unique on this host, then the host.
    char host[256] = "localhost";
    gethostname(host, sizeof(host) - 1);
    name = absl::StrCat(absl::ToUnixSeconds(now), ".M", absl::ToUnixMicros(now) % 1000000, "P",
                        getpid(), "Q", counter_++, "R", token, ".",
                        absl::StrReplaceAll(host, {{"/", "\\057"}, {":", "\\072"}}));
  } else {
    name = absl::StrCat("wod.", common::Sha256Hex(message.key).substr(0, 32));
    if (AlreadyDelivered(dir, name)) return absl::OkStatus();
  }

  const std::string tmp = absl::StrCat(dir, "/tmp/", name);
  const std::string dest = absl::StrCat(dir, "/new/", name);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return common::ErrnoStatus(errno, "cannot create", tmp);
  size_t done = 0;
  while (done < body.size()) {
    ssize_t n = write(fd, body.data() + done, body.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return common::ErrnoStatus(err, "cannot write", tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return common::ErrnoStatus(err, "cannot flush", tmp);
  }
  if (rename(tmp.c_str(), dest.c_str()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return common::ErrnoStatus(err, "cannot move into new/", tmp);
  }
  if (int dfd = open(absl::StrCat(dir, "/new").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  WOD_LOG(kDebug, "mail", "delivered {} to '{}'", message.Describe(), dest);
  return absl::OkStatus();
}

}  // namespace wod::drivers
