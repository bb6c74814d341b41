// The facts of the machine a bench ran on that explain its numbers, printed before them: a
// figure measured here is re-measured on busier machines of the same kind, and without these
// lines nobody can tell a regression from a slower disk or a busy core.
//   machine: cores=2 load=0.42/0.61/0.80 fsync_4k=1.91ms fstatat=1.12us
// fsync_4k: median time to write and fsync 4 KiB in `dir` (what each store commit and each
// account-file rewrite pays); fstatat: median cost of one lstat of a file in `dir` (what a
// no-op pass pays per file it checks).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace wod::bench {

inline double MedianOf(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median ms to write 4 KiB to a new file in `dir` and fsync it.
inline double FsyncMs(const std::string& dir) {
  const std::string path = dir + "/.wod-bench-fsync";
  std::vector<double> samples;
  const std::string block(4096, 'x');
  for (int i = 0; i < 7; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    const bool ok = write(fd, block.data(), block.size()) == static_cast<ssize_t>(block.size()) &&
                    fsync(fd) == 0;
    close(fd);
    if (!ok) return -1;
    samples.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  unlink(path.c_str());
  return MedianOf(samples);
}

// Median µs of one fstatat(AT_SYMLINK_NOFOLLOW) of an existing file in `dir`.
inline double FstatatUs(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  std::vector<double> samples;
  struct stat st;
  for (int round = 0; round < 9; ++round) {
    constexpr int kCalls = 2000;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls; ++i) fstatat(fd, ".", &st, AT_SYMLINK_NOFOLLOW);
    samples.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count() /
        kCalls);
  }
  close(fd);
  return MedianOf(samples);
}

inline std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  if (!(in >> a >> b >> c)) return "?";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f/%.2f/%.2f", a, b, c);
  return buf;
}

// Prints the machine line for a bench whose files live in `dir`.
inline void PrintMachineFacts(const std::string& dir) {
  std::printf("machine: cores=%u load=%s fsync_4k=%.2fms fstatat=%.2fus\n",
              std::thread::hardware_concurrency(), LoadAverage().c_str(), FsyncMs(dir),
              FstatatUs(dir));
  std::fflush(stdout);
}

}  // namespace wod::bench
