/* cli.h - the operator's command: subcommands and what they share */
#ifndef MUSTER_CLI_H
#define MUSTER_CLI_H

#include "common/config.h"
#include "state/store.h"

/* Exit codes every subcommand keeps to. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 3 };

typedef int (*cli_command_fn)(config *cfg, int argc, char **argv);

int cmd_up(config *cfg, int argc, char **argv);
int cmd_status(config *cfg, int argc, char **argv);
int cmd_incident(config *cfg, int argc, char **argv);
int cmd_wait(config *cfg, int argc, char **argv);
int cmd_gc(config *cfg, int argc, char **argv);
int cmd_send_alert(config *cfg, int argc, char **argv);
int cmd_validate(config *cfg, int argc, char **argv);
int cmd_config(config *cfg, int argc, char **argv);
int cmd_dead(config *cfg, int argc, char **argv);
int cmd_replay(config *cfg, int argc, char **argv);
int cmd_ack(config *cfg, int argc, char **argv);
int cmd_done(config *cfg, int argc, char **argv);
int cmd_report(config *cfg, int argc, char **argv);
int cmd_oncall(config *cfg, int argc, char **argv);
int cmd_resolve(config *cfg, int argc, char **argv);
int cmd_note(config *cfg, int argc, char **argv);
int cmd_audit(config *cfg, int argc, char **argv);
int cmd_token(config *cfg, int argc, char **argv);

/* Connects to Redis or prints why not. */
store *cli_store(const config *cfg);

/* The incident `ref` names: ref itself, or for "latest" the newest
 * incident's id, copied into buf. NULL (message printed) when there is none. */
const char *cli_incident(store *s, const char *ref, char *buf, size_t len);

/* True when argv holds `flag`. */
int cli_flag(int argc, char **argv, const char *flag);

/* The value after `flag` in argv, or NULL. */
const char *cli_option(int argc, char **argv, const char *flag);

#endif
