/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: a launch registers its guest, `qemu-mig list` finds it
 * through its monitor (the real QEMU, under TCG: nothing here needs KVM),
 * and records of guests that are gone are dropped.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "qmrun.h"
#include "testutil.h"
#include "wrapper/guestlist.h"

/* bounds: QEMU under TCG starts in well under a second here */
#define START_TIMEOUT_US ((gint64)20 * G_USEC_PER_SEC * qm_test_slow())

static char *qemu; /* the real QEMU, or NULL (tests skip) */

/**
 * need_qemu() - skip the test without a real QEMU
 *
 * Return: TRUE when the test can run
 */
static gboolean need_qemu(void)
{
    if (qemu != NULL)
        return TRUE;
    g_test_skip("no qemu-system-x86_64 in PATH");
    return FALSE;
}

/**
 * Run - one qemu-mig run that may become a long-lived QEMU
 * @pid:    its PID (QEMU's after exec)
 * @status: wait status once it ended, else -1
 */
typedef struct {
    GPid pid;
    int status;
} Run;

/**
 * start_qm() - start qemu-mig with arguments, not waiting for it
 * @args: NULL-terminated arguments after the binary
 *
 * Return: the run; its QEMU is killed at the end of the test
 */
static Run *start_qm(const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    Run *run = g_new0(Run, 1);

    g_ptr_array_add(argv, (char *)qm_test_env("QM_BINARY"));
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    g_assert_true(
        g_spawn_async(NULL, (char **)argv->pdata, NULL,
                      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, &run->pid, &error));
    g_assert_no_error(error);
    run->status = -1;
    return run;
}

/**
 * reap() - has a run ended? Reaps it when it has
 * @run: the run
 *
 * Return: TRUE once it ended
 */
static gboolean reap(Run *run)
{
    if (run->status == -1 && waitpid(run->pid, &run->status, WNOHANG) == 0)
        return FALSE;
    return TRUE;
}

/**
 * stop() - kill a run's process (QEMU) and reap it; free the run
 * @run: the run
 */
static void stop(Run *run)
{
    if (!reap(run)) {
        kill(run->pid, SIGKILL);
        waitpid(run->pid, &run->status, 0);
    }
    g_free(run);
}

/**
 * qm() - run qemu-mig to its end
 * @args: NULL-terminated arguments after the binary
 *
 * Return: what happened
 */
static QmRun *qm(const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    QmRun *run = g_new0(QmRun, 1);
    int status = 0;

    g_ptr_array_add(argv, (char *)qm_test_env("QM_BINARY"));
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, 0, NULL, NULL,
                               &run->out, &run->err, &status, &error));
    g_assert_no_error(error);
    run->out_len = strlen(run->out);
    run->status =
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return run;
}

/**
 * list_json() - `qemu-mig list --json`, parsed
 * @dir: --runtime-dir, or NULL for the environment's
 *
 * Return: the array's node
 */
static JsonNode *list_json(const char *dir)
{
    const char *with_dir[] = {"list", "--json", "--runtime-dir", dir, NULL};
    const char *plain[] = {"list", "--json", NULL};
    g_autoptr(QmRun) run = qm(dir ? with_dir : plain);
    JsonNode *node;

    g_assert_cmpint(run->status, ==, 0);
    g_assert_cmpstr(run->err, ==, "");
    node = json_from_string(run->out, NULL);
    g_assert_nonnull(node);
    g_assert_true(JSON_NODE_HOLDS_ARRAY(node));
    return node;
}

/**
 * find_named() - a listed guest by name
 * @list: list --json output
 * @name: guest name
 *
 * Return: borrowed object, or NULL
 */
static JsonObject *find_named(JsonNode *list, const char *name)
{
    JsonArray *a = json_node_get_array(list);

    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *g = json_array_get_object_element(a, i);

        if (g_strcmp0(
                json_object_get_string_member_with_default(g, "name", NULL),
                name) == 0)
            return g;
    }
    return NULL;
}

/**
 * wait_listed() - wait until `list` shows a guest with a PID
 * @name: guest name
 *
 * Return: the guest's PID
 */
static gint64 wait_listed(const char *name)
{
    gint64 deadline = g_get_monotonic_time() + START_TIMEOUT_US;

    for (;;) {
        g_autoptr(JsonNode) list = list_json(NULL);
        JsonObject *g = find_named(list, name);

        if (g != NULL && json_object_get_int_member(g, "pid") > 0)
            return json_object_get_int_member(g, "pid");
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(20000);
    }
}

/**
 * runtime_dir() - the environment's runtime directory of qemu-mig
 *
 * Return: newly allocated path
 */
static char *runtime_dir(void)
{
    return g_build_filename(g_getenv("XDG_RUNTIME_DIR"), "qemu-mig", NULL);
}

/**
 * test_register_list() - a launch registers its guest with the user's own
 * arguments; `list` gives QEMU's PID (that of qemu-mig, which exec'd it);
 * once QEMU is gone, `list` removes the record and the socket
 */
static void test_register_list(void)
{
    const char *args[] = {
        "--qemu",   qemu,   "--", "-machine", "q35",
        "-accel",   "tcg",  "-m", "64",       "-nodefaults",
        "-display", "none", "-S", "-name",    "guest=vm1,debug-threads=on",
        NULL};
    Run *run = NULL;
    g_autoptr(JsonNode) list = NULL;
    g_autofree char *record = NULL;
    g_autofree char *cmdline = NULL;
    g_autofree char *proc = NULL;
    JsonObject *g;
    JsonArray *argv;
    gint64 pid;

    if (!need_qemu())
        return;
    run = start_qm(args);
    pid = wait_listed("vm1");
    /* exec: QEMU has qemu-mig's PID */
    g_assert_cmpint(pid, ==, run->pid);
    list = list_json(NULL);
    g = find_named(list, "vm1");
    g_assert_cmpstr(json_object_get_string_member(g, "qemu"), ==, qemu);
    g_assert_cmpint(json_object_get_int_member(g, "launcher"), ==, run->pid);
    g_assert_null(json_object_get_string_member(g, "cpu"));
    argv = json_object_get_array_member(g, "argv");
    g_assert_cmpuint(json_array_get_length(argv), ==, G_N_ELEMENTS(args) - 4);
    for (guint i = 0; i < json_array_get_length(argv); i++)
        g_assert_cmpstr(json_array_get_string_element(argv, i), ==,
                        args[i + 3]);
    /* QEMU got one monitor more, on the listed socket */
    proc = g_strdup_printf("/proc/%d/cmdline", (int)pid);
    g_assert_true(g_file_get_contents(proc, &cmdline, NULL, NULL));
    g_assert_true(g_file_test(json_object_get_string_member(g, "socket"),
                              G_FILE_TEST_EXISTS));
    record = g_strdup_printf("%s/qemu-mig/%s.json", g_getenv("XDG_RUNTIME_DIR"),
                             json_object_get_string_member(g, "id"));
    g_assert_true(g_file_test(record, G_FILE_TEST_IS_REGULAR));
    {
        struct stat st;

        g_assert_cmpint(stat(record, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 0777, ==, 0600);
    }

    /* gone: the next list drops it, files and all */
    {
        g_autofree char *sock =
            g_strdup(json_object_get_string_member(g, "socket"));
        const char *verbose[] = {"list", "-v", NULL};
        g_autoptr(QmRun) after = NULL;

        stop(run);
        after = qm(verbose);
        g_assert_cmpint(after->status, ==, 0);
        g_assert_null(strstr(after->out, "vm1"));
        g_assert_nonnull(strstr(after->err, "removed 1 record"));
        g_assert_false(g_file_test(record, G_FILE_TEST_EXISTS));
        g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
    }
}

/**
 * test_daemonize() - a guest that daemonizes is listed with the daemon's
 * PID (its monitor's SO_PEERCRED), not the launcher's
 */
static void test_daemonize(void)
{
    g_autofree char *dir = runtime_dir();
    g_autofree char *pidfile =
        g_build_filename(qm_test_tmpdir(), "vm2.pid", NULL);
    const char *args[] = {"--qemu",   qemu,          "--",       "-machine",
                          "q35",      "-accel",      "tcg",      "-m",
                          "64",       "-nodefaults", "-display", "none",
                          "-S",       "-name",       "vm2",      "-daemonize",
                          "-pidfile", pidfile,       NULL};
    g_autoptr(QmRun) run = NULL;
    g_autoptr(JsonNode) list = NULL;
    g_autofree char *text = NULL;
    JsonObject *g;
    gint64 pid;

    if (!need_qemu())
        return;
    run = qm(args);
    g_assert_cmpint(run->status, ==, 0);
    g_assert_true(g_file_get_contents(pidfile, &text, NULL, NULL));
    pid = g_ascii_strtoll(text, NULL, 10);
    g_assert_cmpint(pid, >, 0);
    g_assert_cmpint(wait_listed("vm2"), ==, pid);
    list = list_json(NULL);
    g = find_named(list, "vm2");
    g_assert_cmpint(json_object_get_int_member(g, "launcher"), !=, pid);
    kill(pid, SIGKILL);
    /* not our child: wait for it to go */
    for (int i = 0; i < 500 && kill(pid, 0) == 0; i++)
        g_usleep(10000);
    g_clear_pointer(&list, json_node_unref);
    list = list_json(NULL);
    g_assert_null(find_named(list, "vm2"));
}

/**
 * test_no_register() - --no-register: no record and no extra monitor;
 * --dry-run and queries register nothing either
 */
static void test_no_register(void)
{
    g_autofree char *dir = runtime_dir();
    const char *args[] = {"--no-register", "--qemu",   qemu,   "--", "-machine",
                          "q35",           "-accel",   "tcg",  "-m", "64",
                          "-nodefaults",   "-display", "none", "-S", "-name",
                          "vm3",           NULL};
    const char *dry[] = {"--dry-run", "--qemu", qemu, "--",
                         "-name",     "vm4",    NULL};
    Run *run;
    g_autofree char *proc = NULL;
    g_autofree char *cmdline = NULL;
    gsize len = 0;
    gint64 deadline = g_get_monotonic_time() + START_TIMEOUT_US;

    if (!need_qemu())
        return;
    run = start_qm(args);
    proc = g_strdup_printf("/proc/%d/cmdline", (int)run->pid);
    /* wait for the exec: then the command line is QEMU's */
    for (;;) {
        g_clear_pointer(&cmdline, g_free);
        g_assert_true(g_file_get_contents(proc, &cmdline, &len, NULL));
        if (g_str_has_prefix(cmdline, qemu))
            break;
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10000);
    }
    for (gsize i = 0; i < len; i += strlen(cmdline + i) + 1)
        g_assert_cmpstr(cmdline + i, !=, "-qmp");
    {
        g_autoptr(JsonNode) list = list_json(NULL);

        g_assert_null(find_named(list, "vm3"));
    }
    stop(run);
    {
        g_autoptr(QmRun) d = qm(dry);
        g_autoptr(JsonNode) list = list_json(NULL);

        g_assert_cmpint(d->status, ==, 0);
        g_assert_null(strstr(d->out, "-qmp"));
        g_assert_null(find_named(list, "vm4"));
    }
}

/**
 * test_dir_refused() - a runtime directory open to others, someone
 * else's, or a symlink is refused with exit 8 naming it, and nothing is
 * launched
 */
static void test_dir_refused(void)
{
    g_autofree char *base = g_build_filename(qm_test_tmpdir(), "rt", NULL);
    g_autofree char *open_dir = g_build_filename(base, "open", NULL);
    g_autofree char *link = g_build_filename(base, "link", NULL);
    g_autofree char *target = g_build_filename(base, "target", NULL);
    g_autofree char *theirs = g_build_filename(base, "theirs", NULL);
    g_autofree char *missing = g_build_filename(base, "no", "such", NULL);
    const char *const dirs[] = {open_dir, link, theirs, missing};

    if (!need_qemu())
        return;
    g_assert_cmpint(g_mkdir_with_parents(base, 0700), ==, 0);
    g_assert_cmpint(mkdir(open_dir, 0755), ==, 0);
    g_assert_cmpint(chmod(open_dir, 0755), ==, 0);
    g_assert_cmpint(mkdir(target, 0700), ==, 0);
    g_assert_cmpint(symlink(target, link), ==, 0);
    g_assert_cmpint(mkdir(theirs, 0700), ==, 0);
    if (geteuid() == 0)
        g_assert_cmpint(chown(theirs, 4242, 4242), ==, 0);
    for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
        const char *args[] = {
            "--runtime-dir", dirs[i], "--qemu", qemu,       "--",
            "-name",         "never", "-S",     "-version", NULL};
        const char *launch[] = {"--runtime-dir",
                                dirs[i],
                                "--qemu",
                                qemu,
                                "--",
                                "-machine",
                                "none",
                                "-nodefaults",
                                "-display",
                                "none",
                                "-S",
                                NULL};
        const char *list[] = {"list", "--runtime-dir", dirs[i], NULL};
        g_autoptr(QmRun) q = qm(args);
        g_autoptr(QmRun) l = qm(launch);
        g_autoptr(QmRun) ls = qm(list);

        if (dirs[i] == theirs && geteuid() != 0)
            continue;
        /* a query starts no guest and needs no directory */
        g_assert_cmpint(q->status, ==, 0);
        g_test_message("%s: %s", dirs[i], l->err);
        g_assert_cmpint(l->status, ==, 8);
        g_assert_cmpint(ls->status, ==, 8);
        g_assert_nonnull(strstr(l->err, dirs[i]));
        g_assert_cmpuint(strchr(l->err, '\n') - l->err + 1, ==, strlen(l->err));
    }
}

/**
 * test_exec_fails() - a QEMU that cannot be exec'd leaves no record
 */
static void test_exec_fails(void)
{
    g_autofree char *script =
        g_build_filename(qm_test_tmpdir(), "broken-qemu", NULL);
    g_autofree char *dir = runtime_dir();
    const char *args[] = {"--qemu", script, "--", "-m", "64", NULL};
    g_autoptr(QmRun) run = NULL;
    g_autoptr(JsonNode) list = NULL;
    g_autoptr(GDir) d = NULL;
    const char *name;

    if (g_getenv("QM_TEST_VALGRIND") != NULL) {
        /* an execve() that fails under valgrind is valgrind's to report;
         * this case runs in the plain and ASan passes */
        g_test_skip("not under valgrind: a failing execve()");
        return;
    }
    /* executable, but its interpreter does not exist: execv() fails */
    g_assert_true(g_file_set_contents(script, "#!/nonexistent/sh\n", -1, NULL));
    g_assert_cmpint(chmod(script, 0755), ==, 0);
    run = qm(args);
    g_assert_cmpint(run->status, !=, 0);
    g_assert_cmpstr(run->out, ==, "");
    g_assert_true(g_mkdir_with_parents(dir, 0700) == 0);
    d = g_dir_open(dir, 0, NULL);
    g_assert_nonnull(d);
    while ((name = g_dir_read_name(d)) != NULL)
        g_assert_false(g_str_has_suffix(name, ".json"));
}

/**
 * test_starting_and_foreign() - a record whose monitor does not answer
 * yet, while the process that exec'd QEMU still runs it, is "starting";
 * a file that is not a record of ours is left alone
 */
static void test_starting_and_foreign(void)
{
    g_autofree char *dir = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(QmGuest) g = g_new0(QmGuest, 1);
    g_autofree char *qmp = NULL;
    g_autofree char *foreign = NULL;
    g_autoptr(GPtrArray) guests = NULL;
    const char *sh[] = {"/bin/sh", "-c", "sleep 60", "sh", NULL, NULL};
    GPid pid;
    guint removed = 9;

    g_assert_true(qm_guests_dir(NULL, &dir, &error));
    g_assert_no_error(error);
    g->name = g_strdup("vm5");
    g->argv = g_new0(char *, 1);
    g_assert_true(qm_guests_register(dir, g, &qmp, &error));
    g_assert_no_error(error);
    {
        g_autofree char *want =
            g_strdup_printf("unix:%s,server=on,wait=off", g->socket);

        g_assert_cmpstr(qmp, ==, want);
    }
    /* a stand-in for QEMU before its monitor is up: its command line names
     * the socket, its PID is the record's launcher */
    sh[4] = g->socket;
    g_assert_true(g_spawn_async(NULL, (char **)sh, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                &error));
    g_assert_no_error(error);
    {
        /* the record says who exec'd QEMU: rewrite it for the stand-in */
        g_autoptr(QmGuest) again = g_new0(QmGuest, 1);
        g_autofree char *text = NULL;
        g_autofree char *from =
            g_strdup_printf("\"launcher\" : %d", (int)getpid());
        g_autofree char *to = g_strdup_printf("\"launcher\" : %d", (int)pid);
        g_autoptr(GString) s = NULL;

        g_assert_true(g_file_get_contents(g->record, &text, NULL, NULL));
        s = g_string_new(text);
        g_assert_cmpuint(g_string_replace(s, from, to, 1), ==, 1);
        /* and as a record `migrate` writes: without the start time */
        g_assert_cmpuint(g_string_replace(s, "\"launcher-start\"",
                                          "\"launcher-start-not\"", 1),
                         ==, 1);
        g_assert_true(g_file_set_contents(g->record, s->str, -1, NULL));
        g_assert_cmpint(chmod(g->record, 0600), ==, 0);
    }
    foreign = g_build_filename(dir, "notes.json", NULL);
    g_assert_true(g_file_set_contents(foreign, "{\"hello\": 1}", -1, NULL));

    g_assert_true(qm_guestlist_list(dir, &guests, &removed, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(removed, ==, 0);
    g_assert_cmpuint(guests->len, ==, 1);
    g_assert_cmpstr(((QmGuest *)g_ptr_array_index(guests, 0))->name, ==, "vm5");
    g_assert_cmpint(((QmGuest *)g_ptr_array_index(guests, 0))->pid, ==, 0);
    g_clear_pointer(&guests, g_ptr_array_unref);

    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    g_assert_true(qm_guestlist_list(dir, &guests, &removed, &error));
    g_assert_cmpuint(removed, ==, 1);
    g_assert_cmpuint(guests->len, ==, 0);
    g_assert_false(g_file_test(g->record, G_FILE_TEST_EXISTS));
    g_assert_true(g_file_test(foreign, G_FILE_TEST_EXISTS));
    unlink(foreign);
}

/**
 * test_before_exec() - between writing the record and exec'ing QEMU the
 * launcher is still qemu-mig, whose command line does not name the
 * socket: the guest is starting, not gone; a later process that was
 * given the launcher's PID is not the launcher
 */
static void test_before_exec(void)
{
    g_autofree char *dir = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(QmGuest) g = g_new0(QmGuest, 1);
    g_autofree char *qmp = NULL;
    g_autoptr(GPtrArray) guests = NULL;
    guint removed = 9;

    g_assert_true(qm_guests_dir(NULL, &dir, &error));
    g_assert_no_error(error);
    g->name = g_strdup("vm6");
    g->argv = g_new0(char *, 1);
    /* registered by this very process, as qemu-mig does before execv() */
    g_assert_true(qm_guests_register(dir, g, &qmp, &error));
    g_assert_no_error(error);
    g_assert_cmpint(g->launcher_start, >, 0);
    g_assert_cmpint(g->launcher_start, ==, qm_guests_process_start(getpid()));

    g_assert_true(qm_guestlist_list(dir, &guests, &removed, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(removed, ==, 0);
    g_assert_cmpuint(guests->len, ==, 1);
    g_assert_cmpint(((QmGuest *)g_ptr_array_index(guests, 0))->pid, ==, 0);
    g_clear_pointer(&guests, g_ptr_array_unref);

    {
        /* the same PID, started at another time: PID reuse */
        g_autofree char *text = NULL;
        g_autofree char *from = g_strdup_printf(
            "\"launcher-start\" : %" G_GINT64_FORMAT, g->launcher_start);
        g_autofree char *to = g_strdup_printf(
            "\"launcher-start\" : %" G_GINT64_FORMAT, g->launcher_start + 1);
        g_autoptr(GString) s = NULL;

        g_assert_true(g_file_get_contents(g->record, &text, NULL, NULL));
        s = g_string_new(text);
        g_assert_cmpuint(g_string_replace(s, from, to, 1), ==, 1);
        g_assert_true(g_file_set_contents(g->record, s->str, -1, NULL));
        g_assert_cmpint(chmod(g->record, 0600), ==, 0);
    }
    g_assert_true(qm_guestlist_list(dir, &guests, &removed, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(removed, ==, 1);
    g_assert_cmpuint(guests->len, ==, 0);
    g_assert_false(g_file_test(g->record, G_FILE_TEST_EXISTS));
}

/**
 * test_busy_monitor() - a monitor whose accept queue is full (QEMU
 * listens with a backlog of 1 and stops accepting while a client holds
 * it) is busy, not gone, and asking does not hang
 */
static void test_busy_monitor(void)
{
    g_autofree char *path =
        g_build_filename(g_get_user_runtime_dir(), "busy.sock", NULL);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int lfd, cfd[4];
    guint filled = 0;
    gint64 t0;

    g_assert_cmpuint(strlen(path), <, sizeof(sun.sun_path));
    strcpy(sun.sun_path, path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(lfd, >=, 0);
    g_assert_cmpint(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    g_assert_cmpint(listen(lfd, 0), ==, 0);
    g_assert_cmpint(qm_guestlist_socket_pid(path), ==, getpid());
    /* fill the queue without ever accepting */
    for (guint i = 0; i < G_N_ELEMENTS(cfd); i++) {
        cfd[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        g_assert_cmpint(cfd[i], >=, 0);
        if (connect(cfd[i], (struct sockaddr *)&sun, sizeof(sun)) == 0)
            filled++;
    }
    g_assert_cmpuint(filled, <, G_N_ELEMENTS(cfd));
    t0 = g_get_monotonic_time();
    g_assert_cmpint(qm_guestlist_socket_pid(path), ==, -1);
    g_assert_cmpint(g_get_monotonic_time() - t0, <,
                    10 * G_USEC_PER_SEC * qm_test_slow());
    for (guint i = 0; i < G_N_ELEMENTS(cfd); i++)
        close(cfd[i]);
    close(lfd);
    unlink(path);
    g_assert_cmpint(qm_guestlist_socket_pid(path), ==, 0);
}

/**
 * test_name() - the guest name of -name as QEMU reads it
 */
static void test_name(void)
{
    static const struct {
        const char *const argv[6];
        const char *name;
    } cases[] = {
        {{"-m", "64", NULL}, NULL},
        {{"-name", "vm", NULL}, "vm"},
        {{"-name", "guest=vm,debug-threads=on", NULL}, "vm"},
        {{"-name", "vm,process=x", NULL}, "vm"},
        {{"-name", "process=x,guest=vm", NULL}, "vm"},
        {{"-name", "a", "-name", "b", NULL}, "b"},
        {{"--name", "vm", NULL}, "vm"},
        {{"-name", "process=x", NULL}, NULL},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        int argc = (int)g_strv_length((char **)cases[i].argv);
        g_autofree char *name =
            qm_guests_name(argc, (char *const *)cases[i].argv);

        g_assert_cmpstr(name, ==, cases[i].name);
    }
}

/**
 * test_record_json() - a record written without json-glib reads back
 * with it, member for member: quotes, backslashes, newlines and other
 * control characters, UTF-8, empty and NULL arrays, null strings; and
 * `list --json` is one array of such objects
 */
static void test_record_json(void)
{
    char *argv[] = {"-name", "a \"b\"\\c", "-append", "x\ny\t\x01\x7f\u00e9",
                    NULL};
    QmGuest g = {
        .id = "0011223344556677",
        .socket = "/run/x/0011223344556677.qmp",
        .name = "a \"b\"\\c",
        .qemu = "/usr/bin/qemu-system-x86_64",
        .argv = argv,
        .peers = NULL,
        .cpu = "host,pmu=off",
        .machine = NULL,
        .started = 1700000000,
        .launcher = 4242,
        .launcher_start = 99,
        .pid = 17,
    };
    g_autofree char *text = qm_guests_record_text(&g);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) root = json_from_string(text, &error);
    JsonObject *o;
    JsonArray *a;

    g_assert_no_error(error);
    o = json_node_get_object(root);
    g_assert_cmpint(json_object_get_int_member(o, "format"), ==,
                    QM_GUESTS_FORMAT);
    g_assert_cmpstr(json_object_get_string_member(o, "name"), ==, g.name);
    g_assert_true(json_object_get_null_member(o, "machine"));
    g_assert_cmpstr(json_object_get_string_member(o, "cpu"), ==, g.cpu);
    g_assert_cmpint(json_object_get_int_member(o, "launcher-start"), ==, 99);
    g_assert_false(json_object_has_member(o, "pid"));
    a = json_object_get_array_member(o, "argv");
    g_assert_cmpuint(json_array_get_length(a), ==, 4);
    for (guint i = 0; i < 4; i++)
        g_assert_cmpstr(json_array_get_string_element(a, i), ==, argv[i]);
    g_assert_cmpuint(
        json_array_get_length(json_object_get_array_member(o, "peers")), ==, 0);
    {
        g_autoptr(GPtrArray) guests = g_ptr_array_new();
        g_autofree char *none = NULL, *two = NULL;
        g_autoptr(JsonNode) list = NULL;

        none = qm_guestlist_format(guests, TRUE);
        g_assert_cmpstr(none, ==, "[]\n");
        g_ptr_array_add(guests, &g);
        g_ptr_array_add(guests, &g);
        two = qm_guestlist_format(guests, TRUE);
        list = json_from_string(two, &error);
        g_assert_no_error(error);
        a = json_node_get_array(list);
        g_assert_cmpuint(json_array_get_length(a), ==, 2);
        o = json_array_get_object_element(a, 1);
        g_assert_cmpint(json_object_get_int_member(o, "pid"), ==, 17);
        g_assert_false(json_object_has_member(o, "format"));
    }
}

int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);
    qemu = g_find_program_in_path("qemu-system-x86_64");
    g_test_add_func("/guests/name", test_name);
    g_test_add_func("/guests/record-json", test_record_json);
    g_test_add_func("/guests/register-list", test_register_list);
    g_test_add_func("/guests/daemonize", test_daemonize);
    g_test_add_func("/guests/no-register", test_no_register);
    g_test_add_func("/guests/dir-refused", test_dir_refused);
    g_test_add_func("/guests/exec-fails", test_exec_fails);
    g_test_add_func("/guests/starting-and-foreign", test_starting_and_foreign);
    g_test_add_func("/guests/before-exec", test_before_exec);
    g_test_add_func("/guests/busy-monitor", test_busy_monitor);
    return g_test_run();
}
