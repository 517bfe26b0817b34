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

// Removes the temporaries interrupted write_file_atomic(path) calls left
// beside `path` (named path.tmp.PID.N); call it only while no other process
// writes `path` (a trainer owns its run folder). Returns how many it removed.
int remove_stale_temporaries(const std::string& path);

// Crash tests only. When set, write_file_atomic calls the hook twice per
// write: with stage 1 after the first half of the bytes is in the temporary,
// with stage 2 once the temporary is complete and synced, just before the
// rename. tools/crash_hooks.cpp installs one that kills the process there.
using WriteHook = void (*)(const std::string& path, int stage);
void set_write_hook(WriteHook hook);

}  // namespace retort
