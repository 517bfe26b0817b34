// Small file-system queries the readers share. None of them throws except
// require_directory, whose Error names the path and the data set kind.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace retort {
namespace data {

bool is_file(const std::string& path);       // a regular file (after symlinks)
bool is_directory(const std::string& path);  // a directory (after symlinks)
// Size in bytes, or -1 when the path cannot be stat'ed.
int64_t file_size(const std::string& path);

// Throws "KIND: directory PATH does not exist" (or "is not a directory").
void require_directory(const std::string& path, const std::string& kind);

// Names of the entries of `dir` (not "." or ".."), sorted bytewise, split
// into subdirectories and other entries. Throws naming `dir` when unreadable.
struct DirectoryListing {
  std::vector<std::string> directories;
  std::vector<std::string> files;
};
DirectoryListing list_directory(const std::string& dir);

// Lower-cased extension with its dot: "a/b.JPG" -> ".jpg"; "" when none.
std::string extension_lower(const std::string& name);

}  // namespace data
}  // namespace retort
