// atomic_file.hpp — every file attnscope writes (PNG, npy, JSON, traces, SVG, video, settings) goes through here:
// the bytes go to a temporary file in the target's folder, are flushed to disk, and the temporary file is renamed
// over the target. A reader (or a crash, or kill -9) sees the old file or the new one, never half of one, and a
// failed write leaves no partial file behind. Errors name the path, the reason and what to do.
//
// A target that exists and is not a regular file (/dev/stdout, /dev/full, a FIFO) is written in place: renaming
// over a device would replace it. Write errors there are still reported.
#pragma once
#include <cstdio>
#include <string>
#include <string_view>

namespace attnscope {

// "cannot write 'out.png': the disk is full (No space left on device); free some space or choose another
// folder". Empty when ok.
struct FileWriteResult {
  bool ok = false;
  std::string error;
};

// The whole file at once.
FileWriteResult write_file_atomically(const std::string& path, std::string_view bytes);

// For writers that produce a file piece by piece (video encoders, large arrays):
//   AtomicFile f;  if (!f.open(path)) ...;  f.write(...) ...;  FileWriteResult r = f.commit();
// Destroying an AtomicFile that was not committed removes its temporary file (cancel keeps nothing half-written).
class AtomicFile {
 public:
  AtomicFile() = default;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  FileWriteResult open(const std::string& path);
  // False after the first failure; the error is kept and returned by commit().
  bool write(std::string_view bytes);
  bool write(const void* data, std::size_t size) { return write(std::string_view(static_cast<const char*>(data), size)); }
  // Flushes, syncs and renames into place (or closes, for a device). After a failure the temporary file is removed.
  FileWriteResult commit();
  // Drops the temporary file; the target keeps its previous contents.
  void discard();

  const std::string& temp_path() const { return temp_path_; }  // "" when writing in place
  std::size_t bytes_written() const { return written_; }

 private:
  void fail(const char* what, int err);

  std::string path_, temp_path_;
  int fd_ = -1;
  bool in_place_ = false;
  std::size_t written_ = 0;
  std::string error_;
};

// ".NAME.tmp-PID-K" beside `path`: where a writer that cannot use AtomicFile (a library that opens the file
// itself, such as libavformat) writes before renaming into place.
std::string temporary_path_for(const std::string& path);

// The reason for an errno value in the words a user acts on ("the disk is full ...; free some space or choose
// another folder").
std::string describe_write_error(int err, const std::string& path);

// True when both paths name the same existing file (an output that would overwrite an input is refused).
bool same_existing_file(const std::string& a, const std::string& b);

}  // namespace attnscope
