// mer-run's exit codes: the phase it stopped in, one list for the command
// line, the sweep and its trial processes (docs/experiments.md#exit-codes).
#pragma once

namespace mer::exit_code {

constexpr int ok = 0;
constexpr int failed = 1;          // a node failed while running (or predict rated no file)
constexpr int invalid = 2;         // the input was refused before anything ran
constexpr int environment = 3;     // disk full, no permission, missing device
constexpr int internal = 70;       // a bug in mer: an exception nothing translated reached main (EX_SOFTWARE)
constexpr int interrupted = 130;   // a sweep stopped by Ctrl-C or SIGTERM (128 + SIGINT); finished trials kept

}  // namespace mer::exit_code
