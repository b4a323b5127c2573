/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the ProxyCommand or ProxyJump that reaches a peer, run by us.
 *
 * libssh 0.10 can run a ProxyCommand itself, but not the way ssh(1) does:
 * it turns "ProxyJump a,b" into "ssh -J b -W [%h]:%p a", the hops in
 * reverse order (OpenSSH's readconf.c takes the LAST hop as the host to
 * run -W on, the others as -J); the jump ssh gets neither the user's -F
 * nor BatchMode, shares our controlling terminal (an unknown jump-host
 * key prompts there, and a background qemu-mig stops on SIGTTIN); and its
 * stderr goes to /dev/null, so every failure reads "Connection reset by
 * peer".  So qemu-mig runs the command itself, as ssh(1) does
 * ("exec COMMAND" through the user's shell), and hands libssh our end of a
 * socketpair (SSH_OPTIONS_FD), as it does with the TCP socket it connects
 * itself (tcp.c).  The command runs in a session of its own, without a
 * terminal, its stderr on a pipe we read for the error message, and is
 * killed with its whole process group when the connection ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "proxy.h"
#include "../wrapper/error.h"
#include "../wrapper/shquote.h"

/* What we keep of a proxy's stderr, for one line of an error message */
#define QM_PROXY_ERR_MAX 4096

/* How long a proxy may take to go once its socket is closed and it got
 * SIGTERM, before SIGKILL */
#define QM_PROXY_GRACE_US (500 * 1000)

/**
 * struct QmProxy - a running proxy command
 * @pid:    its PID, also its process group and session
 * @err_fd: read end of its stderr, non-blocking
 * @err:    what it wrote there so far (the first QM_PROXY_ERR_MAX bytes)
 */
struct QmProxy {
    GPid pid;
    int err_fd;
    GString *err;
};

/**
 * hop_spec() - one ProxyJump hop as ssh -J and ssh's destination take it
 * @user: user or NULL
 * @host: host name or address
 * @port: port as written, or NULL
 *
 * Return: "[user@]host[:port]", IPv6 addresses bracketed when a port
 * follows; newly allocated
 */
static char *hop_spec(const char *user, const char *host, const char *port)
{
    gboolean v6 = strchr(host, ':') != NULL;

    return g_strdup_printf("%s%s%s%s%s%s%s", user ? user : "", user ? "@" : "",
                           port && v6 ? "[" : "", host, port && v6 ? "]" : "",
                           port ? ":" : "", port ? port : "");
}

/**
 * jump_command() - "ssh -J FIRST,...,LAST-BUT-ONE -W [%h]:%p LAST"
 * @hops:        the hops in the order written (emptied)
 * @ssh_config:  --ssh-config, passed on as -F, or NULL
 * @known_hosts: --known-hosts, passed on for the jump hosts, or NULL
 *
 * BatchMode: nothing may ever prompt, as for qemu-mig's own connection.
 *
 * Return: the command, newly allocated
 */
static char *jump_command(GPtrArray *hops, const char *ssh_config,
                          const char *known_hosts)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *jumps = NULL;
    const char *last;

    g_ptr_array_add(argv, g_strdup("ssh"));
    g_ptr_array_add(argv, g_strdup("-oBatchMode=yes"));
    if (ssh_config != NULL) {
        g_ptr_array_add(argv, g_strdup("-F"));
        g_ptr_array_add(argv, g_strdup(ssh_config));
    }
    if (known_hosts != NULL) {
        g_ptr_array_add(
            argv, g_strconcat("-oUserKnownHostsFile=", known_hosts, NULL));
        g_ptr_array_add(
            argv, g_strconcat("-oGlobalKnownHostsFile=", known_hosts, NULL));
    }
    if (hops->len > 1) {
        g_ptr_array_add(argv, g_strdup("-J"));
        g_ptr_array_set_size(hops, hops->len + 1); /* NULL-terminated */
        jumps = g_strjoinv(",", (char **)hops->pdata);
        /* all but the last: cut at the last comma */
        *strrchr(jumps, ',') = '\0';
        g_ptr_array_add(argv, g_steal_pointer(&jumps));
        g_ptr_array_set_size(hops, hops->len - 1);
    }
    g_ptr_array_add(argv, g_strdup("-W"));
    g_ptr_array_add(argv, g_strdup("[%h]:%p"));
    /* "--": a hop is never an option, whatever the config says */
    g_ptr_array_add(argv, g_strdup("--"));
    /* a destination takes a port only as an ssh:// URI (-J takes both) */
    last = g_ptr_array_index(hops, hops->len - 1);
    g_ptr_array_add(argv, g_str_has_prefix(last, "ssh://")
                              ? g_strdup(last)
                              : g_strconcat("ssh://", last, NULL));
    g_ptr_array_add(argv, NULL);
    return qm_shquote_argv((char *const *)argv->pdata);
}

/**
 * qm_proxy_jump_command() - the ssh(1) command for a ProxyJump, in ssh's
 *                           hop order
 * @libssh_command: ProxyCommand as libssh 0.10's config parser wrote it
 * @ssh_config:     --ssh-config, passed on as -F, or NULL
 * @known_hosts:    --known-hosts, passed on for the jump hosts, or NULL
 *
 * libssh keeps no trace of the ProxyJump line but the command it derived:
 * "ssh[ -l USER][ -p PORT][ -J REST] -W '[%h]:%p' FIRST" where FIRST (with
 * USER and PORT) is the line's first hop and REST the others.  ssh(1)
 * connects to the hops in the order written, which is
 * "ssh -J FIRST,...,LAST-BUT-ONE -W [%h]:%p LAST" (jump_command()).
 * Used only where no ssh(1) evaluates ssh_config (sshconfig.c).
 *
 * Return: the command (unexpanded % tokens), or NULL when
 * @libssh_command is not of that form (a ProxyCommand the user wrote)
 */
char *qm_proxy_jump_command(const char *libssh_command, const char *ssh_config,
                            const char *known_hosts)
{
    g_auto(GStrv) words = g_strsplit(libssh_command, " ", -1);
    g_autoptr(GPtrArray) hops = g_ptr_array_new_with_free_func(g_free);
    const char *user = NULL, *port = NULL, *rest = NULL;
    guint n = g_strv_length(words), i = 1;

    if (n < 4 || strcmp(words[0], "ssh") != 0)
        return NULL;
    for (; i + 2 < n; i += 2) {
        if (strcmp(words[i], "-l") == 0 && user == NULL)
            user = words[i + 1];
        else if (strcmp(words[i], "-p") == 0 && port == NULL)
            port = words[i + 1];
        else if (strcmp(words[i], "-J") == 0 && rest == NULL)
            rest = words[i + 1];
        else
            break;
    }
    /* 0.10.6 quotes the forward, earlier 0.10 releases did not */
    if (i + 3 != n || strcmp(words[i], "-W") != 0 ||
        (strcmp(words[i + 1], "[%h]:%p") != 0 &&
         strcmp(words[i + 1], "'[%h]:%p'") != 0) ||
        words[i + 2][0] == '\0')
        return NULL;

    g_ptr_array_add(hops, hop_spec(user, words[i + 2], port));
    if (rest != NULL) {
        g_auto(GStrv) more = g_strsplit(rest, ",", -1);

        for (char **m = more; *m != NULL; m++)
            g_ptr_array_add(hops, g_strdup(*m));
    }
    return jump_command(hops, ssh_config, known_hosts);
}

/**
 * qm_proxy_jump_hops() - the ssh(1) command for a ProxyJump line
 * @jump:        the hops as ssh -G prints them, "a,b,..."
 * @ssh_config:  --ssh-config, passed on as -F, or NULL
 * @known_hosts: --known-hosts, passed on for the jump hosts, or NULL
 *
 * Return: the command (unexpanded % tokens), newly allocated
 */
char *qm_proxy_jump_hops(const char *jump, const char *ssh_config,
                         const char *known_hosts)
{
    g_autoptr(GPtrArray) hops = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) all = g_strsplit(jump, ",", -1);

    for (char **h = all; *h != NULL; h++) {
        if (**h != '\0')
            g_ptr_array_add(hops, g_strdup(*h));
    }
    if (hops->len == 0)
        return NULL;
    return jump_command(hops, ssh_config, known_hosts);
}

/**
 * qm_proxy_expand() - a ProxyCommand with its % tokens replaced
 * @dest:    destination, first word of messages
 * @command: the command as the config has it
 * @target:  what the tokens stand for
 * @error:   set with QM_ERROR_USAGE for a token ssh_config(5) does not
 *           allow in ProxyCommand, or one qemu-mig does not know
 *
 * The tokens of ssh_config(5) for ProxyCommand that do not need the
 * connection: %% %h %n %p %r, %u (local user), %d (local home), %l/%L
 * (local host name, full and short), %i (local UID).  Values are not
 * quoted, as ssh(1) does not quote them: a host name is checked before it
 * gets here (no shell metacharacters, ssh.c's valid_name()).
 *
 * Return: the expanded command, newly allocated, or NULL on error
 */
char *qm_proxy_expand(const char *dest, const char *command,
                      const QmProxyTarget *target, GError **error)
{
    g_autoptr(GString) out = g_string_new(NULL);
    char hostname[256] = "";

    for (const char *p = command; *p != '\0'; p++) {
        if (*p != '%') {
            g_string_append_c(out, *p);
            continue;
        }
        switch (*++p) {
        case '%':
            g_string_append_c(out, '%');
            break;
        case 'h':
            g_string_append(out, target->host);
            break;
        case 'n':
            g_string_append(out, target->alias);
            break;
        case 'p':
            g_string_append_printf(out, "%d", target->port);
            break;
        case 'r':
            g_string_append(out, target->user);
            break;
        case 'u':
            g_string_append(out, g_get_user_name());
            break;
        case 'd':
            g_string_append(out, g_get_home_dir());
            break;
        case 'i':
            g_string_append_printf(out, "%u", (unsigned)getuid());
            break;
        case 'l':
        case 'L':
            if (gethostname(hostname, sizeof(hostname) - 1) < 0)
                hostname[0] = '\0';
            if (*p == 'L')
                hostname[strcspn(hostname, ".")] = '\0';
            g_string_append(out, hostname);
            break;
        default:
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "%s: ProxyCommand: unknown or unsupported token "
                        "\"%%%.1s\"",
                        dest, *p != '\0' ? p : "");
            return NULL;
        }
        if (*p == '\0')
            break;
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/**
 * child_setup() - in the forked child, before exec: leave our session
 *
 * setsid(): no controlling terminal, so nothing the command runs (an
 * inner ssh asking about an unknown host key, a passphrase) can prompt on
 * ours or be stopped by it; and a process group of its own to kill.
 * Only async-signal-safe calls here: we may have other threads.
 */
static void child_setup(gpointer data G_GNUC_UNUSED)
{
    setsid();
}

/**
 * qm_proxy_start() - run a ProxyCommand, connected to a new socket
 * @dest:    destination, first word of messages
 * @command: expanded command, run as "exec COMMAND" by the user's shell
 * @proxy:   the running command, for qm_proxy_free()
 * @fd:      our end of its stdin and stdout, close-on-exec; for libssh
 * @error:   set with QM_ERROR_UNREACHABLE when it cannot be started
 *
 * Return: TRUE when the command runs
 */
gboolean qm_proxy_start(const char *dest, const char *command, QmProxy **proxy,
                        int *fd, GError **error)
{
    g_autoptr(QmProxy) p = g_new0(QmProxy, 1);
    g_autoptr(GError) spawn_error = NULL;
    g_autofree char *script = g_strconcat("exec ", command, NULL);
    const char *shell = g_getenv("SHELL");
    const char *argv[] = {NULL, "-c", script, NULL};
    int sv[2], err_pipe[2];

    p->pid = -1;
    p->err_fd = -1;
    p->err = g_string_new(NULL);
    /* ssh(1) runs it with the user's shell, else /bin/sh */
    argv[0] = shell != NULL && g_path_is_absolute(shell) ? shell : "/bin/sh";

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                    "%s: cannot run ProxyCommand: socketpair: %s", dest,
                    g_strerror(errno));
        return FALSE;
    }
    if (pipe2(err_pipe, O_CLOEXEC) < 0) {
        int err = errno;

        close(sv[0]);
        close(sv[1]);
        g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                    "%s: cannot run ProxyCommand: pipe: %s", dest,
                    g_strerror(err));
        return FALSE;
    }
    /*
     * g_spawn_async_with_pipes_and_fds() dup2()s the given fds onto 0, 1
     * and 2 in the child (clearing close-on-exec there only) and closes
     * nothing of ours in the parent.
     */
    if (!g_spawn_async_with_pipes_and_fds(
            NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, child_setup, NULL,
            sv[1], sv[1], err_pipe[1], NULL, NULL, 0, &p->pid, NULL, NULL, NULL,
            &spawn_error)) {
        close(sv[0]);
        close(sv[1]);
        close(err_pipe[0]);
        close(err_pipe[1]);
        g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                    "%s: cannot run ProxyCommand: %s", dest,
                    spawn_error->message);
        return FALSE;
    }
    close(sv[1]);
    close(err_pipe[1]);
    p->err_fd = err_pipe[0];
    fcntl(p->err_fd, F_SETFL, fcntl(p->err_fd, F_GETFL) | O_NONBLOCK);
    *fd = sv[0];
    *proxy = g_steal_pointer(&p);
    return TRUE;
}

/**
 * proxy_drain() - read what the command wrote on stderr so far
 * @p: proxy
 *
 * Beyond QM_PROXY_ERR_MAX bytes the rest is read and dropped, so that a
 * chatty command never blocks on a full pipe.
 */
static void proxy_drain(QmProxy *p)
{
    char buf[4096];
    ssize_t n;

    while (p->err_fd >= 0 && ((n = read(p->err_fd, buf, sizeof(buf))) > 0 ||
                              (n < 0 && errno == EINTR))) {
        if (n > 0 && p->err->len < QM_PROXY_ERR_MAX)
            g_string_append_len(p->err, buf,
                                MIN((gsize)n, QM_PROXY_ERR_MAX - p->err->len));
    }
}

/**
 * qm_proxy_said() - what the command wrote on stderr, as one line
 * @proxy: proxy, may be NULL
 *
 * Every line counts: with ProxyJump, the inner ssh of a -J chain says why
 * (e.g. "Host key verification failed."), and the outer one only that its
 * forward closed.
 *
 * Return: its non-empty lines joined by "; ", printable, at most about
 * 400 bytes, newly allocated; NULL when it wrote nothing
 */
char *qm_proxy_said(QmProxy *proxy)
{
    g_auto(GStrv) lines = NULL;
    g_autoptr(GString) said = NULL;

    if (proxy == NULL)
        return NULL;
    proxy_drain(proxy);
    lines = g_strsplit(proxy->err->str, "\n", -1);
    said = g_string_new(NULL);
    for (char **l = lines; *l != NULL && said->len < 400; l++) {
        g_strstrip(*l);
        if (**l == '\0')
            continue;
        if (said->len > 0)
            g_string_append(said, "; ");
        g_string_append(said, *l);
    }
    if (said->len == 0)
        return NULL;
    for (gsize i = 0; i < said->len; i++) {
        if ((guchar)said->str[i] < 0x20 || said->str[i] == 0x7f)
            said->str[i] = '?';
    }
    return g_utf8_make_valid(said->str, -1);
}

/**
 * qm_proxy_free() - end the command and its process group, reap it
 * @proxy: proxy, may be NULL
 *
 * Called once libssh let go of the socket, so the command has seen EOF
 * and normally exits by itself; SIGTERM makes sure (an inner ssh waits for
 * nothing), SIGKILL after QM_PROXY_GRACE_US.  The whole group: a shell
 * that did not exec, or ssh -J's own inner ssh, goes as well.
 */
void qm_proxy_free(QmProxy *proxy)
{
    gint64 until;
    int status;

    if (proxy == NULL)
        return;
    if (proxy->pid > 0) {
        kill(-proxy->pid, SIGTERM);
        until = g_get_monotonic_time() + QM_PROXY_GRACE_US;
        /* WNOWAIT: unreaped, the PID (our group's ID) cannot be reused
         * before the SIGKILL below reaches the group */
        for (;;) {
            siginfo_t info = {0};

            if (waitid(P_PID, (id_t)proxy->pid, &info,
                       WEXITED | WNOHANG | WNOWAIT) == 0 &&
                info.si_pid == proxy->pid)
                break;
            if (g_get_monotonic_time() >= until)
                break;
            g_usleep(5000);
        }
        /* the command if it is still there, and whatever it left in its
         * group (ssh -J's inner ssh) */
        kill(-proxy->pid, SIGKILL);
        while (waitpid(proxy->pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    if (proxy->err_fd >= 0)
        close(proxy->err_fd);
    g_string_free(proxy->err, TRUE);
    g_free(proxy);
}
