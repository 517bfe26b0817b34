#include "data/paths.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <system_error>

#include "tensor/error.h"

namespace retort {
namespace data {

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

int64_t file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_size);
}

void require_directory(const std::string& path, const std::string& kind) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    RETORT_FAIL(kind << ": directory " << path << " does not exist (" << std::system_category().message(errno) << ")");
  }
  RETORT_CHECK(S_ISDIR(st.st_mode), kind << ": " << path << " is not a directory");
}

DirectoryListing list_directory(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  RETORT_CHECK(d != nullptr, "cannot list directory " << dir << ": " << std::system_category().message(errno));
  DirectoryListing out;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    bool dir_entry = false;
    if (e->d_type == DT_DIR) {
      dir_entry = true;
    } else if (e->d_type == DT_LNK || e->d_type == DT_UNKNOWN) {
      dir_entry = is_directory(dir + "/" + name);  // follow links; some file systems give no type
    }
    (dir_entry ? out.directories : out.files).push_back(name);
  }
  ::closedir(d);
  std::sort(out.directories.begin(), out.directories.end());
  std::sort(out.files.begin(), out.files.end());
  return out;
}

std::string extension_lower(const std::string& name) {
  const size_t dot = name.rfind('.');
  const size_t slash = name.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = name.substr(dot);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

}  // namespace data
}  // namespace retort
