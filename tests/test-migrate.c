/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig migrate tests: real live migrations between two real QEMUs on
 * this machine, with the guest CPU qemu-mig decided.
 *
 * There is one CPU here, so peer B is "this machine minus a few CPU
 * features" (the stand-in test-kvm.c uses): a loopback sshd whose fake
 * QEMU replays the real local probe transcript with those features turned
 * off.  Source A is started by qemu-mig for real.  Destination B' runs the
 * command `qemu-mig --dry-run --for B` prints for B, with the real local
 * QEMU in place of B's --remote-qemu (B's real QEMU *is* the local one).
 * A then migrates to B' over loopback TCP, and QMP on both sides - and,
 * in the guest tests, the running guest's own CPUID - tells whether the
 * guest CPU stayed the same.  Negative controls show what happens without
 * qemu-mig.
 *
 * Skipped, with the reason, where /dev/kvm, QEMU or sshd is unusable; the
 * guest tests also without binutils, and the guest-side check of hidden
 * features where the hypervisor does not apply QEMU's CPUID to guests.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "sshd.h"
#include "kvmutil.h"
#include "qmrun.h"
#include "testutil.h"
#include "wrapper/qmp.h"

/*
 * Bounds: a 128 MiB guest migrates in well under a second here; the test
 * guest's first report can take seconds on a nested host.
 */
#define START_TIMEOUT_US   (30 * G_USEC_PER_SEC)
#define MIGRATE_TIMEOUT_US (60 * G_USEC_PER_SEC)
#define BOOT_TIMEOUT_US    (60 * G_USEC_PER_SEC)
#define QMP_IO_TIMEOUT_S   30
#define POLL_US            (20 * 1000)

/* Peer B's ssh_config alias, as given to --peer and --for */
#define PEER "B"

static char *skip_reason;
static char *qemu;
/* "host", or "host,arch-capabilities=off" where the QEMU 7.2 quirk bites */
static const char *cpu_host = "host";

/* vCPU properties that must be equal on both sides of a migration */
static const char *const cpu_props[] = {
    "feature-words", "family", "model", "stepping", "model-id", "phys-bits",
};

/**
 * quick_guest() - start a paused q35 guest with a -cpu value, then quit
 * @cpu: -cpu value
 * @err: where to store QEMU's stderr
 *
 * Return: TRUE when the vCPU came up (query-status answered)
 */
static gboolean quick_guest(const char *cpu, char **err)
{
    const char *argv[] = {
        qemu, "-machine",    "q35,accel=kvm", "-cpu", cpu,    "-m",    "16",
        "-S", "-nodefaults", "-display",      "none", "-qmp", "stdio", NULL};
    g_autofree char *out = NULL;

    qm_kvm_spawn_capture(argv,
                         "{\"execute\":\"qmp_capabilities\"}\n"
                         "{\"execute\":\"query-status\",\"id\":\"status\"}\n"
                         "{\"execute\":\"quit\"}\n",
                         &out, err);
    return strstr(out, "\"id\": \"status\"") != NULL;
}

/**
 * kvm_usable() - can this machine run real guests, and with which -cpu?
 * @reason: where to store why not
 *
 * Also sets cpu_host: QEMU 7.2 on some nested AMD hosts cannot start a
 * vCPU with plain -cpu host ("failed to set MSR 0x10a"); there, and only
 * with that exact message, every guest here gets arch-capabilities=off.
 *
 * Return: TRUE when /dev/kvm opens and QEMU starts a KVM guest
 */
static gboolean kvm_usable(char **reason)
{
    g_autofree char *err = NULL;

    qemu = qm_kvm_find_qemu(reason);
    if (qemu == NULL)
        return FALSE;
    if (quick_guest(cpu_host, &err))
        return TRUE;
    if (strstr(err, "MSR 0x10a") == NULL) {
        *reason =
            g_strdup_printf("QEMU cannot start a KVM guest here: %s", err);
        return FALSE;
    }
    *strchrnul(err, '\n') = '\0';
    g_test_message("QEMU 7.2 quirk (%s): guests use arch-capabilities=off",
                   err);
    cpu_host = "host,arch-capabilities=off";
    g_clear_pointer(&err, g_free);
    if (!quick_guest(cpu_host, &err)) {
        *reason =
            g_strdup_printf("QEMU cannot start a KVM guest here: %s", err);
        return FALSE;
    }
    return TRUE;
}

/**
 * skip_unless_usable() - skip the test when KVM, QEMU or sshd is missing
 *
 * Return: TRUE when the test can run
 */
static gboolean skip_unless_usable(void)
{
    g_autofree char *sshd_reason = NULL;

    if (skip_reason) {
        g_test_skip(skip_reason);
        return FALSE;
    }
    if (!qm_test_sshd_available(&sshd_reason)) {
        g_test_skip(sshd_reason);
        return FALSE;
    }
    return TRUE;
}

/* ---- peer B: this machine minus a few features ---- */

/**
 * Peer - peer B as qemu-mig sees it
 * @sshd:   its loopback sshd
 * @remote: --remote-qemu text: the fake QEMU replaying B's CPU
 * @hidden: features B lacks (names from qm_kvm_bits[], static)
 */
typedef struct {
    QmTestSshd *sshd;
    char *remote;
    GPtrArray *hidden;
} Peer;

/**
 * peer_free() - stop B's sshd and free the Peer
 * @peer: peer, or NULL
 */
static void peer_free(Peer *peer)
{
    if (peer == NULL)
        return;
    qm_test_sshd_stop(peer->sshd);
    g_free(peer->remote);
    g_ptr_array_unref(peer->hidden);
    g_free(peer);
}

/**
 * peer_start() - peer B: a loopback sshd playing this host minus features
 *
 * The capture is the real local probe transcript with up to three of
 * qm_kvm_bits[] that this host provides turned off in the host model.  The fake
 * also claims the local QEMU version, physical address width and TSC
 * frequency: B stands for a host whose CPU is this one minus features,
 * whose real QEMU is the local one.
 *
 * Return: the peer; freed by the test framework when the test ends
 */
static Peer *peer_start(void)
{
    g_autoptr(GPtrArray) docs = qm_kvm_local_transcript(qemu);
    Peer *peer = g_new0(Peer, 1);
    JsonObject *version = json_object_get_object_member(
        json_object_get_object_member(qm_kvm_reply_by_id(docs, "version"),
                                      "return"),
        "qemu");
    g_autofree char *capture = NULL;
    g_autofree char *machines =
        g_build_filename(qm_test_tmpdir(), "machines.json", NULL);
    g_autofree char *q_fake = g_shell_quote(qm_test_env("QM_FAKE_QEMU"));
    g_autofree char *q_capture = NULL;
    g_autofree char *q_machines = g_shell_quote(machines);

    peer->hidden = g_ptr_array_new();
    capture = qm_kvm_write_restricted_capture(docs, peer->hidden);
    q_capture = g_shell_quote(capture);

    peer->sshd = qm_test_sshd_start(PEER);
    peer->remote = g_strdup_printf(
        "%s --replay %s --machines %s --phys-bits %" G_GINT64_FORMAT
        " --tsc-hz %" G_GINT64_FORMAT " --qemu-version %" G_GINT64_FORMAT
        ".%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT,
        q_fake, q_capture, q_machines,
        json_object_get_int_member(qm_kvm_reply_by_id(docs, "phys-bits"),
                                   "return"),
        json_object_get_int_member(qm_kvm_reply_by_id(docs, "tsc-frequency"),
                                   "return"),
        json_object_get_int_member(version, "major"),
        json_object_get_int_member(version, "minor"),
        json_object_get_int_member(version, "micro"));
    g_test_queue_destroy((GDestroyNotify)peer_free, peer);
    return peer;
}

/* ---- argument vectors ---- */

/**
 * argv_new() - an empty NULL-terminated argument vector
 *
 * Return: array owning its strings; pdata is always NULL-terminated
 */
static GPtrArray *argv_new(void)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

    g_ptr_array_add(argv, NULL);
    return argv;
}

/**
 * argv_add() - append words to an argument vector
 * @argv:  from argv_new()
 * @first: first word; further words follow, then NULL
 */
static void G_GNUC_NULL_TERMINATED argv_add(GPtrArray *argv, const char *first,
                                            ...)
{
    va_list ap;

    va_start(ap, first);
    for (const char *w = first; w != NULL; w = va_arg(ap, const char *))
        g_ptr_array_insert(argv, argv->len - 1, g_strdup(w));
    va_end(ap);
}

/**
 * argv_append() - append another NULL-terminated vector
 * @argv:  from argv_new()
 * @words: words to copy
 */
static void argv_append(GPtrArray *argv, char *const *words)
{
    for (; *words; words++)
        g_ptr_array_insert(argv, argv->len - 1, g_strdup(*words));
}

/**
 * guest_args() - QEMU arguments of a test guest
 * @qmp:      QMP socket path
 * @cpu:      -cpu value
 * @incoming: -incoming value, or NULL
 * @extra:    further arguments (NULL-terminated), or NULL
 *
 * Return: new argument vector (without the QEMU binary)
 */
static GPtrArray *guest_args(const char *qmp, const char *cpu,
                             const char *incoming, char *const *extra)
{
    GPtrArray *argv = argv_new();
    g_autofree char *qmp_value =
        g_strdup_printf("unix:%s,server=on,wait=off", qmp);

    argv_add(argv, "-machine", "q35", "-accel", "kvm", "-m", "128",
             "-nodefaults", "-display", "none", "-qmp", qmp_value, "-cpu", cpu,
             NULL);
    if (extra != NULL)
        argv_append(argv, extra);
    if (incoming != NULL)
        argv_add(argv, "-incoming", incoming, NULL);
    return argv;
}

/**
 * qm_args() - a qemu-mig command line around QEMU arguments
 * @peer:     peer B
 * @dry_run:  add --dry-run
 * @for_dest: --for value, or NULL
 * @qemu_args: QEMU arguments
 *
 * Every invocation for one guest gets the same qemu-mig options, as a
 * user would give them on each host.
 *
 * Return: new argument vector, qemu-mig first
 */
static GPtrArray *qm_args(const Peer *peer, gboolean dry_run,
                          const char *for_dest, GPtrArray *qemu_args)
{
    GPtrArray *argv = argv_new();

    argv_add(argv, qm_test_env("QM_BINARY"), "--peer", PEER, "--ssh-config",
             peer->sshd->ssh_config, "--remote-qemu", peer->remote, "--timeout",
             "60", NULL);
    if (dry_run)
        argv_add(argv, "--dry-run", NULL);
    if (for_dest != NULL)
        argv_add(argv, "--for", for_dest, NULL);
    argv_add(argv, "--", NULL);
    argv_append(argv, (char *const *)qemu_args->pdata);
    return argv;
}

/**
 * dry_run() - what qemu-mig --dry-run prints, as an argument vector
 * @peer:      peer B
 * @for_dest:  --for value, or NULL for the local command
 * @qemu_args: QEMU arguments
 *
 * With --for, the line starts with B's --remote-qemu text, which is shell
 * text of its own (here "FAKE --replay ... --qemu-version X.Y.Z", several
 * words): it must be there verbatim, and it is replaced by the real local
 * QEMU.  B stands in for a host whose CPU is this one minus features, and
 * its real QEMU is the local one; the fake only plays B's CPU to probes.
 *
 * Return: new NULL-terminated vector, the QEMU binary first
 */
static GStrv dry_run(const Peer *peer, const char *for_dest,
                     GPtrArray *qemu_args)
{
    g_autoptr(GPtrArray) argv = qm_args(peer, TRUE, for_dest, qemu_args);
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) result = argv_new();
    g_auto(GStrv) words = NULL;
    const char *rest;

    g_assert_cmpint(
        qm_kvm_spawn_capture((const char *const *)argv->pdata, "", &out, &err),
        ==, 0);
    /* exactly one line */
    g_assert_true(strchr(out, '\n') == out + strlen(out) - 1);
    out[strlen(out) - 1] = '\0';
    g_test_message("dry-run%s%s: %s", for_dest ? " --for " : "",
                   for_dest ? for_dest : "", out);
    if (for_dest != NULL) {
        g_assert_true(g_str_has_prefix(out, peer->remote));
        g_assert_cmpint(out[strlen(peer->remote)], ==, ' ');
        rest = out + strlen(peer->remote) + 1;
        argv_add(result, qemu, NULL);
    } else {
        rest = out;
    }
    g_shell_parse_argv(rest, NULL, &words, &error);
    g_assert_no_error(error);
    argv_append(result, words);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&result), FALSE);
}

/**
 * last_value() - the value of the last occurrence of an option
 * @argv: NULL-terminated QEMU argv
 * @opt:  e.g. "-cpu"
 *
 * Return: borrowed value, or NULL
 */
static const char *last_value(char *const *argv, const char *opt)
{
    const char *value = NULL;

    for (guint i = 0; argv[i] && argv[i + 1]; i++) {
        if (strcmp(argv[i], opt) == 0)
            value = argv[i + 1];
    }
    return value;
}

/**
 * assert_only_cpu_machine_changed() - qemu-mig rewrote -cpu/-machine only
 * @given: QEMU arguments given to qemu-mig
 * @final: resulting command, QEMU binary first
 */
static void assert_only_cpu_machine_changed(GPtrArray *given,
                                            char *const *final)
{
    /* the QEMU binary, then as many words as were given */
    g_assert_cmpuint(g_strv_length((GStrv) final), ==, 1 + (given->len - 1));
    for (guint i = 0; i + 1 < given->len; i++) {
        const char *before = g_ptr_array_index(given, i);

        if (i > 0 && (strcmp(g_ptr_array_index(given, i - 1), "-cpu") == 0 ||
                      strcmp(g_ptr_array_index(given, i - 1), "-machine") == 0))
            continue;
        g_assert_cmpstr(final[i + 1], ==, before);
    }
}

/* ---- guests ---- */

/**
 * Vm - one QEMU process started by the test
 * @name: short name for messages ("A", "B'", ...)
 * @pid:  the process (qemu-mig until it execs QEMU), 0 once reaped
 * @log:  file holding its stdout and stderr
 * @qmp:  QMP socket path
 * @conn: QMP connection, or NULL
 * @in:   reader on @conn
 */
typedef struct {
    char *name;
    GPid pid;
    char *log;
    char *qmp;
    GSocketConnection *conn;
    GDataInputStream *in;
} Vm;

/**
 * vm_stop() - kill a test QEMU and reap it; idempotent
 * @vm: the guest
 */
static void vm_stop(Vm *vm)
{
    if (vm->in != NULL)
        g_clear_object(&vm->in);
    if (vm->conn != NULL) {
        g_io_stream_close(G_IO_STREAM(vm->conn), NULL, NULL);
        g_clear_object(&vm->conn);
    }
    if (vm->pid > 0) {
        kill(vm->pid, SIGKILL);
        while (waitpid(vm->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        vm->pid = 0;
    }
}

/**
 * vm_free() - stop and free a Vm
 * @vm: the guest
 */
static void vm_free(Vm *vm)
{
    vm_stop(vm);
    g_free(vm->name);
    g_free(vm->log);
    g_free(vm->qmp);
    g_free(vm);
}

/**
 * vm_child_setup() - GSpawnChildSetupFunc: QEMU dies with the test
 * @data: PID of the test process, as a pointer
 *
 * A failed assertion aborts the test without running cleanups; the death
 * signal survives qemu-mig's execv() of QEMU, so no guest outlives it.
 */
static void vm_child_setup(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != (pid_t)GPOINTER_TO_INT(data))
        _exit(1);
}

/**
 * vm_start() - start a guest in the background, not waiting for it
 * @name: short name
 * @argv: full command, program first
 * @qmp:  its QMP socket path
 *
 * Return: the guest; stopped and freed by the test framework at the end of
 * the test, whatever the outcome
 */
static Vm *vm_start(const char *name, char *const *argv, const char *qmp)
{
    Vm *vm = g_new0(Vm, 1);
    g_autoptr(GError) error = NULL;
    g_autofree char *line = g_strjoinv(" ", (GStrv)argv);
    int fd;

    vm->name = g_strdup(name);
    vm->qmp = g_strdup(qmp);
    vm->log = g_strdup_printf("%s.log", qmp);
    fd = open(vm->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_test_message("%s: starting %s", name, line);
    g_spawn_async_with_fds(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                           vm_child_setup, GINT_TO_POINTER(getpid()), &vm->pid,
                           -1, fd, fd, &error);
    close(fd);
    g_assert_no_error(error);
    g_test_queue_destroy((GDestroyNotify)vm_free, vm);
    return vm;
}

/**
 * vm_output() - what a guest's process printed so far
 * @vm: the guest
 *
 * Return: newly allocated text
 */
static char *vm_output(Vm *vm)
{
    char *text = NULL;

    if (!g_file_get_contents(vm->log, &text, NULL, NULL))
        text = g_strdup("");
    return text;
}

/**
 * vm_exited() - has a guest's process ended?  Reaps it if so.
 * @vm: the guest
 *
 * Return: TRUE when it is gone
 */
static gboolean vm_exited(Vm *vm)
{
    int status;

    if (vm->pid <= 0)
        return TRUE;
    if (waitpid(vm->pid, &status, WNOHANG) != vm->pid)
        return FALSE;
    g_test_message("%s: exited, wait status %d", vm->name, status);
    vm->pid = 0;
    return TRUE;
}

/**
 * qmp_read() - read QMP lines up to the next reply (events skipped)
 * @vm:    connected guest
 * @error: set on EOF, timeout or bad JSON
 *
 * Return: the reply object's node, or NULL
 */
static JsonNode *qmp_read(Vm *vm, GError **error)
{
    for (;;) {
        g_autofree char *line =
            g_data_input_stream_read_line_utf8(vm->in, NULL, NULL, error);
        g_autoptr(JsonParser) parser = json_parser_new();
        JsonObject *obj;

        if (line == NULL) {
            if (error && *error == NULL)
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                            "%s: QMP connection closed", vm->name);
            return NULL;
        }
        if (!json_parser_load_from_data(parser, line, -1, error))
            return NULL;
        obj = json_node_get_object(json_parser_get_root(parser));
        if (json_object_has_member(obj, "event"))
            continue;
        return json_node_ref(json_parser_get_root(parser));
    }
}

/**
 * qmp_call() - send one QMP command and wait for its reply
 * @vm:    connected guest
 * @error: set on I/O failure
 * @fmt:   printf format of the command's JSON
 * @...:   arguments
 *
 * Return: the reply ({"return": ...} or {"error": ...}), or NULL
 */
static JsonNode *G_GNUC_PRINTF(3, 4)
    qmp_call(Vm *vm, GError **error, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *cmd = NULL;
    g_autofree char *line = NULL;
    GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(vm->conn));

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    line = g_strconcat(cmd, "\n", NULL);
    if (!g_output_stream_write_all(out, line, strlen(line), NULL, NULL, error))
        return NULL;
    return qmp_read(vm, error);
}

/**
 * qmp_ok() - a QMP command that must succeed
 * @vm:  connected guest
 * @cmd: the command's JSON
 *
 * Return: a copy of the "return" member
 */
static JsonNode *qmp_ok(Vm *vm, const char *cmd)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) reply = qmp_call(vm, &error, "%s", cmd);
    JsonObject *obj;

    g_assert_no_error(error);
    obj = json_node_get_object(reply);
    if (!json_object_has_member(obj, "return")) {
        g_autofree char *text = json_to_string(reply, FALSE);

        g_error("%s: %s failed: %s", vm->name, cmd, text);
    }
    return json_node_copy(json_object_get_member(obj, "return"));
}

/**
 * vm_connect() - connect to a guest's QMP socket and negotiate
 * @vm:       the guest
 * @deadline: g_get_monotonic_time() limit
 *
 * Waits for the socket, the greeting and capabilities.  Aborts the test,
 * with the guest's output, when the guest dies or the deadline passes.
 */
static void vm_connect(Vm *vm, gint64 deadline)
{
    g_autoptr(GSocketClient) client = g_socket_client_new();
    g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(vm->qmp);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) greeting = NULL;
    g_autoptr(JsonNode) caps = NULL;

    g_socket_client_set_timeout(client, QMP_IO_TIMEOUT_S);
    while (vm->conn == NULL) {
        g_autofree char *output = NULL;

        g_clear_error(&error);
        vm->conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr),
                                           NULL, &error);
        if (vm->conn != NULL)
            break;
        if (vm_exited(vm) || g_get_monotonic_time() > deadline) {
            output = vm_output(vm);
            g_error("%s: no QMP at %s (%s); its output: %s", vm->name, vm->qmp,
                    error->message, output);
        }
        g_usleep(POLL_US);
    }
    vm->in = g_data_input_stream_new(
        g_io_stream_get_input_stream(G_IO_STREAM(vm->conn)));
    g_data_input_stream_set_newline_type(vm->in,
                                         G_DATA_STREAM_NEWLINE_TYPE_ANY);
    greeting = qmp_read(vm, &error);
    if (greeting == NULL ||
        !json_object_has_member(json_node_get_object(greeting), "QMP")) {
        g_autofree char *output = NULL;

        /* QEMU listens before creating the vCPU, which may still fail */
        while (!vm_exited(vm) && g_get_monotonic_time() < deadline)
            g_usleep(POLL_US);
        output = vm_output(vm);
        g_error("%s: no QMP greeting (%s); its output: %s", vm->name,
                error ? error->message : "not QMP", output);
    }
    caps = qmp_ok(vm, "{\"execute\": \"qmp_capabilities\"}");
}

/**
 * vm_status() - query-status
 * @vm:      connected guest
 * @running: where to store "running", or NULL
 *
 * Return: newly allocated status
 */
static char *vm_status(Vm *vm, gboolean *running)
{
    g_autoptr(JsonNode) ret = qmp_ok(vm, "{\"execute\": \"query-status\"}");
    JsonObject *obj = json_node_get_object(ret);

    if (running != NULL)
        *running = json_object_get_boolean_member(obj, "running");
    return g_strdup(json_object_get_string_member(obj, "status"));
}

/**
 * cpu_facts() - a guest's vCPU as QOM shows it
 * @vm: connected guest
 *
 * Return: object holding cpu_props[] and filtered-features of vCPU 0
 */
static JsonObject *cpu_facts(Vm *vm)
{
    g_autoptr(JsonNode) cpus = qmp_ok(vm, "{\"execute\": \"query-cpus-fast\"}");
    const char *path = json_object_get_string_member(
        json_array_get_object_element(json_node_get_array(cpus), 0),
        "qom-path");
    JsonObject *facts = json_object_new();

    for (gsize i = 0; i <= G_N_ELEMENTS(cpu_props); i++) {
        const char *prop =
            i < G_N_ELEMENTS(cpu_props) ? cpu_props[i] : "filtered-features";
        g_autofree char *cmd = g_strdup_printf(
            "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"%s\", "
            "\"property\": \"%s\"}}",
            path, prop);

        json_object_set_member(facts, prop, qmp_ok(vm, cmd));
    }
    return facts;
}

/**
 * facts_bit() - is a qm_kvm_bits[] feature set in a guest's feature-words?
 * @facts: from cpu_facts()
 * @name:  feature from qm_kvm_bits[]
 *
 * Return: TRUE if set
 */
static gboolean facts_bit(JsonObject *facts, const char *name)
{
    return qm_kvm_feature_bit(
        json_object_get_array_member(facts, "feature-words"), name);
}

/**
 * word_diff() - every bit in which two guests' feature-words differ
 * @a: from cpu_facts()
 * @b: from cpu_facts()
 *
 * Return: one "leaf/subleaf REG bit N (name)" string per differing bit
 */
static GPtrArray *word_diff(JsonObject *a, JsonObject *b)
{
    JsonArray *wa = json_object_get_array_member(a, "feature-words");
    JsonArray *wb = json_object_get_array_member(b, "feature-words");
    GPtrArray *diff = g_ptr_array_new_with_free_func(g_free);

    g_assert_cmpuint(json_array_get_length(wa), ==, json_array_get_length(wb));
    for (guint i = 0; i < json_array_get_length(wa); i++) {
        JsonObject *w = json_array_get_object_element(wa, i);
        gint64 eax = json_object_get_int_member(w, "cpuid-input-eax");
        gint64 ecx =
            json_object_get_int_member_with_default(w, "cpuid-input-ecx", 0);
        const char *reg = json_object_get_string_member(w, "cpuid-register");
        gboolean found;
        guint64 x = (guint64)json_object_get_int_member(w, "features") ^
                    qm_kvm_word_of(wb, eax, ecx, reg, &found);

        g_assert_true(found);
        for (int bit = 0; bit < 64; bit++) {
            const char *name = "?";

            if (!((x >> bit) & 1))
                continue;
            for (gsize k = 0; k < qm_kvm_n_bits; k++) {
                if (qm_kvm_bits[k].eax == eax && qm_kvm_bits[k].ecx == ecx &&
                    strcmp(qm_kvm_bits[k].reg, reg) == 0 &&
                    qm_kvm_bits[k].bit == bit)
                    name = qm_kvm_bits[k].name;
            }
            g_ptr_array_add(diff, g_strdup_printf("0x%" G_GINT64_MODIFIER
                                                  "x/%" G_GINT64_FORMAT
                                                  " %s bit %d (%s)",
                                                  eax, ecx, reg, bit, name));
        }
    }
    return diff;
}

/**
 * assert_no_filtered() - QEMU dropped nothing it was asked for
 * @facts: from cpu_facts()
 */
static void assert_no_filtered(JsonObject *facts)
{
    JsonArray *words = json_object_get_array_member(facts, "filtered-features");

    for (guint k = 0; k < json_array_get_length(words); k++)
        g_assert_cmpint(
            json_object_get_int_member(json_array_get_object_element(words, k),
                                       "features"),
            ==, 0);
}

/**
 * free_port() - a loopback TCP port nobody listens on right now
 *
 * Return: port number
 */
static int free_port(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&addr, &len), ==, 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/**
 * migrate() - migrate @src to @dst's -incoming port and wait for the end
 * @src:   connected source guest
 * @dst:   connected destination guest (listening on @port)
 * @port:  loopback TCP port
 * @error: set when migration failed or did not finish in time
 *
 * Return: wall-clock time from the migrate command to "completed", in µs
 */
static gint64 migrate(Vm *src, Vm *dst, int port, GError **error)
{
    g_autofree char *cmd =
        g_strdup_printf("{\"execute\": \"migrate\", \"arguments\": "
                        "{\"uri\": \"tcp:127.0.0.1:%d\"}}",
                        port);
    gint64 start = g_get_monotonic_time();
    gint64 deadline = start + MIGRATE_TIMEOUT_US;
    g_autoptr(JsonNode) done = qmp_ok(src, cmd);

    for (;;) {
        g_autoptr(JsonNode) info =
            qmp_ok(src, "{\"execute\": \"query-migrate\"}");
        JsonObject *obj = json_node_get_object(info);
        const char *status =
            json_object_get_string_member_with_default(obj, "status", "none");
        gint64 now = g_get_monotonic_time();

        if (strcmp(status, "completed") == 0) {
            g_autofree char *text = json_to_string(info, FALSE);

            g_test_message(
                "%s -> %s: migration completed in %.1f ms "
                "(QEMU: total-time %" G_GINT64_FORMAT
                " ms, downtime %" G_GINT64_FORMAT " ms)",
                src->name, dst->name, (now - start) / 1000.0,
                json_object_get_int_member_with_default(obj, "total-time", -1),
                json_object_get_int_member_with_default(obj, "downtime", -1));
            g_test_message("query-migrate: %s", text);
            break;
        }
        if (strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0 ||
            now > deadline) {
            g_autofree char *output = vm_output(dst);

            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                        "%s -> %s: migration %s (%s); %s says: %s", src->name,
                        dst->name, now > deadline ? "timed out" : status,
                        json_object_get_string_member_with_default(
                            obj, "error-desc", ""),
                        dst->name, output);
            return -1;
        }
        g_usleep(POLL_US);
    }

    /* the destination finishes loading just after the source says so */
    for (;;) {
        g_autofree char *status = vm_status(dst, NULL);

        if (strcmp(status, "inmigrate") != 0)
            break;
        if (g_get_monotonic_time() > deadline) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                        "%s: still inmigrate", dst->name);
            return -1;
        }
        g_usleep(POLL_US);
    }
    return g_get_monotonic_time() - start;
}

/**
 * qmp_path() - a QMP socket path in the scratch directory
 * @name: base name
 *
 * Return: newly allocated path
 */
static char *qmp_path(const char *name)
{
    g_autofree char *base = g_strdup_printf("%s.qmp", name);

    return g_build_filename(qm_test_tmpdir(), base, NULL);
}

/**
 * log_facts() - print a guest's vCPU facts into the test log
 * @vm:    the guest
 * @facts: from cpu_facts()
 */
static void log_facts(Vm *vm, JsonObject *facts)
{
    for (gsize i = 0; i < G_N_ELEMENTS(cpu_props); i++) {
        g_autofree char *text =
            json_to_string(json_object_get_member(facts, cpu_props[i]), FALSE);

        if (strcmp(cpu_props[i], "feature-words") != 0)
            g_test_message("%s: %s = %s", vm->name, cpu_props[i], text);
    }
}

/* ---- the tests ---- */

/**
 * test_live() - qemu-mig starts A, B runs what --for B prints; A migrates
 * to B and the guest keeps one CPU
 *
 * Proves: A really runs the --dry-run command; A's and B's -cpu and
 * -machine values are byte-identical and everything else is passed
 * through; a real migration completes; B resumes the guest; every vCPU
 * property a guest can see is identical on both sides, and what B lacks
 * is absent on both.
 */
static void test_live(void)
{
    Peer *peer;
    g_autofree char *qmp_a = NULL, *qmp_b = NULL, *incoming = NULL;
    g_autofree char *proc = NULL, *cmdline = NULL;
    g_autofree char *status_a = NULL, *status_b = NULL;
    g_autoptr(GPtrArray) args_a = NULL, args_b = NULL, launch = NULL;
    g_auto(GStrv) final_a = NULL, final_b = NULL;
    g_autoptr(JsonObject) facts_a = NULL, facts_b = NULL;
    g_autoptr(JsonNode) cont = NULL;
    g_autoptr(GError) error = NULL;
    gboolean running;
    gsize len;
    gint64 took;
    Vm *a, *b;
    int port;

    if (!skip_unless_usable())
        return;
    peer = peer_start();
    qmp_a = qmp_path("live-a");
    qmp_b = qmp_path("live-b");
    port = free_port();
    incoming = g_strdup_printf("tcp:127.0.0.1:%d", port);
    {
        char *extra[] = {"-S", NULL};

        args_a = guest_args(qmp_a, cpu_host, NULL, extra);
        args_b = guest_args(qmp_b, cpu_host, incoming, extra);
    }

    /* The commands: A's as qemu-mig runs it, B's as --for B prints it. */
    final_a = dry_run(peer, NULL, args_a);
    final_b = dry_run(peer, PEER, args_b);
    g_assert_cmpstr(final_a[0], ==, qemu);
    assert_only_cpu_machine_changed(args_a, final_a);
    assert_only_cpu_machine_changed(args_b, final_b);
    g_assert_nonnull(last_value(final_a, "-cpu"));
    g_assert_cmpstr(last_value(final_a, "-cpu"), ==,
                    last_value(final_b, "-cpu"));
    g_assert_cmpstr(last_value(final_a, "-machine"), ==,
                    last_value(final_b, "-machine"));
    /* "q35" means a version: pinned, the same on both */
    g_assert_true(g_str_has_prefix(last_value(final_a, "-machine"), "pc-q35-"));
    for (guint h = 0; h < peer->hidden->len; h++) {
        g_autofree char *off = g_strdup_printf(
            ",%s=off", (char *)g_ptr_array_index(peer->hidden, h));

        g_assert_nonnull(strstr(last_value(final_a, "-cpu"), off));
    }
    g_test_message("-cpu %s -machine %s on both hosts",
                   last_value(final_a, "-cpu"),
                   last_value(final_a, "-machine"));

    /* A: qemu-mig for real, in the background; it becomes QEMU. */
    launch = qm_args(peer, FALSE, NULL, args_a);
    a = vm_start("A", (char *const *)launch->pdata, qmp_a);
    vm_connect(a, g_get_monotonic_time() + START_TIMEOUT_US);
    proc = g_strdup_printf("/proc/%d/cmdline", a->pid);
    g_assert_true(g_file_get_contents(proc, &cmdline, &len, NULL));
    {
        /* /proc/PID/cmdline: the words, each NUL-terminated */
        g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func(g_free);

        for (gsize off = 0; off < len; off += strlen(cmdline + off) + 1)
            g_ptr_array_add(words, g_strdup(cmdline + off));
        /* and the monitor the launch registers the guest by */
        g_free(qm_run_take_registration(words));
        g_assert_cmpuint(words->len, ==, g_strv_length(final_a));
        for (guint i = 0; final_a[i]; i++)
            g_assert_cmpstr(g_ptr_array_index(words, i), ==, final_a[i]);
    }

    /* B': B's command, on this machine. */
    b = vm_start("B'", final_b, qmp_b);
    vm_connect(b, g_get_monotonic_time() + START_TIMEOUT_US);

    took = migrate(a, b, port, &error);
    g_assert_no_error(error);
    g_test_message("measured migration time: %.1f ms", took / 1000.0);

    status_a = vm_status(a, &running);
    g_assert_cmpstr(status_a, ==, "postmigrate");
    g_assert_false(running);
    status_b = vm_status(b, &running);
    g_test_message("B' after migration: %s", status_b);
    /* a guest that was never started arrives "prelaunch" (QEMU 7.2) */
    g_assert_true(strcmp(status_b, "paused") == 0 ||
                  strcmp(status_b, "prelaunch") == 0 ||
                  strcmp(status_b, "postmigrate") == 0);
    g_assert_false(running);

    facts_a = cpu_facts(a);
    facts_b = cpu_facts(b);
    log_facts(a, facts_a);
    log_facts(b, facts_b);
    for (gsize i = 0; i < G_N_ELEMENTS(cpu_props); i++) {
        g_test_message("%s identical on A and B'", cpu_props[i]);
        g_assert_true(
            json_node_equal(json_object_get_member(facts_a, cpu_props[i]),
                            json_object_get_member(facts_b, cpu_props[i])));
    }
    assert_no_filtered(facts_a);
    assert_no_filtered(facts_b);
    for (guint h = 0; h < peer->hidden->len; h++) {
        const char *name = g_ptr_array_index(peer->hidden, h);

        g_test_message("hidden on both: %s", name);
        g_assert_false(facts_bit(facts_a, name));
        g_assert_false(facts_bit(facts_b, name));
    }

    cont = qmp_ok(b, "{\"execute\": \"cont\"}");
    g_clear_pointer(&status_b, g_free);
    status_b = vm_status(b, &running);
    g_assert_cmpstr(status_b, ==, "running");
    g_assert_true(running);
}

/**
 * test_control_plain_host() - negative control: without qemu-mig, the
 * source's -cpu host and B's CPU differ in the features qemu-mig hides
 * (every differing bit is logged)
 *
 * A2 runs plain -cpu host, as a user would without qemu-mig.  B2 runs the
 * -cpu value qemu-mig gives B; on this machine that is also what a plain
 * -cpu host on the real B would give (this CPU minus B's missing
 * features).  QEMU migrates between them without complaint: nothing but
 * the management layer keeps a guest's CPU from changing under it.
 */
static void test_control_plain_host(void)
{
    Peer *peer;
    g_autofree char *qmp_a = NULL, *qmp_b = NULL, *incoming = NULL;
    g_autoptr(GPtrArray) args_a = NULL, args_b = NULL, qm_b = NULL;
    g_autoptr(GPtrArray) diff = NULL;
    g_auto(GStrv) final_b = NULL;
    g_autoptr(JsonObject) facts_a = NULL, facts_b = NULL;
    g_autoptr(GError) error = NULL;
    char *extra[] = {"-S", NULL};
    Vm *a, *b;
    int port;

    if (!skip_unless_usable())
        return;
    peer = peer_start();
    qmp_a = qmp_path("control-a");
    qmp_b = qmp_path("control-b");
    port = free_port();
    incoming = g_strdup_printf("tcp:127.0.0.1:%d", port);

    qm_b = guest_args(qmp_b, cpu_host, incoming, extra);
    final_b = dry_run(peer, PEER, qm_b);
    args_a = argv_new();
    argv_add(args_a, qemu, NULL);
    {
        g_autoptr(GPtrArray) plain = guest_args(qmp_a, cpu_host, NULL, extra);

        argv_append(args_a, (char *const *)plain->pdata);
    }
    args_b = argv_new();
    argv_append(args_b, final_b);

    a = vm_start("A2", (char *const *)args_a->pdata, qmp_a);
    b = vm_start("B2", (char *const *)args_b->pdata, qmp_b);
    vm_connect(a, g_get_monotonic_time() + START_TIMEOUT_US);
    vm_connect(b, g_get_monotonic_time() + START_TIMEOUT_US);
    facts_a = cpu_facts(a);
    facts_b = cpu_facts(b);

    diff = word_diff(facts_a, facts_b);
    for (guint i = 0; i < diff->len; i++)
        g_test_message("A2 and B2 differ: %s",
                       (char *)g_ptr_array_index(diff, i));
    g_assert_false(
        json_node_equal(json_object_get_member(facts_a, "feature-words"),
                        json_object_get_member(facts_b, "feature-words")));
    for (guint h = 0; h < peer->hidden->len; h++) {
        const char *name = g_ptr_array_index(peer->hidden, h);

        g_assert_true(facts_bit(facts_a, name));
        g_assert_false(facts_bit(facts_b, name));
    }
    g_assert_cmpuint(diff->len, >=, peer->hidden->len);

    /* Information only: QEMU does not compare CPUs when migrating. */
    if (migrate(a, b, port, &error) >= 0)
        g_test_message("A2 -> B2 migration completed although the CPUs "
                       "differ: QEMU does not check");
    else
        g_test_message("A2 -> B2 migration refused: %s", error->message);
}

/* ---- a running guest's own view ---- */

/**
 * GuestCpu - one report line of the test guest
 * @n:     its round number
 * @cpuid: EAX, EBX, ECX, EDX of leaves 1, 7 and 0x80000001, as the guest's
 *         CPUID instruction returned them in that round
 */
typedef struct {
    guint64 n;
    guint32 cpuid[12];
} GuestCpu;

/**
 * serial_report() - the newest complete report in a serial log
 * @path:  -serial file
 * @after: only reports with a round number above this count
 *
 * Only whole lines count: a migration may split one between two logs.
 *
 * Return: the report (g_free() it), or NULL when there is none yet
 */
static GuestCpu *serial_report(const char *path, guint64 after)
{
    g_autofree char *text = NULL;
    g_autoptr(GRegex) re =
        g_regex_new("^QMCPU ([0-9a-f]{8}) cpuid:((?: [0-9a-f]{8}){12}) "
                    "END\r?\n",
                    G_REGEX_MULTILINE, 0, NULL);
    g_autoptr(GMatchInfo) match = NULL;
    GuestCpu *best = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    g_regex_match(re, text, 0, &match);
    for (; g_match_info_matches(match); g_match_info_next(match, NULL)) {
        g_autofree char *n = g_match_info_fetch(match, 1);
        g_autofree char *words = g_match_info_fetch(match, 2);
        g_auto(GStrv) hex = g_strsplit(g_strstrip(words), " ", -1);

        if (g_ascii_strtoull(n, NULL, 16) <= after)
            continue;
        g_free(best);
        best = g_new0(GuestCpu, 1);
        best->n = g_ascii_strtoull(n, NULL, 16);
        g_assert_cmpuint(g_strv_length(hex), ==, 12);
        for (guint i = 0; i < 12; i++)
            best->cpuid[i] = (guint32)g_ascii_strtoull(hex[i], NULL, 16);
    }
    return best;
}

/**
 * wait_report() - wait for a report from a running guest
 * @vm:     the guest
 * @serial: its -serial file
 * @after:  only reports with a higher round number
 *
 * Return: the newest report; aborts the test when none comes in time
 */
static GuestCpu *wait_report(Vm *vm, const char *serial, guint64 after)
{
    gint64 deadline = g_get_monotonic_time() + BOOT_TIMEOUT_US;

    for (;;) {
        GuestCpu *cpu = serial_report(serial, after);
        g_autofree char *console = NULL;
        g_autofree char *output = NULL;

        if (cpu != NULL)
            return cpu;
        if (!vm_exited(vm) && g_get_monotonic_time() < deadline) {
            g_usleep(50 * 1000);
            continue;
        }
        g_file_get_contents(serial, &console, NULL, NULL);
        output = vm_output(vm);
        g_error("%s: no CPU report after round %" G_GUINT64_FORMAT
                "; console: %s; output: %s",
                vm->name, after, console ? console : "(none)", output);
    }
}

/**
 * guest_bit() - a qm_kvm_bits[] feature in a guest's own CPUID
 * @cpu:  report
 * @name: feature from qm_kvm_bits[]
 *
 * Return: TRUE if the CPUID instruction reported it
 */
static gboolean guest_bit(const GuestCpu *cpu, const char *name)
{
    static const char *const regs[] = {"EAX", "EBX", "ECX", "EDX"};
    gsize b = qm_kvm_bit_index(name);
    guint leaf = qm_kvm_bits[b].eax == 1 ? 0 : qm_kvm_bits[b].eax == 7 ? 1 : 2;

    g_assert_cmpuint(qm_kvm_bits[b].ecx, ==, 0);
    for (guint r = 0; r < 4; r++) {
        if (strcmp(regs[r], qm_kvm_bits[b].reg) == 0)
            return (cpu->cpuid[leaf * 4 + r] >> qm_kvm_bits[b].bit) & 1;
    }
    g_assert_not_reached();
}

/**
 * assert_signature() - the guest's CPUID signature is QEMU's vCPU's
 * @cpu:   report
 * @facts: from cpu_facts() of the same guest
 *
 * Leaf 1 EAX: family = base + extended when the base is 0xf, model =
 * base | extended << 4 for families 6 and 0xf and above (Intel SDM, AMD
 * APM).
 */
static void assert_signature(const GuestCpu *cpu, JsonObject *facts)
{
    guint32 eax = cpu->cpuid[0];
    gint64 family = (eax >> 8) & 0xf;
    gint64 model = (eax >> 4) & 0xf;

    if (family == 0xf)
        family += (eax >> 20) & 0xff;
    if (family == 6 || family >= 0xf)
        model |= ((eax >> 16) & 0xf) << 4;
    g_assert_cmpint(family, ==, json_object_get_int_member(facts, "family"));
    g_assert_cmpint(model, ==, json_object_get_int_member(facts, "model"));
    g_assert_cmpint(eax & 0xf, ==,
                    json_object_get_int_member(facts, "stepping"));
}

/**
 * boot_args() - the guest-boot part of a QEMU command
 * @image:  the test guest
 * @serial: -serial file
 *
 * Return: new NULL-terminated vector
 */
static GStrv boot_args(const char *image, const char *serial)
{
    g_autofree char *chardev = g_strdup_printf("file:%s", serial);
    g_autoptr(GPtrArray) argv = argv_new();

    argv_add(argv, "-kernel", image, "-serial", chardev, "-no-reboot", NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
}

/**
 * log_report() - print a guest report into the test log
 * @what: label
 * @cpu:  report
 */
static void log_report(const char *what, const GuestCpu *cpu)
{
    g_test_message("%s, round %" G_GUINT64_FORMAT ": CPUID 1: %08x %08x "
                   "%08x %08x, 7: %08x %08x %08x %08x, 0x80000001: %08x "
                   "%08x %08x %08x",
                   what, cpu->n, cpu->cpuid[0], cpu->cpuid[1], cpu->cpuid[2],
                   cpu->cpuid[3], cpu->cpuid[4], cpu->cpuid[5], cpu->cpuid[6],
                   cpu->cpuid[7], cpu->cpuid[8], cpu->cpuid[9], cpu->cpuid[10],
                   cpu->cpuid[11]);
}

/**
 * GuestRun - paths of one guest started by a test
 * @qmp:    QMP socket
 * @serial: -serial file
 */
typedef struct {
    char *qmp;
    char *serial;
} GuestRun;

/**
 * guest_run_init() - paths for a guest
 * @run:  to fill
 * @name: base name
 */
static void guest_run_init(GuestRun *run, const char *name)
{
    g_autofree char *serial = g_strdup_printf("%s.serial", name);

    run->qmp = qmp_path(name);
    run->serial = g_build_filename(qm_test_tmpdir(), serial, NULL);
}

/**
 * guest_run_clear() - free a GuestRun's paths
 * @run: the run
 */
static void guest_run_clear(GuestRun *run)
{
    g_free(run->qmp);
    g_free(run->serial);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(GuestRun, guest_run_clear)

/**
 * guest_command() - a guest's full command: QEMU, guest_args(), boot
 * @run:      its paths
 * @image:    the test guest
 * @cpu:      -cpu value
 * @incoming: -incoming value, or NULL
 * @program:  first word (QEMU), or NULL for the QEMU arguments only
 *
 * Return: new argument vector
 */
static GPtrArray *guest_command(const GuestRun *run, const char *image,
                                const char *cpu, const char *incoming,
                                const char *program)
{
    g_auto(GStrv) boot = boot_args(image, run->serial);
    g_autoptr(GPtrArray) args = guest_args(run->qmp, cpu, incoming, boot);
    GPtrArray *argv = argv_new();

    if (program != NULL)
        argv_add(argv, program, NULL);
    argv_append(argv, (char *const *)args->pdata);
    return argv;
}

/**
 * test_guest_running() - a running guest started by qemu-mig keeps
 * running on B, and its own CPUID does not change
 *
 * Proves, from inside the guest: it was live-migrated while executing
 * (its report rounds carry on at B'), the CPUID instruction returns the
 * very same words before and after, and the signature it sees is the
 * family/model/stepping QEMU reports on both sides.
 */
static void test_guest_running(void)
{
    g_autofree char *image = NULL, *reason = NULL, *incoming = NULL;
    g_auto(GuestRun) run_a = {0}, run_b = {0};
    g_autoptr(GPtrArray) args_a = NULL, args_b = NULL, launch = NULL;
    g_auto(GStrv) final_a = NULL, final_b = NULL;
    g_autofree GuestCpu *first = NULL, *before = NULL, *after = NULL;
    g_autoptr(JsonObject) facts_a = NULL, facts_b = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *status = NULL;
    gboolean running;
    Peer *peer;
    gint64 took;
    Vm *a, *b;
    int port;

    if (!skip_unless_usable())
        return;
    if (!qm_kvm_build_guest(&image, &reason)) {
        g_test_skip(reason);
        return;
    }
    peer = peer_start();
    guest_run_init(&run_a, "running-a");
    guest_run_init(&run_b, "running-b");
    port = free_port();
    incoming = g_strdup_printf("tcp:127.0.0.1:%d", port);
    args_a = guest_command(&run_a, image, cpu_host, NULL, NULL);
    args_b = guest_command(&run_b, image, cpu_host, incoming, NULL);
    final_a = dry_run(peer, NULL, args_a);
    final_b = dry_run(peer, PEER, args_b);
    g_assert_cmpstr(last_value(final_a, "-cpu"), ==,
                    last_value(final_b, "-cpu"));
    g_assert_cmpstr(last_value(final_a, "-machine"), ==,
                    last_value(final_b, "-machine"));

    launch = qm_args(peer, FALSE, NULL, args_a);
    a = vm_start("guest-A", (char *const *)launch->pdata, run_a.qmp);
    b = vm_start("guest-B'", final_b, run_b.qmp);
    vm_connect(a, g_get_monotonic_time() + START_TIMEOUT_US);
    vm_connect(b, g_get_monotonic_time() + START_TIMEOUT_US);
    /* migrate only once the guest runs its code */
    first = wait_report(a, run_a.serial, 0);
    facts_a = cpu_facts(a);

    took = migrate(a, b, port, &error);
    g_assert_no_error(error);
    g_test_message("live migration of the running guest: %.1f ms",
                   took / 1000.0);
    before = serial_report(run_a.serial, 0);
    g_assert_nonnull(before);
    /* the source ran, so the destination runs on by itself */
    status = vm_status(b, &running);
    g_assert_cmpstr(status, ==, "running");
    g_assert_true(running);
    after = wait_report(b, run_b.serial, before->n);
    facts_b = cpu_facts(b);

    log_report("guest on A, last report before migration", before);
    log_report("guest on B', first report after migration", after);
    g_assert_cmpuint(after->n, >, before->n);
    g_assert_cmpmem(before->cpuid, sizeof(before->cpuid), after->cpuid,
                    sizeof(after->cpuid));
    assert_signature(before, facts_a);
    assert_signature(after, facts_b);
    for (guint h = 0; h < peer->hidden->len; h++) {
        const char *name = g_ptr_array_index(peer->hidden, h);

        g_test_message("guest's own CPUID: %s %s before, %s after (QEMU "
                       "vCPU: %s)",
                       name, guest_bit(before, name) ? "set" : "clear",
                       guest_bit(after, name) ? "set" : "clear",
                       facts_bit(facts_a, name) ? "on" : "off");
    }
}

/**
 * test_guest_hidden() - the guest's own CPUID lacks what B lacks, and
 * without qemu-mig it changes under a running guest
 *
 * A guest on A's -cpu must not see B's missing features (and, by
 * test_guest_running, sees the same after migrating to B).  Control: a
 * running guest on plain -cpu host migrated to B's CPU sees those
 * features vanish from CPUID while it runs.
 *
 * Skipped where the hypervisor does not give the guest the CPUID QEMU
 * configures (some nested set-ups pass the host's leaves through): there
 * no guest-side check can say anything about -cpu.
 */
static void test_guest_hidden(void)
{
    g_autofree char *image = NULL, *reason = NULL, *incoming = NULL;
    g_auto(GuestRun) run_r = {0}, run_c = {0}, run_d = {0};
    g_autoptr(GPtrArray) args_r = NULL, args_c = NULL, args_d = NULL;
    g_auto(GStrv) final_r = NULL;
    g_autofree GuestCpu *seen = NULL, *first = NULL, *before = NULL;
    g_autofree GuestCpu *after = NULL;
    g_autoptr(JsonObject) facts = NULL;
    g_autoptr(GString) ignored = g_string_new(NULL);
    g_autoptr(GError) error = NULL;
    const char *cpu;
    Peer *peer;
    Vm *r, *c, *d;
    int port;

    if (!skip_unless_usable())
        return;
    if (!qm_kvm_build_guest(&image, &reason)) {
        g_test_skip(reason);
        return;
    }
    peer = peer_start();
    guest_run_init(&run_r, "hidden-r");
    args_r = guest_command(&run_r, image, cpu_host, NULL, NULL);
    final_r = dry_run(peer, NULL, args_r);
    cpu = last_value(final_r, "-cpu");

    /* A's command as qemu-mig runs it */
    r = vm_start("guest-R", final_r, run_r.qmp);
    vm_connect(r, g_get_monotonic_time() + START_TIMEOUT_US);
    seen = wait_report(r, run_r.serial, 0);
    facts = cpu_facts(r);
    vm_stop(r);
    log_report("guest on A's -cpu", seen);
    for (guint h = 0; h < peer->hidden->len; h++) {
        const char *name = g_ptr_array_index(peer->hidden, h);

        g_assert_false(facts_bit(facts, name));
        if (guest_bit(seen, name))
            g_string_append_printf(ignored, " %s", name);
    }
    if (ignored->len > 0) {
        g_autofree char *msg = g_strdup_printf(
            "this hypervisor does not give guests the CPUID QEMU configures: "
            "with -cpu %s, QEMU's vCPU has them off but the guest's own "
            "CPUID still reports%s (leaf 7 EBX %08x ECX %08x); no guest-side "
            "check of -cpu is possible here",
            cpu, ignored->str, seen->cpuid[5], seen->cpuid[6]);

        g_test_skip(msg);
        return;
    }

    /* Control: plain -cpu host, running, to B's CPU. */
    guest_run_init(&run_c, "hidden-c");
    guest_run_init(&run_d, "hidden-d");
    port = free_port();
    incoming = g_strdup_printf("tcp:127.0.0.1:%d", port);
    args_c = guest_command(&run_c, image, cpu_host, NULL, qemu);
    args_d = guest_command(&run_d, image, cpu, incoming, qemu);
    c = vm_start("guest-A2", (char *const *)args_c->pdata, run_c.qmp);
    d = vm_start("guest-B2", (char *const *)args_d->pdata, run_d.qmp);
    vm_connect(c, g_get_monotonic_time() + START_TIMEOUT_US);
    vm_connect(d, g_get_monotonic_time() + START_TIMEOUT_US);
    first = wait_report(c, run_c.serial, 0);
    if (migrate(c, d, port, &error) < 0) {
        g_test_message("plain host -> B's CPU refused: %s", error->message);
        return;
    }
    before = serial_report(run_c.serial, 0);
    after = wait_report(d, run_d.serial, before->n);
    log_report("control guest on A2, before", before);
    log_report("control guest on B2, after", after);
    for (guint h = 0; h < peer->hidden->len; h++) {
        const char *name = g_ptr_array_index(peer->hidden, h);

        g_assert_true(guest_bit(before, name));
        g_assert_false(guest_bit(after, name));
    }
}

/**
 * main() - migrate suite
 * @argc: argc
 * @argv: argv
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);
    if (!kvm_usable(&skip_reason))
        g_test_message("skipping: %s", skip_reason);
    g_test_add_func("/migrate/live", test_live);
    g_test_add_func("/migrate/control-plain-host", test_control_plain_host);
    g_test_add_func("/migrate/guest-running", test_guest_running);
    g_test_add_func("/migrate/guest-hidden", test_guest_hidden);
    return g_test_run();
}
