/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig-core: start QEMU with a guest CPU every migration peer can give.
 *
 * What qemu-mig (wrapper/launcher.c) execs for all but a remembered
 * launch, with the same arguments.  main() is a straight line: parse,
 * resolve QEMU, probe, decide, rewrite, exec.  Only main() prints errors
 * and picks exit codes; every module reports through GError
 * (wrapper/error.h).
 */
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/entry.h"
#include "cache/fileid.h"
#include "cache/recall.h"
#include "wrapper/cli.h"
#include "wrapper/config.h"
#include "wrapper/decide.h"
#include "wrapper/error.h"
#include "wrapper/guestlist.h"
#include "wrapper/hosts.h"
#include "wrapper/interrupt.h"
#include "wrapper/launch.h"
#include "wrapper/migrate.h"
#include "wrapper/migreport.h"
#include "wrapper/report.h"
#include "wrapper/shquote.h"
#include "wrapper/start.h"

/**
 * fail() - print an error as one line on stderr and pick the exit status
 * @error: the error
 *
 * Return: exit status documented in qemu-mig(1)
 */
static int fail(const GError *error)
{
    g_autofree char *msg = g_strdup(error->message);

    /* One line, whatever a peer or library put in the message. */
    g_strdelimit(msg, "\r\n", ' ');
    fprintf(stderr, "qemu-mig: %s\n", msg);
    return qm_error_exit_code(error);
}

/**
 * print_stdout() - write a report to stdout and check it arrived
 * @text: text to print
 *
 * Return: 0, or 1 when stdout could not be written (e.g. a closed pipe)
 */
static int print_stdout(const char *text)
{
    if (fputs(text, stdout) == EOF || fflush(stdout) != 0) {
        fprintf(stderr, "qemu-mig: cannot write to stdout\n");
        return 1;
    }
    return 0;
}

/**
 * ssh_options() - the SSH part of the parsed options
 * @opts: parsed options
 *
 * Return: options borrowing @opts' strings
 */
static QmSshOptions ssh_options(const QmOptions *opts)
{
    QmSshOptions ssh = {
        .ssh_config = opts->ssh_config,
        .identity = opts->identity,
        .known_hosts = opts->known_hosts,
    };
    return ssh;
}

/**
 * print_warnings() - print warnings on stderr unless -q
 * @opts:     parsed options
 * @warnings: char * array
 */
static void print_warnings(const QmOptions *opts, GPtrArray *warnings)
{
    if (opts->quiet)
        return;
    for (guint i = 0; i < warnings->len; i++)
        fprintf(stderr, "qemu-mig: warning: %s\n",
                (char *)g_ptr_array_index(warnings, i));
}

/**
 * open_cache() - the cache the options ask for
 * @opts:  parsed options
 * @cache: where to store it (NULL with --no-cache)
 * @error: set when the cache directory is refused
 *
 * Return: TRUE on success
 */
static gboolean open_cache(const QmOptions *opts, QmCache **cache,
                           GError **error)
{
    *cache = NULL;
    if (!qm_start_user_known(opts, error))
        return FALSE;
    if (opts->no_cache)
        return TRUE;
    *cache = qm_cache_open(opts->cache_dir, error);
    return *cache != NULL;
}

/**
 * Probing - the progress line while hosts are awaited
 * @show: stderr is a terminal and -q was not given
 * @line: a line is on the terminal, to be erased
 */
typedef struct {
    gboolean show;
    gboolean line;
} Probing;

/**
 * show_probing() - QmHostsProgressFunc: once probing has taken a second,
 *                  one line on the terminal, rewritten in place
 * @done:    hosts done
 * @total:   hosts in all
 * @waiting: hosts still awaited
 * @elapsed: seconds so far
 * @data:    Probing
 */
static void show_probing(guint done, guint total, const char *const *waiting,
                         double elapsed, gpointer data)
{
    Probing *p = data;
    g_autofree char *text = NULL;

    if (!p->show || elapsed < 1.0)
        return;
    text = qm_report_probe_progress(done, total, waiting, elapsed);
    fprintf(stderr, "\r\033[K%s", text);
    p->line = TRUE;
}

/**
 * gather() - every host's profile, as the options ask
 * @opts:      parsed options
 * @qemu_path: local QEMU, or NULL to skip the local host
 * @peers:     NULL-terminated destinations
 * @cache:     cache, or NULL
 * @deadline:  g_get_monotonic_time() deadline
 * @trace:     where to say what the result depends on, or NULL
 * @local:     where to store the local profile
 * @remote:    where to store the peers' profiles
 * @error:     set on failure
 *
 * Return: TRUE on success
 */
static gboolean gather(const QmOptions *opts, const char *qemu_path,
                       char *const *peers, QmCache *cache, gint64 deadline,
                       QmHostsTrace *trace, QmProfile **local,
                       GPtrArray **remote, GError **error)
{
    QmSshOptions ssh = ssh_options(opts);
    g_autoptr(GPtrArray) remotes = g_ptr_array_new();
    QmHostsRequest request = {
        .qemu_path = qemu_path,
        .peers = peers,
        .ssh = &ssh,
        .remote_qemu = opts->remote_qemu,
        .cache = cache,
        .max_age_s = opts->max_age_s,
        .refresh = opts->refresh,
        .offline = opts->offline,
        .stale_ok = opts->stale_ok,
        .deadline = deadline,
        .trace = trace,
    };
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    Probing probing = {.show = isatty(STDERR_FILENO) && !opts->quiet};
    gboolean ok;

    /* each peer's own QEMU command ([host NAME] remote-qemu) */
    for (guint i = 0; peers != NULL && peers[i] != NULL; i++)
        g_ptr_array_add(remotes,
                        (char *)qm_options_remote_qemu(opts, peers[i]));
    request.remote_qemus = (const char *const *)remotes->pdata;
    request.progress = show_probing;
    request.progress_data = &probing;
    /* A signal now stops the probes cleanly, then takes us as usual */
    qm_interrupt_catch();
    ok = qm_hosts_gather(&request, local, remote, warnings, error);
    qm_interrupt_release();
    /* erased before anything else is said, and before QEMU runs */
    if (probing.line)
        fputs("\r\033[K", stderr);
    print_warnings(opts, warnings);
    return ok;
}

/**
 * run_probe() - `qemu-mig probe [DEST...]`: probe now, refresh the cache
 * @opts:     parsed options
 * @deadline: g_get_monotonic_time() deadline
 *
 * Return: exit status
 */
static int run_probe(QmOptions *opts, gint64 deadline)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(QmProfile) local = NULL;
    g_autoptr(GPtrArray) remote = NULL;
    g_autoptr(QmCache) cache = NULL;
    g_autofree char *qemu_path = NULL;
    g_autofree char *text = NULL;

    opts->refresh = !opts->offline;
    g_ptr_array_add(opts->dests, NULL);
    if (opts->dests->len == 1 &&
        !qm_launch_resolve(opts->qemu, &qemu_path, &error))
        return fail(error);
    if (!open_cache(opts, &cache, &error) ||
        !gather(opts, qemu_path, (char *const *)opts->dests->pdata, cache,
                deadline, NULL, &local, &remote, &error))
        return fail(error);
    if (local != NULL)
        g_ptr_array_insert(remote, 0, g_steal_pointer(&local));
    text = opts->json ? qm_report_profiles_json(remote)
                      : qm_report_profiles_text(remote);
    return print_stdout(text);
}

/**
 * cache_key() - the cache key of a destination, or of "local"
 * @opts:  parsed options
 * @dest:  destination, or "local"
 * @key:   where to store the key
 * @error: set on failure
 *
 * Return: TRUE on success
 */
static gboolean cache_key(const QmOptions *opts, const char *dest, char **key,
                          GError **error)
{
    QmSshOptions ssh = ssh_options(opts);
    g_autofree char *qemu_path = NULL;

    if (strcmp(dest, "local") != 0)
        return qm_hosts_peer_key(
            dest, &ssh, qm_options_remote_qemu(opts, dest), NULL,
            g_get_monotonic_time() + opts->timeout_ms * 1000, key, NULL, NULL,
            error);
    if (!qm_launch_resolve(opts->qemu, &qemu_path, error))
        return FALSE;
    *key = qm_cache_key_local(qemu_path);
    return TRUE;
}

/**
 * run_list() - qemu-mig list: the guests started here that still run
 * @opts: parsed options
 *
 * Return: exit status
 */
static int run_list(const QmOptions *opts)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) guests = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *text = NULL;
    guint removed = 0;

    if (!qm_guests_dir(opts->runtime_dir, &dir, &error) ||
        !qm_guestlist_list(dir, &guests, &removed, &error))
        return fail(error);
    if (removed > 0 && opts->verbose > 0)
        fprintf(stderr,
                "qemu-mig: removed %u record(s) of guests that are "
                "gone\n",
                removed);
    text = qm_guestlist_format(guests, opts->json);
    return print_stdout(text);
}

/**
 * Shown - what run_migrate() shows while it runs
 * @opts: parsed options
 * @tty:  stderr is a terminal: a progress line, rewritten in place
 * @line: a progress line is on the terminal, to be cleared
 * @last: g_get_monotonic_time() of the last progress shown
 */
typedef struct {
    const QmOptions *opts;
    gboolean tty;
    gboolean line;
    gint64 last;
} Shown;

/**
 * show_clear() - take the progress line off the terminal
 * @shown: what is shown
 */
static void show_clear(Shown *shown)
{
    if (shown->line)
        fputs("\r\033[K", stderr);
    shown->line = FALSE;
}

/**
 * show_progress() - QmMigrateProgressFunc: the progress line on a
 *                   terminal (a few times a second), --json events on
 *                   stdout (steps, and progress once a second)
 * @p:    a step, or how far the transfer is
 * @data: Shown
 */
static void show_progress(const QmMigrateProgress *p, gpointer data)
{
    Shown *shown = data;
    gint64 now = g_get_monotonic_time();
    gint64 every = shown->opts->json ? G_USEC_PER_SEC : G_USEC_PER_SEC / 4;

    if (p->step == NULL && now - shown->last < every)
        return;
    if (p->step == NULL)
        shown->last = now;
    if (shown->opts->json) {
        g_autofree char *text = qm_migreport_progress_json(p);

        /* a reader that went away must not stop the migration */
        fputs(text, stdout);
        fflush(stdout);
    } else if (shown->tty && !shown->opts->quiet) {
        g_autofree char *text = qm_migreport_progress_text(p, shown->opts->to);

        fprintf(stderr, "\r\033[K%s", text);
        shown->line = TRUE;
    }
}

/**
 * run_migrate() - qemu-mig migrate GUEST --to DEST
 * @opts: parsed options
 *
 * A signal cancels the migration cleanly (the guest runs on here), then
 * takes us as usual, after the error line.  With --json, stdout gets one
 * JSON event per line, the last one "completed" or "failed"; stderr gets
 * the same summary or error line as without.
 *
 * Return: exit status
 */
static int run_migrate(const QmOptions *opts)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(QmMigrateReport) report = NULL;
    g_autofree char *done = NULL;
    Shown shown = {.opts = opts, .tty = isatty(STDERR_FILENO)};
    gboolean ok;

    qm_interrupt_catch();
    ok = qm_migrate_run(opts, show_progress, &shown, &report, &error);
    show_clear(&shown);
    if (!ok) {
        int status = fail(error);

        if (opts->json) {
            g_autofree char *msg =
                g_strdelimit(g_strdup(error->message), "\r\n", ' ');
            g_autofree char *text = qm_migreport_failed_json(msg, status);

            print_stdout(text);
        }
        qm_interrupt_release();
        return status;
    }
    qm_interrupt_release();
    if (!opts->quiet) {
        for (guint i = 0; i < report->notes->len; i++)
            fprintf(stderr, "qemu-mig: %s\n",
                    (char *)g_ptr_array_index(report->notes, i));
    }
    done = qm_migreport_done_text(report, opts->to);
    fputs(done, stderr);
    if (opts->json) {
        g_autofree char *text = qm_migreport_done_json(report, opts->to);

        /* the guest moved: a closed stdout does not change the status */
        print_stdout(text);
    }
    return 0;
}

/**
 * remember() - remember a decision for the next identical launch
 * @opts:      parsed options
 * @cache:     cache
 * @inputs:    text from qm_recall_inputs()
 * @qemu_path: the local QEMU
 * @trace:     what the gathering depended on; the config files and
 *             qemu-mig's own binaries are added to it
 * @decision:  what was decided
 *
 * Not remembered is only slower next time: a failure says nothing.
 */
static void remember(const QmOptions *opts, QmCache *cache, const char *inputs,
                     const char *qemu_path, QmHostsTrace *trace,
                     const QmDecision *decision)
{
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *lines = NULL;
    QmRecall recall = {
        .qemu = (char *)qemu_path,
        .host = trace->host,
        .expires = trace->expires,
        .cpu = decision->cpu_value,
        .machine = decision->machine_value,
    };

    if (trace->host == NULL || trace->files == NULL)
        return;
    qm_config_files(opts->config, opts->no_config, trace->files);
    /* a rebuilt or upgraded qemu-mig may decide otherwise */
    qm_fileid_add_file(trace->files, self);
    qm_fileid_add_file(trace->files, qm_launch_launcher());
    lines = qm_fileid_lines(trace->files);
    recall.files = lines;
    qm_recall_store(cache, inputs, &recall, NULL);
}

/**
 * run_cache() - `qemu-mig cache list | show DEST | clear [DEST...]`
 * @opts: parsed options
 *
 * Return: exit status
 */
static int run_cache(const QmOptions *opts)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(QmCache) cache = NULL;
    g_autoptr(GPtrArray) entries = NULL;
    g_autoptr(GPtrArray) profiles = g_ptr_array_new();
    g_autofree char *text = NULL;

    if (qm_start_user_known(opts, &error))
        cache = qm_cache_open(opts->cache_dir, &error);
    if (cache == NULL)
        return fail(error);
    if (strcmp(opts->cache_action, "show") == 0) {
        g_autofree char *key = NULL;
        g_autoptr(QmCacheEntry) entry = NULL;

        if (!cache_key(opts, g_ptr_array_index(opts->dests, 0), &key, &error) ||
            !qm_cache_load(cache, key, &entry, &error))
            return fail(error);
        if (entry == NULL) {
            g_set_error(
                &error, QM_ERROR, QM_ERROR_CACHE, "%s: no cached profile in %s",
                (char *)g_ptr_array_index(opts->dests, 0), qm_cache_dir(cache));
            return fail(error);
        }
        g_ptr_array_add(profiles, entry->profile);
        text = opts->json ? qm_report_profiles_json(profiles)
                          : qm_report_profiles_text(profiles);
        return print_stdout(text);
    }

    qm_cache_list(cache, &entries, NULL);
    if (strcmp(opts->cache_action, "list") == 0) {
        text = qm_report_cache_list(qm_cache_dir(cache), entries);
        return print_stdout(text);
    }

    /* clear */
    if (opts->dests->len == 0) {
        for (guint i = 0; i < entries->len; i++) {
            QmCacheEntry *entry = g_ptr_array_index(entries, i);

            if (!qm_cache_remove(cache, entry->key, &error))
                return fail(error);
        }
        if (!qm_recall_forget_all(cache, &error))
            return fail(error);
        return 0;
    }
    for (guint i = 0; i < opts->dests->len; i++) {
        g_autofree char *key = NULL;

        if (!cache_key(opts, g_ptr_array_index(opts->dests, i), &key, &error) ||
            !qm_cache_remove(cache, key, &error))
            return fail(error);
    }
    return 0;
}

/**
 * for_peer() - look at the decision from a peer's side (--for DEST)
 * @dest:  the peer, as given to --peer
 * @local: the local profile; replaced by the peer's
 * @peers: peer profiles; the peer's is replaced by the local one
 * @error: set when @dest is not one of the peers
 *
 * Every rule is symmetric, so deciding with DEST as "local" gives the
 * command DEST must run for the same guest - byte-identical -cpu and
 * -machine values wherever the hosts' QEMUs know the same names.
 *
 * Return: TRUE on success
 */
static gboolean for_peer(const char *dest, QmProfile **local, GPtrArray *peers,
                         GError **error)
{
    for (guint i = 0; i < peers->len; i++) {
        QmProfile *p = g_ptr_array_index(peers, i);

        if (strcmp(p->name, dest) == 0) {
            peers->pdata[i] = *local;
            *local = p;
            return TRUE;
        }
    }
    g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                "--for %s: not one of the --peer hosts", dest);
    return FALSE;
}

/**
 * command_line() - the final command as one shell line
 * @opts:  parsed options
 * @final: argv, QEMU first
 *
 * With --for, the first word is --remote-qemu, which is shell text of its
 * own ("sudo /usr/libexec/qemu-kvm") and is written as is.
 *
 * Return: newly allocated line
 */
static char *command_line(const QmOptions *opts, GPtrArray *final)
{
    g_autofree char *rest = NULL;
    const char *remote;

    if (opts->for_dest == NULL)
        return qm_shquote_argv((char *const *) final->pdata);
    rest = qm_shquote_argv((char *const *) final->pdata + 1);
    remote = qm_options_remote_qemu(opts, opts->for_dest);

    return *rest ? g_strdup_printf("%s %s", remote, rest) : g_strdup(remote);
}

/**
 * main() - qemu-mig
 * @argc: argument count
 * @argv: arguments: qemu-mig's options, then QEMU's, untouched
 *
 * Return: exit status (only when not exec'ing QEMU)
 */
int main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(QmOptions) opts = NULL;
    g_autoptr(QmProfile) local = NULL;
    g_autoptr(GPtrArray) peers = NULL;
    g_autoptr(QmDecision) decision = NULL;
    g_auto(GStrv) qemu_argv = NULL;
    g_autofree char *qemu_path = NULL;
    g_autoptr(GPtrArray) final = g_ptr_array_new();
    struct sigaction old_pipe, ignore = {.sa_handler = SIG_IGN};
    g_autoptr(QmCache) cache = NULL;
    g_autoptr(QmGuest) registered = NULL;
    g_autofree char *qmp = NULL;
    QmStartPlan plan;
    g_autoptr(QmRecall) recalled = NULL;
    g_auto(QmHostsTrace) trace = {0};
    g_autofree char *inputs = NULL;
    const char *new_cpu, *new_machine;
    gint64 deadline;
    gboolean decided;

    /* Phase 0: whatever fds we were given belong to QEMU; the launcher
     * that exec'd us, if one did, is as much ourselves as we are. */
    qm_launch_record_inherited_fds();
    qm_launch_take_launcher();
    setlocale(LC_ALL, "");

    /* Phase 1: qemu-mig's own options; QEMU's words stay as they are. */
    if (!qm_cli_parse(argc, argv, &opts, &error))
        return fail(error);
    if (opts->command == QM_CMD_HELP)
        return print_stdout(qm_cli_usage());
    if (opts->command == QM_CMD_VERSION)
        return print_stdout(QM_CLI_VERSION_LINE);
    /* Phase 1b: the config file fills in what the command line left out */
    {
        QmConfig *config = NULL;

        if (!qm_config_load(opts->config, opts->no_config, &config, &error) ||
            !qm_config_apply(config, opts, &error))
            return fail(error);
    }
    deadline = g_get_monotonic_time() + opts->timeout_ms * 1000;

    /* A peer or probe QEMU closing its pipe early must be an error, not a
     * silent death; QEMU gets our caller's disposition back at exec. */
    sigaction(SIGPIPE, &ignore, &old_pipe);
    if (opts->command == QM_CMD_PROBE)
        return run_probe(opts, deadline);
    if (opts->command == QM_CMD_CACHE)
        return run_cache(opts);
    if (opts->command == QM_CMD_LIST)
        return run_list(opts);
    if (opts->command == QM_CMD_MIGRATE)
        return run_migrate(opts);

    /* Phase 2: the real QEMU (exit 127/126 before any network work). */
    if (!qm_launch_resolve(opts->qemu, &qemu_path, &error))
        return fail(error);

    /* Phase 3: probe every host, unless there is nothing to decide. */
    if (!qm_start_plan(opts, &plan, &error))
        return fail(error);
    if (!plan.decide_nothing) {
        g_ptr_array_add(opts->peers, NULL);
        if (!open_cache(opts, &cache, &error))
            return fail(error);
        /* the same launch as last time, nothing it came from changed:
         * the same decision, without a profile read */
        if (cache != NULL && qm_start_may_recall(opts)) {
            inputs = qm_recall_inputs(argc, argv);
            qm_recall_lookup(cache, inputs, qemu_path, &recalled);
        }
    }
    if (!plan.decide_nothing && recalled == NULL) {
        if (!gather(opts, qemu_path, (char *const *)opts->peers->pdata, cache,
                    deadline, inputs ? &trace : NULL, &local, &peers, &error))
            return fail(error);
        if (opts->for_dest != NULL &&
            !for_peer(opts->for_dest, &local, peers, &error))
            return fail(error);

        /* Phase 4: decide (pure) and rewrite (pure). */
        if (!qm_decide(plan.cpu_value, plan.machine_value, local, peers,
                       opts->allow_cross_vendor ? QM_DECIDE_ALLOW_CROSS_VENDOR
                                                : 0,
                       &decision, &error) ||
            !qm_decide_machine(decision, plan.machine_value, local, peers,
                               &error))
            return fail(error);
        if (inputs != NULL && trace.exact && decision->warnings->len == 0)
            remember(opts, cache, inputs, qemu_path, &trace, decision);
    }
    /* Nothing of the cache stays open into QEMU. */
    g_clear_pointer(&cache, qm_cache_free);
    new_cpu = recalled ? recalled->cpu : decision ? decision->cpu_value : NULL;
    new_machine = recalled   ? recalled->machine
                  : decision ? decision->machine_value
                             : NULL;
    decided = recalled != NULL || decision != NULL;
    /* Phase 5: a guest that is started for real is registered, so that
     * `list` (and a migration) find it again; not a command to print. */
    if (opts->command == QM_CMD_LAUNCH && !opts->dry_run && !plan.query &&
        !opts->no_register &&
        !qm_start_register(opts, qemu_path, new_cpu, new_machine, &registered,
                           &qmp, &error))
        return fail(error);
    qemu_argv = qm_start_argv(opts, &plan, new_cpu, new_machine, decided, qmp);

    g_ptr_array_add(final, opts->for_dest ? (char *)qm_options_remote_qemu(
                                                opts, opts->for_dest)
                                          : qemu_path);
    for (char **a = qemu_argv; *a; a++)
        g_ptr_array_add(final, *a);
    g_ptr_array_add(final, NULL);

    /* Phase 6: show, or become QEMU. */
    if (opts->command == QM_CMD_EXPLAIN) {
        g_autofree char *text = NULL;
        g_autofree char *line = command_line(opts, final);

        if (decision == NULL)
            text = qm_report_nothing(opts->json,
                                     opts->peers->len == 0
                                         ? "no --peer"
                                         : "QEMU only prints information",
                                     (char *const *) final->pdata);
        else if (opts->json)
            text = qm_report_explain_json(
                local, peers, plan.cpu_value, decision,
                (char *const *) final->pdata, line, opts->peer_group);
        else
            text = qm_report_explain_text(local, peers, plan.cpu_value,
                                          decision, line, opts->peer_group);
        return print_stdout(text);
    }
    if (decision != NULL)
        print_warnings(opts, decision->warnings);
    if (decision != NULL && opts->verbose > 0)
        fprintf(stderr,
                "qemu-mig: %u feature(s) hidden for %u peer(s); "
                "-cpu %s\n",
                decision->hidden->len, peers->len,
                decision->cpu_value
                    ? decision->cpu_value
                    : (plan.cpu_value ? plan.cpu_value : "(QEMU default)"));
    if (opts->dry_run) {
        g_autofree char *line = command_line(opts, final);
        g_autofree char *with_nl = g_strconcat(line, "\n", NULL);

        return print_stdout(with_nl);
    }

    sigaction(SIGPIPE, &old_pipe, NULL);
    qm_launch_exec(qemu_path, qemu_argv, &error);
    if (registered != NULL)
        qm_guests_unregister(registered);
    return fail(error);
}
