// The take-home copy of a workshop folder: a .tar.gz written with libarchive, read from the home
// fd-relative without following symlinks (a symlink is stored as a symlink entry, its target is
// never read), written atomically into an operator's directory: unnamed until complete, so a
// writer killed mid-way leaves nothing (common::AtomicFile), and mode 0600.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace wod::drivers::content {

struct ArchiveOptions {
  // Files larger than this are left out (and listed): a participant's folder may hold anything.
  size_t max_file_bytes = 64u << 20;
};

struct ArchiveSummary {
  int entries = 0;
  std::vector<std::string> skipped;  // relative to the home: too large, or not a file/dir/link
};

// Archives home_fd/folder (entries named "FOLDER/...") into `out_path`.
[[nodiscard]] absl::StatusOr<ArchiveSummary> WriteFolderArchive(int home_fd,
                                                                const std::string& folder,
                                                                const std::string& out_path,
                                                                const ArchiveOptions& options);

struct ArchivedEntry {
  std::string name;     // directories end with '/'
  char type = 'f';      // 'f' file, 'd' directory, 'l' symlink
  std::string symlink;  // target, for 'l'
  std::string data;     // contents, for 'f'
};

// The entry names of a .tar.gz, in archive order (for tests and checks).
[[nodiscard]] absl::StatusOr<std::vector<std::string>> ListArchive(const std::string& path);
// Every entry with its type and contents.
[[nodiscard]] absl::StatusOr<std::vector<ArchivedEntry>> ReadArchive(const std::string& path);

}  // namespace wod::drivers::content
