// sandhive-envd: PID 1 of every sandbox. It serves the node over the socket
// on file descriptor 3 (or the one named by --fd) until the node closes it;
// then the kernel ends every process of the sandbox with it.

#include "runtime/envd/agent.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <csignal>

#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int fd = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--fd") == 0 && i + 1 < argc)
      fd = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("sandhive-envd %s\n", SBX_VERSION);
      return 0;
    }
  }
  // Ignored signals survive exec: a node started from a shell's background
  // job ignores SIGINT and SIGQUIT, and every process in the sandbox would
  // too (a PTY's Ctrl-C would do nothing). Start from the defaults.
  for (int s = 1; s < NSIG; ++s)
    if (s != SIGKILL && s != SIGSTOP)
      ::signal(s, SIG_DFL);
  // Outside a sandbox (tests), make sure no child outlives us.
  if (::getpid() != 1)
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  sbx::envd::agent a{fd};
  return a.run();
}
