/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: real OpenSSH sshd instances on 127.0.0.1.
 *
 * Each instance gets its own directory under the test's scratch space with
 * a fresh host key, a client key it accepts, and client-side files
 * (known_hosts, ssh_config) describing it, so tests never depend on the
 * machine's SSH set-up and never touch it, except for creating sshd's
 * privilege separation directory if it is missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "sshd.h"
#include "testutil.h"

#define SSHD_PATH        "/usr/sbin/sshd"
#define SSHD_PRIVSEP_DIR "/run/sshd"

/* Attempts at finding a port nobody else grabs before sshd binds it */
#define SSHD_START_ATTEMPTS 5

/* sshd normally answers within milliseconds; a loaded CI box is slower */
#define SSHD_START_TIMEOUT_US (10 * G_USEC_PER_SEC)

/**
 * qm_test_sshd_available() - whether real sshd instances can be started
 * @reason: set to a newly allocated explanation when not, may be NULL
 *
 * Return: TRUE if sshd and ssh-keygen are installed
 */
gboolean qm_test_sshd_available(char **reason)
{
    g_autofree char *keygen = g_find_program_in_path("ssh-keygen");

    if (!g_file_test(SSHD_PATH, G_FILE_TEST_IS_EXECUTABLE)) {
        if (reason != NULL)
            *reason = g_strdup(SSHD_PATH " not found (install "
                                         "openssh-server)");
        return FALSE;
    }
    if (keygen == NULL) {
        if (reason != NULL)
            *reason = g_strdup("ssh-keygen not found in PATH (install "
                               "openssh-client)");
        return FALSE;
    }
    return TRUE;
}

/**
 * run_tool() - run a helper program to completion, aborting the test if it
 *              fails
 * @argv: command, looked up in PATH
 *
 * Return: its standard output, newly allocated
 */
static char *run_tool(const char *const *argv)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int status = 0;

    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                 &out, &err, &status, &error);
    g_assert_no_error(error);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        g_error("%s failed (wait status %d): %s", argv[0], status, err);
    return g_steal_pointer(&out);
}

/**
 * keygen() - create an ed25519 key pair without passphrase
 * @path:    private key file; the public key goes to @path.pub
 * @comment: key comment
 */
static void keygen(const char *path, const char *comment)
{
    const char *argv[] = {"ssh-keygen", "-q",    "-t", "ed25519", "-N", "",
                          "-C",         comment, "-f", path,      NULL};

    g_free(run_tool(argv));
}

/**
 * read_file() - contents of a file the test itself wrote
 * @path: file name
 *
 * Return: newly allocated contents; aborts the test when unreadable
 */
static char *read_file(const char *path)
{
    g_autoptr(GError) error = NULL;
    char *contents = NULL;

    g_file_get_contents(path, &contents, NULL, &error);
    g_assert_no_error(error);
    return contents;
}

/**
 * write_file() - write a file, aborting the test on failure
 * @path:     file name
 * @contents: NUL-terminated contents
 */
static void write_file(const char *path, const char *contents)
{
    g_autoptr(GError) error = NULL;

    g_file_set_contents(path, contents, -1, &error);
    g_assert_no_error(error);
}

/**
 * free_port() - a TCP port on 127.0.0.1 that was free a moment ago
 *
 * Somebody else may take it before sshd binds it: the caller retries.
 *
 * Return: port number
 */
static int free_port(void)
{
    struct sockaddr_in addr = {
        .sin_family = AF_INET,
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&addr, &len), ==, 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/**
 * child_setup() - GSpawnChildSetupFunc: let sshd die with the test
 * @data: PID of the test process, as a pointer
 *
 * A crashed or killed test must not leave an sshd listening.  The death
 * signal follows the thread that forked, which is always the test's main
 * thread here.  If the test already died before prctl(), nobody is left
 * to send it: give up right away.
 */
static void child_setup(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != (pid_t)GPOINTER_TO_INT(data))
        _exit(1);
}

/**
 * banner_ready() - whether sshd accepts connections and sends its banner
 * @port:     port it should listen on
 * @deadline: g_get_monotonic_time() limit for waiting on the banner
 *
 * Return: TRUE once "SSH-2.0" came back
 */
static gboolean banner_ready(int port, gint64 deadline)
{
    struct sockaddr_in addr = {
        .sin_family = AF_INET,
        .sin_port = htons(port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    char buf[8] = "";
    gsize got = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    gboolean ok = FALSE;

    g_assert_cmpint(fd, >=, 0);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
        while (got < 7) {
            gint64 left = deadline - g_get_monotonic_time();
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            ssize_t n;

            if (left <= 0 || poll(&pfd, 1, (int)(left / 1000) + 1) <= 0)
                break;
            n = read(fd, buf + got, 7 - got);
            if (n <= 0)
                break;
            got += n;
        }
        ok = got == 7 && memcmp(buf, "SSH-2.0", 7) == 0;
    }
    close(fd);
    return ok;
}

/**
 * spawn_sshd() - start sshd on a port and wait until it serves
 * @sshd:   instance with everything but the port, config and PID set
 * @config: sshd_config file name
 * @log:    sshd log file name
 *
 * Return: TRUE when sshd is up; FALSE if it exited (port taken), with
 * nothing left running
 */
static gboolean spawn_sshd(QmTestSshd *sshd, const char *config,
                           const char *log)
{
    const char *argv[] = {SSHD_PATH, "-D", "-e", "-f", config, "-E", log, NULL};
    g_autoptr(GError) error = NULL;
    gint64 deadline = g_get_monotonic_time() + SSHD_START_TIMEOUT_US;
    g_autofree char *listening = NULL;
    g_autofree char *contents = NULL;
    int status;

    /* sshd re-executes itself for every connection: absolute path */
    g_spawn_async(sshd->dir, (char **)argv, NULL,
                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                      G_SPAWN_STDERR_TO_DEV_NULL,
                  child_setup, GINT_TO_POINTER(getpid()), &sshd->pid, &error);
    g_assert_no_error(error);

    /*
     * Whoever took the port first may be an SSH server too: only trust
     * the banner once our sshd said it is the one listening.
     */
    listening =
        g_strdup_printf("Server listening on 127.0.0.1 port %d", sshd->port);
    while (g_get_monotonic_time() < deadline) {
        g_autofree char *so_far = NULL;

        if (waitpid(sshd->pid, &status, WNOHANG) == sshd->pid) {
            sshd->pid = 0;
            return FALSE;
        }
        g_file_get_contents(log, &so_far, NULL, NULL);
        if (so_far != NULL && strstr(so_far, listening) != NULL &&
            banner_ready(sshd->port, deadline)) {
            return TRUE;
        }
        g_usleep(20 * 1000);
    }
    contents = read_file(log);
    g_error("sshd on port %d did not answer within %d s; log:\n%s", sshd->port,
            (int)(SSHD_START_TIMEOUT_US / G_USEC_PER_SEC), contents);
}

/**
 * write_sshd_config() - sshd_config for one instance on one port
 * @sshd:  instance with @dir and @port set
 * @path:  where to write it
 * @extra: further sshd_config lines, or NULL
 */
static void write_sshd_config(const QmTestSshd *sshd, const char *path,
                              const char *extra)
{
    g_autofree char *hostkey = g_build_filename(sshd->dir, "hostkey", NULL);
    g_autofree char *authorized =
        g_build_filename(sshd->dir, "authorized_keys", NULL);
    g_autofree char *pidfile = g_build_filename(sshd->dir, "sshd.pid", NULL);
    g_autofree char *contents = g_strdup_printf(
        "ListenAddress 127.0.0.1:%d\n"
        "HostKey \"%s\"\n"
        "AuthorizedKeysFile \"%s\"\n"
        "PidFile \"%s\"\n"
        /* the scratch directory is not laid out like a home directory */
        "StrictModes no\n"
        "UsePAM no\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\n"
        "AcceptEnv none\n"
        /* "Accepted publickey" lines count sessions for cache tests */
        "LogLevel VERBOSE\n"
        /* remote commands find the same tools as the test */
        "SetEnv \"PATH=%s\"\n",
        sshd->port, hostkey, authorized, pidfile,
        g_getenv("PATH") != NULL ? g_getenv("PATH") : "/usr/bin:/bin");
    g_autofree char *all = g_strconcat(contents, extra ? extra : "", NULL);

    write_file(path, all);
}

/**
 * write_client_files() - known_hosts and ssh_config describing an instance
 * @sshd: running instance
 */
static void write_client_files(QmTestSshd *sshd)
{
    g_autofree char *pub_path =
        g_build_filename(sshd->dir, "hostkey.pub", NULL);
    g_autofree char *pub = g_strstrip(read_file(pub_path));
    g_autofree char *known =
        g_strdup_printf("[127.0.0.1]:%d %s\n", sshd->port, pub);
    g_autofree char *config = g_strdup_printf(
        "Host %s\n"
        "    HostName 127.0.0.1\n"
        "    Port %d\n"
        "    User root\n"
        "    IdentityFile \"%s\"\n"
        "    UserKnownHostsFile \"%s\"\n"
        "    StrictHostKeyChecking yes\n"
        "    IdentitiesOnly yes\n",
        sshd->alias, sshd->port, sshd->identity, sshd->known_hosts);
    const char *argv[] = {"ssh-keygen", "-l",     "-E", "sha256",
                          "-f",         pub_path, NULL};
    g_autofree char *listing = run_tool(argv);
    g_auto(GStrv) fields = g_strsplit(listing, " ", 3);

    write_file(sshd->known_hosts, known);
    write_file(sshd->ssh_config, config);

    /* "256 SHA256:... comment (ED25519)" */
    g_assert_cmpuint(g_strv_length(fields), >=, 2);
    g_assert_true(g_str_has_prefix(fields[1], "SHA256:"));
    sshd->fingerprint = g_strdup(fields[1]);
}

/**
 * qm_test_sshd_start() - start a real sshd as the current user
 * @alias: Host alias for its ssh_config, NULL for "peerN"
 *
 * Aborts the test if sshd cannot be started: call qm_test_sshd_available()
 * first to skip instead.
 *
 * Return: the running instance; stop it with qm_test_sshd_stop()
 */
QmTestSshd *qm_test_sshd_start(const char *alias)
{
    return qm_test_sshd_start_with(alias, NULL);
}

/**
 * qm_test_sshd_start_with() - qm_test_sshd_start() with sshd_config lines
 *                             of the test's own
 * @alias: ssh_config Host alias, or NULL for "peerN"
 * @extra: lines appended to sshd_config ("ForceCommand ...\n"), or NULL
 *
 * Return: the running instance
 */
QmTestSshd *qm_test_sshd_start_with(const char *alias, const char *extra)
{
    return qm_test_sshd_start_full(alias, extra, NULL, NULL);
}

/**
 * qm_test_sshd_start_full() - qm_test_sshd_start_with(), and a hook that
 *                             sees the keys before sshd starts
 * @alias:   ssh_config Host alias, or NULL for "peerN"
 * @extra:   lines appended to sshd_config, or NULL; they may name files
 *           @prepare writes
 * @prepare: called once the instance's directory, host key ("hostkey" and
 *           "hostkey.pub" in @dir) and client key exist, before sshd
 *           reads any of them (to certify the host key, say), or NULL
 * @data:    passed to @prepare
 *
 * Return: the running instance
 */
QmTestSshd *qm_test_sshd_start_full(const char *alias, const char *extra,
                                    QmTestSshdPrepare prepare, gpointer data)
{
    static guint count;
    QmTestSshd *sshd = g_new0(QmTestSshd, 1);
    g_autofree char *template = NULL;
    g_autofree char *hostkey = NULL;
    g_autofree char *pub_path = NULL;
    g_autofree char *pub = NULL;
    g_autofree char *authorized = NULL;
    g_autofree char *config = NULL;
    g_autofree char *log = NULL;
    guint n = g_atomic_int_add(&count, 1) + 1;

    sshd->alias =
        alias != NULL ? g_strdup(alias) : g_strdup_printf("peer%u", n);
    template = g_strdup_printf("sshd-%s-XXXXXX", sshd->alias);
    sshd->dir = g_build_filename(qm_test_tmpdir(), template, NULL);
    g_assert_nonnull(g_mkdtemp_full(sshd->dir, 0700));

    /* sshd refuses to run without its privilege separation directory */
    if (g_mkdir_with_parents(SSHD_PRIVSEP_DIR, 0755) < 0)
        g_error("cannot create %s: %s", SSHD_PRIVSEP_DIR, g_strerror(errno));

    hostkey = g_build_filename(sshd->dir, "hostkey", NULL);
    keygen(hostkey, "qemu-mig test host key");
    sshd->identity = g_build_filename(sshd->dir, "id_ed25519", NULL);
    keygen(sshd->identity, "qemu-mig test client key");
    pub_path = g_strdup_printf("%s.pub", sshd->identity);
    pub = read_file(pub_path);
    authorized = g_build_filename(sshd->dir, "authorized_keys", NULL);
    write_file(authorized, pub);
    if (prepare != NULL)
        prepare(sshd, data);

    config = g_build_filename(sshd->dir, "sshd_config", NULL);
    log = g_build_filename(sshd->dir, "sshd.log", NULL);
    for (int attempt = 1;; attempt++) {
        sshd->port = free_port();
        write_sshd_config(sshd, config, extra);
        if (spawn_sshd(sshd, config, log))
            break;
        if (attempt == SSHD_START_ATTEMPTS) {
            g_autofree char *contents = read_file(log);

            g_error("sshd failed to start %d times; log:\n%s", attempt,
                    contents);
        }
    }

    sshd->dest = g_strdup_printf("root@127.0.0.1:%d", sshd->port);
    sshd->known_hosts = g_build_filename(sshd->dir, "known_hosts", NULL);
    sshd->ssh_config = g_build_filename(sshd->dir, "ssh_config", NULL);
    write_client_files(sshd);
    return sshd;
}

/**
 * qm_test_sshd_start_peers() - start sshds "peer0" to "peer<n-1>" and
 *                              one ssh_config naming them all
 * @peers: array of @n, filled with the running instances
 * @n:     how many
 *
 * Return: newly allocated path of the combined ssh_config, in the test's
 * scratch directory
 */
char *qm_test_sshd_start_peers(QmTestSshd **peers, int n)
{
    g_autoptr(GString) config = g_string_new(NULL);
    char *path = g_build_filename(qm_test_tmpdir(), "ssh_config", NULL);

    for (int i = 0; i < n; i++) {
        g_autofree char *alias = g_strdup_printf("peer%d", i);
        g_autofree char *text = NULL;

        peers[i] = qm_test_sshd_start(alias);
        g_assert_true(
            g_file_get_contents(peers[i]->ssh_config, &text, NULL, NULL));
        g_string_append_printf(config, "%s\n", text);
    }
    g_assert_true(g_file_set_contents(path, config->str, -1, NULL));
    return path;
}

/**
 * qm_test_sshd_stop() - stop an instance and free it
 * @sshd: instance, may be NULL
 *
 * Sessions still open keep their own sshd processes; tests close theirs
 * before stopping the server.
 */
void qm_test_sshd_stop(QmTestSshd *sshd)
{
    if (sshd == NULL)
        return;
    if (sshd->pid > 0) {
        /* A stopped process only acts on SIGTERM once continued */
        kill(sshd->pid, SIGCONT);
        kill(sshd->pid, SIGTERM);
        while (waitpid(sshd->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        g_spawn_close_pid(sshd->pid);
    }
    g_free(sshd->dir);
    g_free(sshd->dest);
    g_free(sshd->alias);
    g_free(sshd->ssh_config);
    g_free(sshd->identity);
    g_free(sshd->known_hosts);
    g_free(sshd->fingerprint);
    g_free(sshd);
}

/**
 * qm_test_sshd_pause() - freeze or thaw the listening sshd
 * @sshd:   instance
 * @paused: TRUE to stop it, FALSE to continue it
 *
 * A stopped listener still completes TCP handshakes in the kernel, so new
 * clients connect and then wait forever for the banner: the hung-peer case.
 * Returns only once the state changed, so tests do not race the signal.
 */
void qm_test_sshd_pause(QmTestSshd *sshd, gboolean paused)
{
    int status;

    g_assert_cmpint(kill(sshd->pid, paused ? SIGSTOP : SIGCONT), ==, 0);
    while (waitpid(sshd->pid, &status, paused ? WUNTRACED : WCONTINUED) < 0)
        g_assert_cmpint(errno, ==, EINTR);
    g_assert_true(paused ? WIFSTOPPED(status) : WIFCONTINUED(status));
}

/**
 * qm_test_sshd_count_sessions() - how many clients authenticated so far
 * @sshd: instance
 *
 * Return: number of "Accepted publickey" lines in sshd's log
 */
guint qm_test_sshd_count_sessions(QmTestSshd *sshd)
{
    g_autofree char *path = g_build_filename(sshd->dir, "sshd.log", NULL);
    g_autofree char *contents = read_file(path);
    guint count = 0;

    for (const char *p = contents; (p = strstr(p, "Accepted publickey")); p++) {
        count++;
    }
    return count;
}
