// Whole-file reads and the one atomic-write helper every file retort writes
// goes through (checkpoints, configs, metrics, reports).
#pragma once
#include <string>
#include <string_view>

namespace retort {

// The file's bytes. Throws Error naming the path and the system's reason.
std::string read_file(const std::string& path);

// Replaces `path` with `bytes` so that a crash at any moment leaves either the
// old file or the new one, never a mix: writes a temporary file in the same
// directory, flushes and fsyncs it, renames it over `path`, then fsyncs the
// directory so the rename itself is durable. On failure the temporary is
// removed, `path` is untouched, and an Error names the path and the reason.
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace retort
