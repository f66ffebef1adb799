// atomic_file.cpp — temporary file + fsync + rename (POSIX), with errors in the user's words.
#include "core/atomic_file.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace attnscope {
namespace {

std::string folder_of(const std::string& path) {
  const std::filesystem::path p(path);
  const std::filesystem::path parent = p.parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

}  // namespace

std::string temporary_path_for(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  const std::filesystem::path p(path);
  std::string name(".");  // appended piece by piece: GCC 12 warns falsely on "." + std::string
  name += p.filename().string();
  name += ".tmp-";
  name += std::to_string(::getpid());
  name += '-';
  name += std::to_string(counter.fetch_add(1));
  return (p.parent_path() / name).string();
}

std::string describe_write_error(int err, const std::string& path) {
  const std::string system = std::strerror(err);
  const std::string folder = folder_of(path);
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return "the disk is full (" + system + "); free some space or choose another folder";
    case EFBIG:
      return "the file would pass the size limit for files (" + system + "; see `ulimit -f`); choose a smaller "
             "output or raise the limit";
    case EACCES:
    case EPERM:
      return "no permission to write there (" + system + "); choose a folder you can write to";
    case EROFS:
      return "the folder '" + folder + "' is on a read-only file system; choose another folder";
    case ENOENT:
      return "the folder '" + folder + "' does not exist; create it or choose another";
    case ENOTDIR:
      return "a part of the path is not a folder (" + system + ")";
    case EISDIR:
      return "the path is a folder; give a file name";
    case ENAMETOOLONG:
      return "the path is too long (" + system + ")";
    case EIO:
      return "the device reported an input/output error (" + system + ")";
    default:
      return system;
  }
}

bool same_existing_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec) && !ec;
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::fail(const char* what, int err) {
  if (error_.empty()) error_ = std::string("cannot ") + what + " '" + path_ + "': " + describe_write_error(err, path_);
}

FileWriteResult AtomicFile::open(const std::string& path) {
  discard();
  path_ = path;
  error_.clear();
  written_ = 0;
  in_place_ = false;
  if (path.empty()) return {false, "no output path given"};
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {false, "cannot write '" + path + "': " + describe_write_error(EISDIR, path)};
    in_place_ = !S_ISREG(st.st_mode);  // a device or FIFO: write through it, never rename over it
  }
  if (in_place_) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  } else {
    temp_path_ = temporary_path_for(path);
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  }
  if (fd_ < 0) {
    const int err = errno;
    temp_path_.clear();
    fail("write", err);
    return {false, error_};
  }
  return {true, ""};
}

bool AtomicFile::write(std::string_view bytes) {
  if (fd_ < 0 || !error_.empty()) {
    if (error_.empty()) error_ = "cannot write '" + path_ + "': the file is not open";
    return false;
  }
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write", errno);
      return false;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
    written_ += static_cast<std::size_t>(n);
  }
  return true;
}

FileWriteResult AtomicFile::commit() {
  if (fd_ < 0 && error_.empty()) error_ = "cannot write '" + path_ + "': the file is not open";
  if (fd_ >= 0 && error_.empty() && !in_place_ && ::fsync(fd_) != 0) fail("write", errno);
  if (fd_ >= 0) {
    if (::close(fd_) != 0) fail("write", errno);  // NFS and quotas report late errors here
    fd_ = -1;
  }
  if (error_.empty() && !in_place_ && ::rename(temp_path_.c_str(), path_.c_str()) != 0) fail("replace", errno);
  if (!error_.empty()) {
    if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
    temp_path_.clear();
    return {false, error_ + (in_place_ ? "" : "; nothing was written")};
  }
  temp_path_.clear();
  if (!in_place_) {  // make the rename itself durable, so a power cut after success keeps the new file
    const int dir = ::open(folder_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }
  return {true, ""};
}

void AtomicFile::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
  temp_path_.clear();
}

FileWriteResult write_file_atomically(const std::string& path, std::string_view bytes) {
  AtomicFile file;
  if (FileWriteResult r = file.open(path); !r.ok) return r;
  file.write(bytes);
  return file.commit();
}

}  // namespace attnscope
