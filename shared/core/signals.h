// Process signal handling for the daemons: SIGPIPE ignored, SIGTERM/SIGINT/SIGHUP blocked in every
// thread (call BlockTerminationSignals() before starting any thread) and awaited by main.
#pragma once

namespace cjd {

void BlockTerminationSignals();
// Blocks until SIGTERM, SIGINT or SIGHUP arrives; returns the signal number.
int WaitForTerminationSignal();

}  // namespace cjd
