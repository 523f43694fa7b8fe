// The file I/O of node keys, kept apart from the pure encoding in node_key.cpp.

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <borderflow/link/node_key.h>

namespace borderflow {

namespace {

constexpr size_t kMaxKeyFileBytes = 16 * 1024;

Error WriteFailed(const std::string& path, std::string_view what) {
  return Error(ErrorKind::kInternal, "key_file_write_failed",
               fmt::format("cannot write key file '{}': {}: {}", path, what, std::strerror(errno)));
}

// Closes the descriptor on every path out of a function.
struct FileDescriptor {
  int fd = -1;
  ~FileDescriptor() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

Result<NodeKey> ReadKeyFile(const std::string& path) {
  FileDescriptor file{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) {
    if (errno == ENOENT) {
      return Error(ErrorKind::kNotFound, "key_file_not_found",
                   fmt::format("no key file '{}'", path));
    }
    return Error(ErrorKind::kInternal, "key_file_unreadable",
                 fmt::format("cannot open key file '{}': {}", path, std::strerror(errno)));
  }
  struct stat st;
  if (fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return Error(ErrorKind::kInternal, "key_file_unreadable",
                 fmt::format("'{}' is not a regular file", path));
  }
  if ((st.st_mode & 077) != 0) {
    return Error(ErrorKind::kPermissionDenied, "key_file_permissions",
                 fmt::format("key file '{}' is accessible by group or others (mode {:o}); "
                             "run chmod 600 on it",
                             path, st.st_mode & 0777));
  }
  std::string text(kMaxKeyFileBytes + 1, '\0');
  size_t size = 0;
  while (size < text.size()) {
    ssize_t n = read(file.fd, text.data() + size, text.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Error(ErrorKind::kInternal, "key_file_unreadable",
                   fmt::format("cannot read key file '{}': {}", path, std::strerror(errno)));
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  text.resize(size);
  auto key = DecodeKeyFile(text);
  sodium_memzero(text.data(), text.size());
  if (!key) {
    Error e = key.error();
    e.message = fmt::format("{}: {}", path, e.message);
    return e;
  }
  return key;
}

Status WriteKeyFile(const std::string& path, const NodeKey& key, bool overwrite) {
  std::error_code ignored;  // an unreadable path fails below, when the file is created
  if (!overwrite && std::filesystem::exists(std::filesystem::symlink_status(path, ignored))) {
    return Error(ErrorKind::kConflict, "key_file_exists",
                 fmt::format("key file '{}' exists; refusing to overwrite it", path));
  }
  // mkstemp creates the file with mode 0600 whatever the umask, so the secret is never readable
  // by others, not even for a moment.
  std::string tmp = path + ".tmp-XXXXXX";
  FileDescriptor file{mkstemp(tmp.data())};
  if (file.fd < 0) return WriteFailed(path, "cannot create a temporary file");
  auto fail = [&](std::string_view what) {
    Error e = WriteFailed(path, what);
    unlink(tmp.c_str());
    return e;
  };
  if (fchmod(file.fd, 0600) != 0) return fail("chmod");
  std::string text = EncodeKeyFile(key);
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = write(file.fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      sodium_memzero(text.data(), text.size());
      return fail("write");
    }
    written += static_cast<size_t>(n);
  }
  sodium_memzero(text.data(), text.size());
  if (fsync(file.fd) != 0) return fail("fsync");
  if (overwrite) {
    if (rename(tmp.c_str(), path.c_str()) != 0) return fail("rename");
  } else {
    // link() fails if the path appeared since the check above: an existing key is never lost.
    if (link(tmp.c_str(), path.c_str()) != 0) {
      if (errno == EEXIST) {
        unlink(tmp.c_str());
        return Error(ErrorKind::kConflict, "key_file_exists",
                     fmt::format("key file '{}' exists; refusing to overwrite it", path));
      }
      return fail("link");
    }
    unlink(tmp.c_str());
  }
  return {};
}

}  // namespace borderflow
