#include "drivers/content/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <memory>

#include "common/files.h"
#include "common/status.h"
#include "drivers/content/home_fs.h"
#include "fmt/format.h"

namespace wod::drivers::content {
namespace {

struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

absl::Status ArchiveError(archive* a, std::string_view what) {
  const char* message = archive_error_string(a);
  return absl::InternalError(fmt::format("{}: {}", what, message ? message : "libarchive error"));
}

class FolderArchiver {
 public:
  FolderArchiver(archive* out, const ArchiveOptions& options, ArchiveSummary* summary)
      : out_(out), options_(options), summary_(summary) {}

  absl::Status AddDir(int dir_fd, const std::string& rel, int depth) {
    if (depth > 64) {
      summary_->skipped.push_back(rel + "/");
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::vector<DirEntry> entries, ListDirAt(dir_fd));
    for (const DirEntry& e : entries) {
      const std::string path = fmt::format("{}/{}", rel, e.name);
      struct stat st;
      if (fstatat(dir_fd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;
        return ErrnoStatus(errno, "cannot stat", path);
      }
      if (S_ISDIR(st.st_mode)) {
        UniqueFd child = common::OpenDirNoFollow(dir_fd, e.name);
        if (!child.ok()) {
          summary_->skipped.push_back(path);
          continue;
        }
        RETURN_IF_ERROR(Header(path, st, AE_IFDIR, 0, nullptr));
        RETURN_IF_ERROR(AddDir(child.get(), path, depth + 1));
      } else if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        const ssize_t n = readlinkat(dir_fd, e.name.c_str(), target, sizeof(target) - 1);
        if (n < 0) {
          summary_->skipped.push_back(path);
          continue;
        }
        target[n] = '\0';
        RETURN_IF_ERROR(Header(path, st, AE_IFLNK, 0, target));
      } else if (S_ISREG(st.st_mode)) {
        RETURN_IF_ERROR(AddFile(dir_fd, e.name, path));
      } else {
        summary_->skipped.push_back(path);
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Header(const std::string& path, const struct stat& st, unsigned type, int64_t size,
                      const char* link) {
    std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), path.c_str());
    archive_entry_set_filetype(entry.get(), type);
    archive_entry_set_perm(entry.get(), type == AE_IFLNK ? 0777 : (st.st_mode & 0777));
    archive_entry_set_size(entry.get(), size);
    archive_entry_set_mtime(entry.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    if (link != nullptr) archive_entry_set_symlink(entry.get(), link);
    if (archive_write_header(out_, entry.get()) != ARCHIVE_OK) {
      return ArchiveError(out_, fmt::format("cannot archive '{}'", path));
    }
    ++summary_->entries;
    return absl::OkStatus();
  }

  absl::Status AddFile(int dir_fd, const std::string& name, const std::string& path) {
    UniqueFd fd(openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd.ok()) {
      summary_->skipped.push_back(path);
      return absl::OkStatus();
    }
    struct stat st;
    if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<uint64_t>(st.st_size) > options_.max_file_bytes) {
      summary_->skipped.push_back(path);
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(Header(path, st, AE_IFREG, st.st_size, nullptr));
    // Exactly st_size bytes go in, whatever the file does meanwhile: the header said so.
    int64_t left = st.st_size;
    char buffer[65536];
    while (left > 0) {
      const ssize_t n = read(fd.get(), buffer, std::min<int64_t>(left, sizeof(buffer)));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // Shrunk under us: pad with zeros so the archive stays well-formed.
        std::fill(std::begin(buffer), std::end(buffer), 0);
        const int64_t pad = std::min<int64_t>(left, sizeof(buffer));
        if (archive_write_data(out_, buffer, static_cast<size_t>(pad)) < 0) {
          return ArchiveError(out_, fmt::format("cannot archive '{}'", path));
        }
        left -= pad;
        continue;
      }
      if (archive_write_data(out_, buffer, static_cast<size_t>(n)) < 0) {
        return ArchiveError(out_, fmt::format("cannot archive '{}'", path));
      }
      left -= n;
    }
    return absl::OkStatus();
  }

  archive* out_;
  const ArchiveOptions& options_;
  ArchiveSummary* summary_;
};

}  // namespace

absl::StatusOr<ArchiveSummary> WriteFolderArchive(int home_fd, const std::string& folder,
                                                  const std::string& out_path,
                                                  const ArchiveOptions& options) {
  ASSIGN_OR_RETURN(UniqueFd folder_fd, OpenDirAt(home_fd, folder));
  struct stat folder_st;
  if (fstat(folder_fd.get(), &folder_st) != 0) return ErrnoStatus(errno, "cannot stat", folder);

  // Unnamed until complete and 0600 (participants' work): a controller killed mid-write
  // leaves no temp file in the archive directory (common/files.h).
  ASSIGN_OR_RETURN(common::AtomicFile out, common::AtomicFile::Create(out_path, 0600));

  ArchiveSummary summary;
  {
    std::unique_ptr<archive, ArchiveWriteDeleter> a(archive_write_new());
    if (archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
        archive_write_open_fd(a.get(), out.fd()) != ARCHIVE_OK) {
      return ArchiveError(a.get(), "cannot start archive");
    }
    FolderArchiver archiver(a.get(), options, &summary);
    std::unique_ptr<archive_entry, EntryDeleter> top(archive_entry_new());
    archive_entry_set_pathname(top.get(), folder.c_str());
    archive_entry_set_filetype(top.get(), AE_IFDIR);
    archive_entry_set_perm(top.get(), folder_st.st_mode & 0777);
    archive_entry_set_mtime(top.get(), folder_st.st_mtim.tv_sec, folder_st.st_mtim.tv_nsec);
    if (archive_write_header(a.get(), top.get()) != ARCHIVE_OK) {
      return ArchiveError(a.get(), "cannot archive folder");
    }
    ++summary.entries;
    RETURN_IF_ERROR(archiver.AddDir(folder_fd.get(), folder, 0));
    if (archive_write_close(a.get()) != ARCHIVE_OK) {
      return ArchiveError(a.get(), "cannot finish archive");
    }
  }
  RETURN_IF_ERROR(out.Commit());
  return summary;
}

absl::StatusOr<std::vector<std::string>> ListArchive(const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<ArchivedEntry> entries, ReadArchive(path));
  std::vector<std::string> names;
  names.reserve(entries.size());
  for (ArchivedEntry& e : entries) names.push_back(std::move(e.name));
  return names;
}

absl::StatusOr<std::vector<ArchivedEntry>> ReadArchive(const std::string& path) {
  std::unique_ptr<archive, ArchiveReadDeleter> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_all(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 65536) != ARCHIVE_OK) {
    return ArchiveError(a.get(), fmt::format("cannot open archive '{}'", path));
  }
  std::vector<ArchivedEntry> entries;
  archive_entry* entry = nullptr;
  while (true) {
    const int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) return ArchiveError(a.get(), fmt::format("cannot read '{}'", path));
    ArchivedEntry e;
    e.name = archive_entry_pathname(entry);
    switch (archive_entry_filetype(entry)) {
      case AE_IFDIR:
        e.type = 'd';
        break;
      case AE_IFLNK:
        e.type = 'l';
        e.symlink = archive_entry_symlink(entry) ? archive_entry_symlink(entry) : "";
        break;
      default:
        e.type = 'f';
        char buffer[65536];
        while (true) {
          const la_ssize_t n = archive_read_data(a.get(), buffer, sizeof(buffer));
          if (n < 0) return ArchiveError(a.get(), fmt::format("cannot read '{}'", path));
          if (n == 0) break;
          e.data.append(buffer, static_cast<size_t>(n));
        }
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace wod::drivers::content
