#include "tensor/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <system_error>

#include "tensor/error.h"

namespace retort {

namespace {

std::atomic<WriteHook> write_hook{nullptr};

std::string errno_text(int err) { return std::system_category().message(err); }

// Closes the descriptor on every path out of a function.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // Closes now and reports the error, which can carry a failed delayed write.
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

std::string directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Writes all bytes, resuming after short writes and signals; 0 or an errno.
int write_all(int fd, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<size_t>(n);
  }
  return 0;
}

// Creates a new file beside `path` that no other writer can be using.
int create_temporary(const std::string& path, std::string* temp_path) {
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    *temp_path = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    const int fd = ::open(temp_path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

// Makes the rename durable. Some file systems cannot sync a directory
// (EINVAL); the rename has happened by then, so that is not a failure.
void sync_directory(const std::string& path) {
  const std::string dir = directory_of(path);
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  RETORT_CHECK(fd.get() >= 0, "cannot open directory '" << dir << "' to sync the new '" << path
                                                           << "': " << errno_text(errno));
  if (::fsync(fd.get()) != 0 && errno != EINVAL && errno != ENOTSUP) {
    RETORT_FAIL("cannot sync directory '" << dir << "' after writing '" << path << "': " << errno_text(errno));
  }
}

}  // namespace

std::string read_file(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  RETORT_CHECK(fd.get() >= 0, "cannot open '" << path << "' for reading: " << errno_text(errno));
  struct stat st {};
  RETORT_CHECK(::fstat(fd.get(), &st) == 0, "cannot stat '" << path << "': " << errno_text(errno));
  std::string bytes;
  if (S_ISREG(st.st_mode)) bytes.reserve(static_cast<size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      RETORT_FAIL("cannot read '" << path << "': " << errno_text(errno));
    }
    if (n == 0) return bytes;
    bytes.append(buffer, static_cast<size_t>(n));
  }
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  std::string temp_path;
  FileDescriptor fd(create_temporary(path, &temp_path));
  RETORT_CHECK(fd.get() >= 0, "cannot write '" << path << "': creating the temporary '" << temp_path
                                               << "' failed: " << errno_text(errno));
  const auto fail_and_remove = [&](const char* step, int err) {
    ::unlink(temp_path.c_str());
    RETORT_FAIL("cannot write '" << path << "': " << step << " failed: " << errno_text(err));
  };
  // With a crash-test hook the bytes go in two halves around its first call.
  const WriteHook hook = write_hook.load();
  const size_t half = hook != nullptr ? bytes.size() / 2 : bytes.size();
  int err = write_all(fd.get(), bytes.substr(0, half));
  if (err == 0 && hook != nullptr) hook(path, 1);
  if (err == 0) err = write_all(fd.get(), bytes.substr(half));
  if (err != 0) {
    fd.close();
    fail_and_remove("writing the temporary", err);
  }
  if (::fsync(fd.get()) != 0) {
    const int err = errno;
    fd.close();
    fail_and_remove("fsync of the temporary", err);
  }
  if (const int err = fd.close()) fail_and_remove("closing the temporary", err);
  if (hook != nullptr) hook(path, 2);
  if (::rename(temp_path.c_str(), path.c_str()) != 0) fail_and_remove("renaming the temporary over it", errno);
  sync_directory(path);
}

int remove_stale_temporaries(const std::string& path) {
  const std::string dir = directory_of(path);
  const size_t slash = path.rfind('/');
  const std::string prefix = (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp.";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return 0;
  int removed = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.compare(0, prefix.size(), prefix) == 0 && ::unlink((dir + "/" + name).c_str()) == 0) ++removed;
  }
  ::closedir(d);
  return removed;
}

void set_write_hook(WriteHook hook) { write_hook.store(hook); }

}  // namespace retort
