// test_atomic_file.cpp — outputs are replaced whole or not at all; write errors name the reason; kill -9 leaves
// the old or the new file, never a torn one.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/common/test_util.hpp"
#include "core/atomic_file.hpp"

using namespace attnscope;
using attnscope::test::entries;
using attnscope::test::fresh_dir;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("atomic write: creates, replaces, leaves no temporary file") {
  const fs::path dir = fresh_dir("atomic_basic");
  const std::string path = (dir / "out.json").string();
  FileWriteResult r = write_file_atomically(path, "first");
  CHECK(r.ok);
  CHECK(read_all(path) == "first");
  r = write_file_atomically(path, std::string(100000, 'x'));
  CHECK(r.ok);
  CHECK(read_all(path) == std::string(100000, 'x'));
  CHECK(entries(dir) == 1);
  CHECK(same_existing_file(path, (dir / "." / "out.json").string()));
  CHECK_FALSE(same_existing_file(path, (dir / "other").string()));
  fs::remove_all(dir);
}

TEST_CASE("atomic write: errors name the path and the reason, and nothing is left behind") {
  const fs::path dir = fresh_dir("atomic_errors");
  FileWriteResult r = write_file_atomically((dir / "no" / "such" / "x.png").string(), "data");
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("x.png") != std::string::npos);
  CHECK(r.error.find("does not exist") != std::string::npos);
  r = write_file_atomically(dir.string(), "data");
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("is a folder") != std::string::npos);
  CHECK(write_file_atomically("", "x").error == "no output path given");
  if (fs::exists("/dev/full")) {  // a device: written in place, and its "disk full" answer reported
    r = write_file_atomically("/dev/full", "data");
    CHECK_FALSE(r.ok);
    CHECK(r.error.find("the disk is full") != std::string::npos);
    CHECK(fs::is_character_file("/dev/full"));
  } else {
    MESSAGE("no /dev/full here: the disk-full case is checked only by the file-size limit below");
  }
  CHECK(entries(dir) == 0);
  fs::remove_all(dir);
}

TEST_CASE("atomic write: a file-size limit fails the write and keeps the old file") {
  const fs::path dir = fresh_dir("atomic_fsize");
  const std::string path = (dir / "big.npy").string();
  REQUIRE(write_file_atomically(path, "old contents").ok);
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 4096) {
    MESSAGE("the hard file-size limit is already below 4 KiB; skipping");
    return;
  }
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of the signal
  rlimit small = saved;
  small.rlim_cur = 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  FileWriteResult r = write_file_atomically(path, std::string(100000, 'y'));
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("size limit") != std::string::npos);
  CHECK(r.error.find("nothing was written") != std::string::npos);
  CHECK(read_all(path) == "old contents");
  CHECK(entries(dir) == 1);
  fs::remove_all(dir);
}

TEST_CASE("atomic write: a writer dropped before commit keeps the target as it was") {
  const fs::path dir = fresh_dir("atomic_discard");
  const std::string path = (dir / "video.mp4").string();
  REQUIRE(write_file_atomically(path, "previous").ok);
  {
    AtomicFile f;
    REQUIRE(f.open(path).ok);
    CHECK(f.write("partial frames"));
    CHECK(fs::exists(f.temp_path()));
    CHECK(f.bytes_written() == 14);
  }
  CHECK(read_all(path) == "previous");
  CHECK(entries(dir) == 1);
  fs::remove_all(dir);
}

TEST_CASE("atomic write: kill -9 during repeated writes leaves a whole old or new file") {
  const fs::path dir = fresh_dir("atomic_kill");
  const std::string path = (dir / "settings.json").string();
  // Version k is 200 KiB of the letter 'a' + k % 26, then "#end": a torn file would mix letters or lack the end.
  auto version = [](int k) { return std::string(200 * 1024, static_cast<char>('a' + k % 26)) + "#end"; };
  REQUIRE(write_file_atomically(path, version(0)).ok);
  for (int attempt = 0; attempt < 5; ++attempt) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      for (int k = 1;; ++k) write_file_atomically(path, version(k));
    }
    ::usleep(20000 + 7000 * attempt);
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    const std::string text = read_all(path);
    REQUIRE(text.size() == 200 * 1024 + 4);
    CHECK(text.substr(text.size() - 4) == "#end");
    CHECK(text.find_first_not_of(text[0]) == 200 * 1024);
  }
  fs::remove_all(dir);
}
