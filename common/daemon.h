/* daemon.h - what both daemons do at start: options, config, signals */
#ifndef MUSTER_DAEMON_H
#define MUSTER_DAEMON_H

#include <signal.h>

#include "common/config.h"

/* Set by SIGTERM and SIGINT. */
extern volatile sig_atomic_t daemon_stop;

/* Parses the common options (-c/--config FILE, -s/--set KEY=VALUE,
 * -h/--help, -V/--version), loads the configuration and installs the
 * signal handlers. `usage` is printed before the settings on --help.
 * Returns -1 when the program should exit 0 (help, version), an exit code
 * above 0 on a usage or configuration error (message printed), or 0. */
int daemon_init(int argc, char **argv, const char *program, const char *usage,
                unsigned programs, config *cfg);

#endif
