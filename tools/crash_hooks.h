// Test-only crash hooks: environment variables that make the binary kill
// itself with SIGKILL at a chosen moment, so tests/tools/test_cli.cpp can check
// that a run killed anywhere resumes to the uninterrupted result. Unset, they
// cost one branch per call.
//   RETORT_KILL_AFTER_EPOCH=N  once epoch N is on disk
//   RETORT_KILL_AFTER_STEP=N   after the N-th training step of this process
//   RETORT_KILL_IN_WRITE=N     inside the N-th call of write_file_atomic's test
//                              hook in this process; it is called twice per
//                              file: odd N kills with half of the temporary
//                              written, even N with it complete, before the rename
#pragma once

namespace retort {
namespace tools {

// Reads the variables; installs the write hook when RETORT_KILL_IN_WRITE is set.
void install_crash_hooks();
void crash_hook_after_step();
void crash_hook_after_epoch(int epoch);

}  // namespace tools
}  // namespace retort
