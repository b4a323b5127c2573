/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: qemu-mig's own command line (never QEMU's).
 */
#pragma once

#include <glib.h>

/* What --version prints (the launcher answers it too, without parsing) */
#define QM_CLI_VERSION_LINE "qemu-mig " QM_VERSION "\n"

typedef enum {
    QM_CMD_LAUNCH,
    QM_CMD_EXPLAIN,
    QM_CMD_PROBE,
    QM_CMD_CACHE,
    QM_CMD_LIST,
    QM_CMD_MIGRATE,
    QM_CMD_HELP,
    QM_CMD_VERSION,
} QmCommand;

/**
 * QmOptions - qemu-mig's parsed options
 * @command:      what to do
 * @peers:        destinations from --peer (char *), in order, no duplicates
 * @dests:        probe's positional destinations (char *)
 * @qemu:         --qemu PATH, or NULL for qemu-system-x86_64 from PATH
 * @remote_qemu:  --remote-qemu CMD (default "qemu-system-x86_64")
 * @ssh_config:   --ssh-config FILE, or NULL
 * @identity:     --identity FILE, or NULL
 * @known_hosts:  --known-hosts FILE, or NULL
 * @dry_run:      --dry-run
 * @json:         --json (explain, probe)
 * @allow_cross_vendor: --allow-cross-vendor
 * @verbose:      number of -v
 * @quiet:        -q
 * @timeout_ms:   --timeout, in milliseconds
 * @cache_dir:    --cache-dir DIR, or NULL for the default
 * @no_cache:     --no-cache
 * @max_age_s:    --max-age, in seconds
 * @refresh:      --refresh
 * @offline:      --offline
 * @stale_ok:     --on-unreachable=stale (the default) rather than fail
 * @cache_action: cache command: "list", "show" or "clear"
 * @for_dest:     --for DEST: print the command for that peer instead
 * @runtime_dir:  --runtime-dir DIR, or NULL for the default
 * @no_register:  --no-register: start the guest without a record
 * @to:           migrate --to DEST
 * @qmp:          migrate --qmp SOCKET: a guest not started by qemu-mig
 * @guest:        migrate's GUEST (name or PID), or NULL with --qmp
 * @keep_source:  migrate --keep-source: leave the source paused
 * @force:        migrate --force: go on despite vCPU differences
 * @migrate_timeout_s: migrate --migrate-timeout, 0 for none
 * @remote_runtime_dir: migrate --remote-runtime-dir DIR on the destination
 * @migrate_address:    migrate --migrate-address ADDR
 * @bandwidth:    migrate --bandwidth, bytes per second (0: QEMU's own)
 * @downtime_ms:  migrate --downtime (0: QEMU's own)
 * @auto_converge: migrate --auto-converge
 * @tunnel:       migrate --tunnel: the stream through SSH
 * @config:       --config FILE, or NULL for the default places
 * @no_config:    --no-config: read no config file
 * @given:        names of the options given on the command line (they
 *                win over the environment and the config file)
 * @config_file:  the config file read (config.c), or NULL
 * @peer_group:   destination -> the @group it came from, for explain
 * @dropin:       run as qemu-system-x86_64: every argument is QEMU's
 * @qemu_argc:    number of QEMU arguments
 * @qemu_argv:    QEMU arguments (borrowed from main()'s argv, untouched)
 */
typedef struct {
    QmCommand command;
    GPtrArray *peers;
    GPtrArray *dests;
    char *qemu;
    char *remote_qemu;
    char *ssh_config;
    char *identity;
    char *known_hosts;
    gboolean dry_run;
    gboolean json;
    gboolean allow_cross_vendor;
    int verbose;
    gboolean quiet;
    gint64 timeout_ms;
    char *cache_dir;
    gboolean no_cache;
    gint64 max_age_s;
    gboolean refresh;
    gboolean offline;
    gboolean stale_ok;
    char *cache_action;
    char *for_dest;
    char *runtime_dir;
    gboolean no_register;
    char *to;
    char *qmp;
    char *guest;
    gboolean keep_source;
    gboolean force;
    gint64 migrate_timeout_s;
    char *remote_runtime_dir;
    char *migrate_address;
    gint64 bandwidth;
    gint64 downtime_ms;
    gboolean auto_converge;
    gboolean tunnel;
    char *config;
    gboolean no_config;
    GHashTable *given;
    struct QmConfig *config_file;
    GHashTable *peer_group;
    gboolean dropin;
    int qemu_argc;
    char **qemu_argv;
} QmOptions;

#define QM_DEFAULT_TIMEOUT_MS  10000
#define QM_DEFAULT_REMOTE_QEMU "qemu-system-x86_64"
#define QM_DEFAULT_MAX_AGE_S   (24 * 3600)

void qm_options_free(QmOptions *options);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmOptions, qm_options_free)

gboolean qm_cli_parse(int argc, char **argv, QmOptions **options,
                      GError **error);
gboolean qm_cli_set(QmOptions *options, const char *name, const char *value,
                    GError **error);
QmOptions *qm_options_new(void);
const char *qm_cli_usage(void);
