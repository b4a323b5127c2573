/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: what a destination means after ssh_config, as OpenSSH's own
 * client evaluates it.
 *
 * libssh 0.10 reads ssh_config with a partial re-implementation of
 * OpenSSH's rules: Host blocks matched against the HostName set earlier,
 * Match user/final/canonical/tagged wrong or refused, %C %i %k %n and
 * IdentitiesOnly, CertificateFile, HostKeyAlias, AddressFamily,
 * ConnectTimeout, KnownHostsCommand and every file but the first of
 * UserKnownHostsFile unknown, and Match exec run where no deadline reaches
 * it.  So "ssh -G" decides, the way the user's own ssh(1) would, in a
 * child we can bound and kill, and libssh only carries the connection
 * with exactly those values.  Where no ssh(1) is installed, libssh's
 * parser is the fallback (and -v says so).
 *
 * OpenSSH finds "~" and %d in the passwd entry, never in $HOME; qemu-mig
 * (and every test) means $HOME.  When the two differ, ssh -G gets an
 * explicit config that includes $HOME/.ssh/config and then the system
 * file, as ssh(1) reads them, and paths it expanded under the passwd
 * entry's home are moved to $HOME.
 *
 * A warm launch starts no process: the result is remembered in the cache
 * with the identity (device, inode, size, times) of every file ssh read
 * and of their directories, and is used again only while all are
 * unchanged and no Match exec took part (qm_ssh_config_to_memo()).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <glib-unix.h>
#include <libssh/libssh.h>

#include "proxy.h"
#include "../cache/fileid.h"
#include "sshconfig.h"
#include "../wrapper/error.h"
#include "../wrapper/interrupt.h"

/* Most bytes of ssh -G output (a few KiB in practice) */
#define QM_SSHCFG_OUT_MAX (256 * 1024)

/* Layout of a remembered evaluation; raise when the meaning changes */
#define QM_SSHCFG_MEMO_FORMAT 1

/**
 * qm_ssh_config_free() - release an evaluated config
 * @config: config, may be NULL
 */
void qm_ssh_config_free(QmSshConfig *config)
{
    if (config == NULL)
        return;
    g_free(config->dest);
    g_free(config->alias);
    g_free(config->user);
    g_free(config->hostname);
    g_free(config->host_key_alias);
    g_strfreev(config->identity_files);
    g_strfreev(config->certificate_files);
    g_free(config->identity_agent);
    g_strfreev(config->known_hosts);
    g_free(config->known_hosts_command);
    g_free(config->proxy_command);
    g_free(config->files);
    g_free(config);
}

/**
 * valid_name() - check a host or user name from the command line
 * @s: name
 *
 * Whitespace and control characters can only come from a quoting mistake,
 * and a leading '-' would look like an option to any tool it reaches.
 * Shell metacharacters are refused as ssh(1) refuses them: an ssh_config
 * ProxyCommand (or Match exec) hands %h and %r to /bin/sh.
 *
 * Return: TRUE if @s is non-empty and free of those
 */
static gboolean valid_name(const char *s)
{
    if (s[0] == '\0' || s[0] == '-')
        return FALSE;
    for (const char *p = s; *p != '\0'; p++) {
        if (g_ascii_isspace(*p) || g_ascii_iscntrl(*p) ||
            strchr("'`\"$\\;&<>|(){}", *p) != NULL)
            return FALSE;
    }
    return TRUE;
}

/**
 * dest_split() - split "[user@]host[:port]", "[user@][v6addr][:port]" or
 *                "[user@]alias"
 * @dest:  destination without any "ssh://"
 * @shown: the destination as the user wrote it, for messages
 * @user:  set to the user name, NULL when @dest names none
 * @host:  set to the host name, address or ssh_config Host alias
 * @port:  set to the port, 0 when @dest names none
 * @error: set to a QM_ERROR_USAGE error on failure
 *
 * An unbracketed IPv6 address has several colons: like ssh(1), take it
 * all as the host instead of guessing which colon starts a port.  The last
 * '@' separates the user, as user names may contain '@' and hosts not.
 *
 * Return: TRUE on success
 */
static gboolean dest_split(const char *dest, const char *shown, char **user,
                           char **host, int *port, GError **error)
{
    g_autofree char *u = NULL;
    g_autofree char *h = NULL;
    const char *at = strrchr(dest, '@');
    const char *rest = dest;
    const char *port_str = NULL;
    guint64 port_num = 0;

    if (at != NULL) {
        u = g_strndup(dest, at - dest);
        rest = at + 1;
    }
    if (rest[0] == '[') {
        const char *close = strchr(rest, ']');

        if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "%s: invalid destination: expected [address] or "
                        "[address]:port",
                        shown);
            return FALSE;
        }
        h = g_strndup(rest + 1, close - rest - 1);
        if (close[1] == ':')
            port_str = close + 2;
    } else {
        const char *colon = strchr(rest, ':');

        if (colon != NULL && strchr(colon + 1, ':') == NULL) {
            h = g_strndup(rest, colon - rest);
            port_str = colon + 1;
        } else {
            h = g_strdup(rest);
        }
    }

    if (u != NULL && !valid_name(u)) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s: invalid destination: bad user name", shown);
        return FALSE;
    }
    if (!valid_name(h) || strpbrk(h, "@[]/") != NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s: invalid destination: bad host name", shown);
        return FALSE;
    }
    if (port_str != NULL &&
        !g_ascii_string_to_unsigned(port_str, 10, 1, 65535, &port_num, NULL)) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s: invalid destination: port must be 1 to 65535", shown);
        return FALSE;
    }

    *user = g_steal_pointer(&u);
    *host = g_steal_pointer(&h);
    *port = (int)port_num;
    return TRUE;
}

/**
 * qm_ssh_dest_parse() - split a destination as the user wrote it: see
 *                       dest_split(), or "ssh://[user@]host[:port]" as
 *                       ssh(1) takes it
 * @dest:  destination as the user wrote it
 * @user:  set to the user name, NULL when @dest names none
 * @host:  set to the host name, address or ssh_config Host alias
 * @port:  set to the port, 0 when @dest names none
 * @error: set to a QM_ERROR_USAGE error on failure
 *
 * Return: TRUE on success
 */
gboolean qm_ssh_dest_parse(const char *dest, char **user, char **host,
                           int *port, GError **error)
{
    /* ssh(1) also takes ssh://[user@]host[:port], with no path */
    if (g_str_has_prefix(dest, "ssh://")) {
        g_autofree char *bare = g_strdup(dest + strlen("ssh://"));
        char *slash = strchr(bare, '/');

        if ((slash != NULL && slash[1] != '\0') ||
            g_str_has_prefix(bare, "ssh://")) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "%s: invalid destination: an ssh:// address is "
                        "ssh://[user@]host[:port]",
                        dest);
            return FALSE;
        }
        if (slash != NULL)
            *slash = '\0';
        return dest_split(bare, dest, user, host, port, error);
    }
    return dest_split(dest, dest, user, host, port, error);
}

/**
 * qm_ssh_home_path() - a file name from the command line or ssh_config,
 *                      "~" being $HOME
 * @path: file name
 *
 * Return: newly allocated file name
 */
char *qm_ssh_home_path(const char *path)
{
    if (strcmp(path, "~") == 0 || g_str_has_prefix(path, "~/"))
        return g_build_filename(g_get_home_dir(), path + 1, NULL);
    return g_strdup(path);
}

/**
 * passwd_home() - the home directory OpenSSH uses: the passwd entry's
 *
 * Return: newly allocated directory, NULL when there is no entry
 */
static char *passwd_home(void)
{
    struct passwd pw, *found = NULL;
    char buf[4096];

    if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &found) != 0 ||
        found == NULL || pw.pw_dir == NULL)
        return NULL;
    return g_strdup(pw.pw_dir);
}

/**
 * user_config() - the user's ssh_config when --ssh-config names none
 *
 * Return: $HOME/.ssh/config, newly allocated
 */
static char *user_config(void)
{
    return g_build_filename(g_get_home_dir(), ".ssh", "config", NULL);
}

/**
 * config_trusted() - refuse an ssh_config others may write
 * @dest:   destination, for messages
 * @config: --ssh-config, or NULL for ~/.ssh/config
 * @error:  set with QM_ERROR_USAGE on refusal
 *
 * An ssh_config runs commands (ProxyCommand, Match exec, LocalCommand) as
 * the user qemu-mig runs as, often root: ssh(1) refuses a user config
 * owned by someone else or writable by group or others ("Bad owner or
 * permissions"), and so does qemu-mig - also where ssh(1) would look at
 * the passwd entry's ~/.ssh/config instead.  A missing file is fine.
 *
 * Return: TRUE when the file may be read
 */
static gboolean config_trusted(const char *dest, const char *config,
                               GError **error)
{
    g_autofree char *user_file = NULL;
    struct stat st;

    if (config == NULL)
        config = user_file = user_config();
    if (stat(config, &st) < 0)
        return TRUE;
    if ((st.st_uid != 0 && st.st_uid != getuid()) || (st.st_mode & 022)) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s: bad owner or permissions on ssh_config %s "
                    "(writable by others, or someone else's): refused, as "
                    "ssh(1) refuses it",
                    dest, config);
        return FALSE;
    }
    return TRUE;
}

/**
 * config_readable() - refuse a --ssh-config that cannot be read
 * @dest:   destination, for messages
 * @config: --ssh-config
 * @error:  set with QM_ERROR_USAGE
 *
 * Return: TRUE when readable
 */
static gboolean config_readable(const char *dest, const char *config,
                                GError **error)
{
    int err = 0;

    if (g_file_test(config, G_FILE_TEST_IS_DIR))
        err = EISDIR;
    else if (access(config, R_OK) < 0)
        err = errno;
    if (err == 0)
        return TRUE;
    g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                "%s: cannot read ssh_config %s: %s", dest, config,
                g_strerror(err));
    return FALSE;
}

/**
 * config_files() - the configs ssh(1) reads by default, for the memo
 * @options: the user's SSH options
 * @set:     where to add them (not their directories)
 */
static void config_files(const QmSshOptions *options, GHashTable *set)
{
    g_autofree char *user_file = user_config();

    if (options->ssh_config != NULL) {
        g_autofree char *abs =
            g_canonicalize_filename(options->ssh_config, NULL);

        qm_fileid_add_file(set, abs);
        return;
    }
    qm_fileid_add_file(set, user_file);
    qm_fileid_add_file(set, "/etc/ssh/ssh_config");
}

/**
 * Run - one ssh -G child and what it said
 * @pid: its PID, also its process group
 * @out: stdout
 * @err: stderr
 */
typedef struct {
    GPid pid;
    GString *out;
    GString *err;
} Run;

/**
 * child_setup() - in the ssh -G child: a session of its own
 * @data: unused
 *
 * So that a Match exec command it starts (and whatever that starts) goes
 * with one kill of the process group, and none can open our terminal.
 */
static void child_setup(gpointer data)
{
    setsid();
}

/**
 * read_some() - move what a pipe has into a buffer
 * @fd:  non-blocking pipe, set to -1 (and closed) at EOF
 * @buf: buffer, bounded by QM_SSHCFG_OUT_MAX
 */
static void read_some(int *fd, GString *buf)
{
    char chunk[8192];
    ssize_t r;

    while ((r = read(*fd, chunk, sizeof(chunk))) > 0) {
        if (buf->len < QM_SSHCFG_OUT_MAX)
            g_string_append_len(buf, chunk,
                                MIN((gsize)r, QM_SSHCFG_OUT_MAX - buf->len));
    }
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        close(*fd);
        *fd = -1;
    }
}

/**
 * last_command() - the Match exec command ssh -G was running, if any
 * @err: its stderr so far
 *
 * Return: the command, newly allocated, or NULL
 */
static char *last_command(const GString *err)
{
    static const char tag[] = "debug1: Executing command: '";
    const char *at = g_strrstr(err->str, tag);
    const char *end;

    if (at == NULL)
        return NULL;
    at += strlen(tag);
    end = strchr(at, '\n');
    if (end == NULL)
        end = at + strlen(at);
    while (end > at && (end[-1] == '\r' || end[-1] == '\''))
        end--;
    return g_strndup(at, end - at);
}

/**
 * child_exited() - has a child exited, without reaping it?
 * @pid: the child
 *
 * Return: TRUE once it is a zombie
 */
static gboolean child_exited(GPid pid)
{
    siginfo_t info = {0};

    return waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == pid;
}

/**
 * run_ssh_g() - run ssh -G (or a KnownHostsCommand) to its end, within a
 *               deadline
 * @dest:     destination, first word of messages
 * @what:     what it does, completing "timed out after N s ..."
 * @argv:     command
 * @input:    its stdin, or NULL for /dev/null
 * @deadline: g_get_monotonic_time() deadline
 * @run:      its output and status
 * @status:   its wait status
 * @error:    QM_ERROR_UNREACHABLE on timeout (a Match exec is named),
 *            QM_ERROR_FAILED when interrupted or not started
 *
 * Return: TRUE when it ran to its end
 */
static gboolean run_ssh_g(const char *dest, const char *what, char **argv,
                          const char *input, gint64 deadline, Run *run,
                          int *status, GError **error)
{
    g_autoptr(GError) spawn_error = NULL;
    int in_fd = -1, out_fd = -1, err_fd = -1;
    gint64 start = g_get_monotonic_time();
    gsize in_done = 0, in_len = input ? strlen(input) : 0;
    gboolean exited = FALSE;

    if (!g_spawn_async_with_pipes(
            NULL, argv, NULL,
            G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_CLOEXEC_PIPES |
                (input == NULL ? G_SPAWN_STDIN_FROM_DEV_NULL : 0),
            child_setup, NULL, &run->pid, input ? &in_fd : NULL, &out_fd,
            &err_fd, &spawn_error)) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED,
                    "%s: cannot run %s %s: %s", dest, argv[0], what,
                    spawn_error->message);
        return FALSE;
    }
    g_unix_set_fd_nonblocking(out_fd, TRUE, NULL);
    g_unix_set_fd_nonblocking(err_fd, TRUE, NULL);
    if (in_fd >= 0)
        g_unix_set_fd_nonblocking(in_fd, TRUE, NULL);

    while (!exited || out_fd >= 0 || err_fd >= 0) {
        struct pollfd fds[3];
        nfds_t n = 0;
        int ms = qm_interrupt_poll_ms(deadline);

        if (qm_interrupt_pending() || ms == 0)
            break;
        if (out_fd >= 0)
            fds[n++] = (struct pollfd){.fd = out_fd, .events = POLLIN};
        if (err_fd >= 0)
            fds[n++] = (struct pollfd){.fd = err_fd, .events = POLLIN};
        if (in_fd >= 0)
            fds[n++] = (struct pollfd){.fd = in_fd, .events = POLLOUT};
        /* once it exited, what a command it left behind holds open is
         * not waited for */
        if (exited)
            ms = 0;
        if (n > 0 && poll(fds, n, ms) < 0 && errno != EINTR)
            break;
        /* both pipes at EOF: the kernel closes a dying process's files
         * before it becomes a zombie, so the exit is a moment away */
        if (n == 0 && !exited)
            g_usleep(MIN(ms, 2) * 1000);
        if (in_fd >= 0) {
            ssize_t w = write(in_fd, input + in_done, in_len - in_done);

            if (w > 0)
                in_done += w;
            if (in_done == in_len || (w < 0 && errno != EAGAIN)) {
                close(in_fd);
                in_fd = -1;
            }
        }
        if (out_fd >= 0)
            read_some(&out_fd, run->out);
        if (err_fd >= 0)
            read_some(&err_fd, run->err);
        if (!exited && child_exited(run->pid))
            exited = TRUE;
        if (exited) {
            /* what it wrote between our read and its exit is still
             * there; what a command it left behind writes later is not
             * waited for */
            if (out_fd >= 0)
                read_some(&out_fd, run->out);
            if (err_fd >= 0)
                read_some(&err_fd, run->err);
            if (out_fd >= 0)
                close(out_fd);
            if (err_fd >= 0)
                close(err_fd);
            out_fd = err_fd = -1;
        }
    }
    if (in_fd >= 0)
        close(in_fd);
    if (out_fd >= 0)
        close(out_fd);
    if (err_fd >= 0)
        close(err_fd);
    /* ssh -G and whatever Match exec started: one process group, whose
     * leader is not reaped yet, so its id cannot have been reused */
    kill(-run->pid, SIGKILL);
    while (waitpid(run->pid, status, 0) < 0 && errno == EINTR)
        ;
    if (exited)
        return TRUE;
    if (!qm_interrupt_check(dest, error))
        return FALSE;
    {
        g_autofree char *command = last_command(run->err);

        g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                    "%s: timed out after %.1f s %s%s%s%s", dest,
                    (g_get_monotonic_time() - start) / 1e6, what,
                    command ? " (Match exec \"" : "", command ? command : "",
                    command ? "\" had not finished)" : "");
    }
    return FALSE;
}

/**
 * ssh_said() - the first line of ssh -G's stderr that is not debug output
 * @err: stderr
 *
 * Return: the line, newly allocated, or NULL
 */
static char *ssh_said(const GString *err)
{
    g_auto(GStrv) lines = g_strsplit(err->str, "\n", -1);

    for (char **l = lines; *l != NULL; l++) {
        g_strstrip(*l);
        if (**l == '\0' || g_str_has_prefix(*l, "debug") ||
            g_str_has_prefix(*l, "Pseudo-terminal") ||
            g_str_has_prefix(*l, "OpenSSH_"))
            continue;
        return g_strdup(*l);
    }
    return NULL;
}

/**
 * home_moved() - a path ssh(1) expanded under the passwd home, moved to
 *                $HOME
 * @path:   path as ssh -G printed it
 * @pwhome: passwd home when it differs from $HOME, else NULL
 *
 * Return: newly allocated path
 */
static char *home_moved(const char *path, const char *pwhome)
{
    gsize n = pwhome ? strlen(pwhome) : 0;

    if (n > 1 && strncmp(path, pwhome, n) == 0 &&
        (path[n] == '/' || path[n] == '\0'))
        return g_strconcat(g_get_home_dir(), path + n, NULL);
    return g_strdup(path);
}

/**
 * qm_ssh_config_expand() - expand ~ and ssh_config(5)'s % tokens
 * @config:  evaluated config (host, user, port)
 * @value:   value from ssh_config
 * @allowed: the tokens the directive takes ("%" always), e.g. "CdhiLlnpru"
 * @error:   set with QM_ERROR_USAGE for a token the directive does not take
 *
 * %C is OpenSSH 9.2's: SHA-1 of %l%h%p%r in hex.  %d is $HOME (see the
 * top of the file), %k the HostKeyAlias or else the host as written.
 *
 * Return: newly allocated value, or NULL on error
 */
char *qm_ssh_config_expand(const QmSshConfig *config, const char *value,
                           const char *allowed, GError **error)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autofree char *tilde = qm_ssh_home_path(value);
    char host[256] = "";
    char *dot;

    gethostname(host, sizeof(host) - 1);
    for (const char *p = tilde; *p != '\0'; p++) {
        g_autofree char *port = g_strdup_printf("%d", config->port);

        if (*p != '%') {
            g_string_append_c(out, *p);
            continue;
        }
        p++;
        if (*p == '%') {
            g_string_append_c(out, '%');
            continue;
        }
        if (*p == '\0' || strchr(allowed, *p) == NULL) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "%s: ssh_config value \"%s\": token %%%c is not "
                        "allowed there",
                        config->dest, value, *p ? *p : ' ');
            return NULL;
        }
        switch (*p) {
        case 'C': {
            g_autofree char *all = g_strdup_printf(
                "%s%s%d%s", host, config->hostname, config->port, config->user);
            g_autofree char *sum =
                g_compute_checksum_for_string(G_CHECKSUM_SHA1, all, -1);

            g_string_append(out, sum);
            break;
        }
        case 'd':
            g_string_append(out, g_get_home_dir());
            break;
        case 'h':
            g_string_append(out, config->hostname);
            break;
        case 'i':
            g_string_append_printf(out, "%u", (unsigned)getuid());
            break;
        case 'k':
            g_string_append(out, config->host_key_alias ? config->host_key_alias
                                                        : config->alias);
            break;
        case 'L':
            dot = strchr(host, '.');
            g_string_append_len(out, host, dot ? dot - host : (gssize)-1);
            break;
        case 'l':
            g_string_append(out, host);
            break;
        case 'n':
            g_string_append(out, config->alias);
            break;
        case 'p':
            g_string_append(out, port);
            break;
        case 'r':
            g_string_append(out, config->user);
            break;
        case 'u':
            g_string_append(out, g_get_user_name());
            break;
        default:
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "%s: ssh_config value \"%s\": token %%%c is not "
                        "supported by qemu-mig",
                        config->dest, value, *p);
            return NULL;
        }
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/**
 * known_hosts_list() - the files host keys are checked against
 * @options: the user's SSH options
 * @user:    UserKnownHostsFile files, may be NULL
 * @global:  GlobalKnownHostsFile files, may be NULL
 *
 * --known-hosts alone when given: a key missing from it must not slip
 * through because another file happens to list it.
 *
 * Return: new NULL-terminated list
 */
static GStrv known_hosts_list(const QmSshOptions *options,
                              const GPtrArray *user, const GPtrArray *global)
{
    g_autoptr(GStrvBuilder) files = g_strv_builder_new();

    if (options->known_hosts != NULL) {
        g_autofree char *file = qm_ssh_home_path(options->known_hosts);

        g_strv_builder_add(files, file);
        return g_strv_builder_end(files);
    }
    for (guint i = 0; user != NULL && i < user->len; i++)
        g_strv_builder_add(files, g_ptr_array_index(user, i));
    for (guint i = 0; global != NULL && i < global->len; i++)
        g_strv_builder_add(files, g_ptr_array_index(global, i));
    return g_strv_builder_end(files);
}

/**
 * expand_all() - expand every value of a file list directive
 * @c:       config so far (host, user, port known)
 * @values:  values as ssh -G printed them
 * @error:   set on a bad token
 *
 * Return: new NULL-terminated list, or NULL on error
 */
static GStrv expand_all(const QmSshConfig *c, const GPtrArray *values,
                        GError **error)
{
    g_autoptr(GStrvBuilder) out = g_strv_builder_new();

    for (guint i = 0; i < values->len; i++) {
        /* OpenSSH 9.2's tokens for IdentityFile and CertificateFile */
        g_autofree char *v = qm_ssh_config_expand(
            c, g_ptr_array_index(values, i), "CdhikLlnpru", error);

        if (v == NULL)
            return NULL;
        g_strv_builder_add(out, v);
    }
    return g_strv_builder_end(out);
}

/**
 * parse_openssh() - read ssh -G's dump into a config
 * @c:       config with @dest, @alias set
 * @out:     ssh -G's stdout
 * @pwhome:  passwd home when it differs from $HOME, else NULL
 * @options: the user's SSH options
 * @error:   set on a value qemu-mig cannot use
 *
 * Return: TRUE on success
 */
static gboolean parse_openssh(QmSshConfig *c, const char *out,
                              const char *pwhome, const QmSshOptions *options,
                              GError **error)
{
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) certs = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) ukh = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) gkh = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *jump = NULL;
    guint64 n;

    c->port = 0;
    for (char **l = lines; *l != NULL; l++) {
        char *value = strchr(*l, ' ');
        const char *key = *l;

        if (value == NULL)
            continue;
        *value++ = '\0';
        if (strcmp(key, "user") == 0) {
            g_free(c->user);
            c->user = g_strdup(value);
        } else if (strcmp(key, "hostname") == 0) {
            g_free(c->hostname);
            c->hostname = g_strdup(value);
        } else if (strcmp(key, "port") == 0 &&
                   g_ascii_string_to_unsigned(value, 10, 1, 65535, &n, NULL)) {
            c->port = (int)n;
        } else if (strcmp(key, "hostkeyalias") == 0) {
            g_free(c->host_key_alias);
            c->host_key_alias = g_strdup(value);
        } else if (strcmp(key, "identityfile") == 0) {
            g_ptr_array_add(ids, g_strdup(value));
        } else if (strcmp(key, "certificatefile") == 0) {
            g_ptr_array_add(certs, g_strdup(value));
        } else if (strcmp(key, "identitiesonly") == 0) {
            c->identities_only = strcmp(value, "yes") == 0;
        } else if (strcmp(key, "identityagent") == 0) {
            g_free(c->identity_agent);
            c->identity_agent =
                strcmp(value, "SSH_AUTH_SOCK") == 0 ? NULL : g_strdup(value);
        } else if (strcmp(key, "userknownhostsfile") == 0 ||
                   strcmp(key, "globalknownhostsfile") == 0) {
            g_auto(GStrv) files = g_strsplit(value, " ", -1);
            GPtrArray *to = key[0] == 'u' ? ukh : gkh;

            for (char **f = files; *f != NULL; f++) {
                if (**f != '\0' && strcmp(*f, "none") != 0)
                    g_ptr_array_add(to, home_moved(*f, pwhome));
            }
        } else if (strcmp(key, "knownhostscommand") == 0 &&
                   strcmp(value, "none") != 0) {
            g_free(c->known_hosts_command);
            c->known_hosts_command = g_strdup(value);
        } else if (strcmp(key, "proxycommand") == 0 &&
                   strcmp(value, "none") != 0) {
            g_free(c->proxy_command);
            c->proxy_command = g_strdup(value);
        } else if (strcmp(key, "proxyjump") == 0 &&
                   strcmp(value, "none") != 0) {
            g_free(jump);
            jump = g_strdup(value);
        } else if (strcmp(key, "addressfamily") == 0) {
            c->address_family = strcmp(value, "inet") == 0    ? AF_INET
                                : strcmp(value, "inet6") == 0 ? AF_INET6
                                                              : AF_UNSPEC;
        } else if (strcmp(key, "connecttimeout") == 0) {
            c->connect_timeout_s =
                g_ascii_string_to_unsigned(value, 10, 1, G_MAXINT, &n, NULL)
                    ? (int)n
                    : 0;
        }
    }
    /* ssh -G always prints these three first: without one of them the
     * dump is not whole, and a default would reach another host */
    if (c->user == NULL || c->hostname == NULL || c->port == 0) {
        g_autofree char *head = g_strndup(out, strcspn(out, "\n"));
        g_autofree char *shown = g_strescape(head, NULL);

        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "%s: ssh -G printed no user, host name or port "
                    "(%zu bytes of output, starting \"%.60s\")",
                    c->dest, strlen(out), shown);
        return FALSE;
    }
    /* ssh(1) takes the first of the two that the config sets */
    if (jump != NULL && c->proxy_command == NULL)
        c->proxy_command =
            qm_proxy_jump_hops(jump, options->ssh_config, options->known_hosts);
    c->known_hosts = known_hosts_list(options, ukh, gkh);
    c->identity_files = expand_all(c, ids, error);
    if (c->identity_files == NULL)
        return FALSE;
    c->certificate_files = expand_all(c, certs, error);
    return c->certificate_files != NULL;
}

/**
 * files_read() - the identities of what ssh -G read, from its -v output
 * @err:     its stderr
 * @options: the user's SSH options
 * @ran:     set when a Match exec ran
 *
 * Return: newly allocated identity lines
 */
static char *files_read(const GString *err, const QmSshOptions *options,
                        gboolean *ran)
{
    static const char reading[] = "debug1: Reading configuration data ";
    static const char no_match[] = " matched no files";
    g_autoptr(GHashTable) set = qm_fileid_set_new();
    g_auto(GStrv) lines = g_strsplit(err->str, "\n", -1);

    config_files(options, set);
    for (char **l = lines; *l != NULL; l++) {
        const char *inc;

        if (g_str_has_prefix(*l, reading)) {
            const char *path = *l + strlen(reading);

            /* an included file's directory too (a glob may match a new
             * file there); a top-level config's is not needed (one
             * created later changes its own line) and changes too often
             * (~/.ssh holds ControlMaster sockets) */
            if (strcmp(path, "/dev/stdin") != 0 &&
                !g_hash_table_contains(set, path))
                qm_fileid_add(set, path);
        } else if (g_str_has_prefix(*l, "debug1: Executing command:")) {
            *ran = TRUE;
        } else if (g_str_has_suffix(*l, no_match) &&
                   (inc = strstr(*l, ": include ")) != NULL) {
            /* "FILE line N: include PATTERN matched no files": a file
             * created there later must be seen */
            g_autofree char *pattern = g_strndup(
                inc + strlen(": include "),
                strlen(inc + strlen(": include ")) - strlen(no_match));
            g_autofree char *dir = g_path_get_dirname(pattern);

            if (strpbrk(dir, "*?[") == NULL)
                qm_fileid_add(set, pattern[0] == '/' ? dir : "");
        }
    }
    return qm_fileid_lines(set);
}

/**
 * evaluate_openssh() - evaluate with ssh -G
 * @c:        config with @dest, @alias set
 * @ssh:      path of ssh(1)
 * @options:  the user's SSH options
 * @user:     user in the destination, or NULL
 * @port:     port in the destination, or 0
 * @deadline: g_get_monotonic_time() deadline
 * @error:    set on failure
 *
 * Return: TRUE on success
 */
static gboolean evaluate_openssh(QmSshConfig *c, const char *ssh,
                                 const QmSshOptions *options, const char *user,
                                 int port, gint64 deadline, GError **error)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *pwhome = passwd_home();
    g_autofree char *input = NULL;
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GString) err = g_string_new(NULL);
    Run run = {.out = out, .err = err};
    int status = 0;

    if (pwhome != NULL && strcmp(pwhome, g_get_home_dir()) == 0)
        g_clear_pointer(&pwhome, g_free);
    g_ptr_array_add(argv, g_strdup(ssh));
    g_ptr_array_add(argv, g_strdup("-G"));
    g_ptr_array_add(argv, g_strdup("-v"));
    if (options->ssh_config != NULL) {
        g_ptr_array_add(argv, g_strdup("-F"));
        g_ptr_array_add(argv, qm_ssh_home_path(options->ssh_config));
    } else if (pwhome != NULL) {
        g_autofree char *mine = user_config();

        /* the files ssh(1) reads by default, with ~ being $HOME */
        input = g_strdup_printf("Include \"%s\"\nInclude /etc/ssh/ssh_config\n",
                                mine);
        g_ptr_array_add(argv, g_strdup("-F"));
        g_ptr_array_add(argv, g_strdup("/dev/stdin"));
    }
    if (user != NULL) {
        g_ptr_array_add(argv, g_strdup("-l"));
        g_ptr_array_add(argv, g_strdup(user));
    }
    if (port != 0) {
        g_ptr_array_add(argv, g_strdup("-p"));
        g_ptr_array_add(argv, g_strdup_printf("%d", port));
    }
    g_ptr_array_add(argv, g_strdup("--"));
    g_ptr_array_add(argv, g_strdup(c->alias));
    g_ptr_array_add(argv, NULL);

    if (!run_ssh_g(c->dest, "reading ssh_config", (char **)argv->pdata, input,
                   deadline, &run, &status, error))
        return FALSE;
    /* ssh's log lines end in "\r\n": without the '\r', a path it read
     * would never be found again, and the memo never invalidated */
    {
        gsize j = 0;

        for (gsize i = 0; i < err->len; i++)
            if (err->str[i] != '\r')
                err->str[j++] = err->str[i];
        g_string_truncate(err, j);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        g_autofree char *said = ssh_said(err);

        /* a config ssh(1) refuses is the user's to fix, not an outage:
         * never a reason to fall back to a stale profile */
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s: ssh_config refused by ssh -G: %s", c->dest,
                    said ? said : "no reason given");
        return FALSE;
    }
    c->by_openssh = TRUE;
    c->files = files_read(err, options, &c->ran_commands);
    return parse_openssh(c, out->str, pwhome, options, error);
}

/* libssh 0.10 has no autoptr support */
typedef char QmSshcfgChars;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmSshcfgChars, ssh_string_free_char)
typedef struct ssh_session_struct QmSshcfgSession;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmSshcfgSession, ssh_free)

/**
 * libssh_path() - a file name libssh reads back unchanged
 * @path: file name
 *
 * libssh runs most file options through its %-escape expansion and
 * expands a leading '~' from the passwd entry, not $HOME: double every
 * '%' and expand '~' ourselves so the file the user named is the one read.
 *
 * Return: newly allocated file name
 */
static char *libssh_path(const char *path)
{
    g_autofree char *expanded = qm_ssh_home_path(path);
    g_auto(GStrv) parts = g_strsplit(expanded, "%", -1);

    return g_strjoinv("%%", parts);
}

/**
 * evaluate_libssh() - evaluate with libssh's parser, where there is no
 *                     ssh(1)
 * @c:       config with @dest, @alias set
 * @options: the user's SSH options
 * @user:    user in the destination, or NULL
 * @port:    port in the destination, or 0
 * @error:   set on failure
 *
 * Return: TRUE on success
 */
static gboolean evaluate_libssh(QmSshConfig *c, const QmSshOptions *options,
                                const char *user, int port, GError **error)
{
    static const char *const defaults[] = {
        "id_rsa",        "id_ecdsa", "id_ecdsa_sk", "id_ed25519",
        "id_ed25519_sk", "id_xmss",  "id_dsa",
    };
    g_autoptr(QmSshcfgSession) s = ssh_new();
    g_autofree char *ssh_dir = g_build_filename(g_get_home_dir(), ".ssh", NULL);
    g_autofree char *config = NULL;
    g_autoptr(QmSshcfgChars) value = NULL;
    g_autoptr(QmSshcfgChars) ukh = NULL;
    g_autoptr(QmSshcfgChars) gkh = NULL;
    g_autoptr(GPtrArray) ukh_list = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) gkh_list = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GStrvBuilder) ids = g_strv_builder_new();
    g_autofree char *ukh_default =
        g_build_filename(ssh_dir, "known_hosts", NULL);
    unsigned int p = 0;

    if (s == NULL || ssh_options_set(s, SSH_OPTIONS_SSH_DIR, ssh_dir) < 0 ||
        ssh_options_set(s, SSH_OPTIONS_HOST, c->alias) < 0 ||
        (user != NULL && ssh_options_set(s, SSH_OPTIONS_USER, user) < 0) ||
        (port != 0 && ssh_options_set(s, SSH_OPTIONS_PORT, &port) < 0)) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED,
                    "%s: cannot set SSH options", c->dest);
        return FALSE;
    }
    if (options->ssh_config != NULL)
        config = libssh_path(options->ssh_config);
    if (ssh_options_parse_config(s, config) < 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s: cannot use ssh_config %s: %s", c->dest,
                    options->ssh_config ? options->ssh_config
                                        : "(~/.ssh/config or "
                                          "/etc/ssh/ssh_config)",
                    ssh_get_error(s));
        return FALSE;
    }
    /* what the destination says explicitly beats any ssh_config */
    if ((user != NULL && ssh_options_set(s, SSH_OPTIONS_USER, user) < 0) ||
        (port != 0 && ssh_options_set(s, SSH_OPTIONS_PORT, &port) < 0)) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED,
                    "%s: cannot set SSH options", c->dest);
        return FALSE;
    }
    if (ssh_options_get(s, SSH_OPTIONS_HOST, &value) != SSH_OK) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s: cannot resolve the host name", c->dest);
        return FALSE;
    }
    c->hostname = g_strdup(value);
    g_clear_pointer(&value, ssh_string_free_char);
    c->user = ssh_options_get(s, SSH_OPTIONS_USER, &value) == SSH_OK
                  ? g_strdup(value)
                  : g_strdup(g_get_user_name());
    g_clear_pointer(&value, ssh_string_free_char);
    ssh_options_get_port(s, &p);
    c->port = p ? (int)p : 22;
    if (ssh_options_get(s, SSH_OPTIONS_PROXYCOMMAND, &value) == SSH_OK &&
        value != NULL && g_ascii_strcasecmp(value, "none") != 0) {
        c->proxy_command = qm_proxy_jump_command(value, options->ssh_config,
                                                 options->known_hosts);
        if (c->proxy_command == NULL)
            c->proxy_command = g_strdup(value);
    }
    g_clear_pointer(&value, ssh_string_free_char);

    /* the first file of each, and with a default its "2" sibling */
    if (ssh_options_get(s, SSH_OPTIONS_KNOWNHOSTS, &ukh) != SSH_OK)
        ukh = NULL;
    if (ssh_options_get(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, &gkh) != SSH_OK)
        gkh = NULL;
    g_ptr_array_add(ukh_list, g_strdup(ukh ? ukh : ukh_default));
    if (ukh == NULL || strcmp(ukh, ukh_default) == 0)
        g_ptr_array_add(ukh_list, g_strconcat(ukh_default, "2", NULL));
    g_ptr_array_add(gkh_list, g_strdup(gkh ? gkh : "/etc/ssh/ssh_known_hosts"));
    if (gkh == NULL || strcmp(gkh, "/etc/ssh/ssh_known_hosts") == 0)
        g_ptr_array_add(gkh_list, g_strdup("/etc/ssh/ssh_known_hosts2"));
    c->known_hosts = known_hosts_list(options, ukh_list, gkh_list);

    /* libssh only tells the first IdentityFile; the defaults otherwise */
    if (ssh_options_get(s, SSH_OPTIONS_IDENTITY, &value) == SSH_OK &&
        value != NULL && !g_str_has_prefix(value, "%d/id_")) {
        g_autofree char *id = qm_ssh_home_path(value);

        g_strv_builder_add(ids, id);
    } else {
        for (gsize i = 0; i < G_N_ELEMENTS(defaults); i++) {
            g_autofree char *id = g_build_filename(ssh_dir, defaults[i], NULL);

            g_strv_builder_add(ids, id);
        }
    }
    c->identity_files = g_strv_builder_end(ids);
    c->certificate_files = g_new0(char *, 1);
    return TRUE;
}

/**
 * qm_ssh_config_evaluate() - what a destination means after ssh_config
 * @dest:     "[user@]host[:port]", "[user@][v6addr][:port]",
 *            "ssh://[user@]host[:port]" or an ssh_config Host alias
 * @options:  what the user said about SSH, may be NULL
 * @deadline: g_get_monotonic_time() deadline, for ssh -G and the Match
 *            exec commands it runs
 * @config:   set to the result
 * @error:    QM_ERROR_USAGE for a bad destination or a config that is
 *            unreadable, someone else's or refused by ssh(1);
 *            QM_ERROR_UNREACHABLE on timeout; QM_ERROR_FAILED when
 *            interrupted
 *
 * A user or port written in the destination wins over ssh_config, as for
 * ssh(1) (ssh -G gets them as -l and -p).
 *
 * Return: TRUE on success
 */
gboolean qm_ssh_config_evaluate(const char *dest, const QmSshOptions *options,
                                gint64 deadline, QmSshConfig **config,
                                GError **error)
{
    static const QmSshOptions no_options;
    g_autoptr(QmSshConfig) c = g_new0(QmSshConfig, 1);
    g_autofree char *user = NULL;
    g_autofree char *ssh = NULL;
    int port = 0;

    if (options == NULL)
        options = &no_options;
    c->dest = g_strdup(dest);
    if (!qm_ssh_dest_parse(dest, &user, &c->alias, &port, error) ||
        (options->ssh_config != NULL &&
         !config_readable(dest, options->ssh_config, error)) ||
        !config_trusted(dest, options->ssh_config, error))
        return FALSE;

    ssh = g_find_program_in_path("ssh");
    if (ssh != NULL) {
        g_autoptr(GError) first = NULL;

        /* A dump without its first lines was seen twice in CI, never
         * here: asked again once, with what came the first time logged */
        if (!evaluate_openssh(c, ssh, options, user, port, deadline, &first)) {
            if (!g_error_matches(first, QM_ERROR, QM_ERROR_PROTOCOL)) {
                g_propagate_error(error, g_steal_pointer(&first));
                return FALSE;
            }
            g_debug("%s; asking ssh -G again", first->message);
            g_clear_pointer(&c, qm_ssh_config_free);
            c = g_new0(QmSshConfig, 1);
            c->dest = g_strdup(dest);
            g_clear_pointer(&user, g_free);
            if (!qm_ssh_dest_parse(dest, &user, &c->alias, &port, error) ||
                !evaluate_openssh(c, ssh, options, user, port, deadline, error))
                return FALSE;
        }
    } else {
        g_debug("%s: no ssh(1) in PATH: ssh_config read by libssh", dest);
        if (!evaluate_libssh(c, options, user, port, error))
            return FALSE;
    }
    *config = g_steal_pointer(&c);
    return TRUE;
}

/**
 * memo_inputs() - everything besides the files that the evaluation of a
 *                 destination depends on
 * @dest:    destination as written
 * @options: the user's SSH options, may be NULL
 *
 * Return: newly allocated text
 */
static char *memo_inputs(const char *dest, const QmSshOptions *options)
{
    return g_strdup_printf(
        "dest=%s\nssh-config=%s\nknown-hosts=%s\nhome=%s\nuid=%u\n", dest,
        options && options->ssh_config ? options->ssh_config : "",
        options && options->known_hosts ? options->known_hosts : "",
        g_get_home_dir(), (unsigned)getuid());
}

/**
 * qm_ssh_config_memo_name() - the cache file remembering a destination's
 *                             evaluation
 * @dest:    destination as written
 * @options: the user's SSH options, may be NULL
 *
 * Return: newly allocated file name (no directory)
 */
char *qm_ssh_config_memo_name(const char *dest, const QmSshOptions *options)
{
    g_autofree char *inputs = memo_inputs(dest, options);
    g_autofree char *sum =
        g_compute_checksum_for_string(G_CHECKSUM_SHA256, inputs, -1);

    sum[32] = '\0';
    return g_strdup_printf("ssh-%s.conf", sum);
}

/**
 * set_list() - store a list in a key file, NULL as empty
 * @kf:    key file
 * @key:   key
 * @value: list or NULL
 */
static void set_list(GKeyFile *kf, const char *key, GStrv value)
{
    g_key_file_set_string_list(kf, "ssh-config", key,
                               (const char *const *)value,
                               value ? g_strv_length(value) : 0);
}

/**
 * qm_ssh_config_to_memo() - what to remember of an evaluation
 * @config:  evaluated config
 * @options: the options it was evaluated with, may be NULL
 *
 * Return: key-file text, newly allocated; NULL when it must not be
 * remembered (a Match exec ran, or libssh evaluated it)
 */
char *qm_ssh_config_to_memo(const QmSshConfig *config,
                            const QmSshOptions *options)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autofree char *inputs = memo_inputs(config->dest, options);

    if (config->ran_commands || !config->by_openssh)
        return NULL;
    g_key_file_set_integer(kf, "ssh-config", "format", QM_SSHCFG_MEMO_FORMAT);
    g_key_file_set_string(kf, "ssh-config", "inputs", inputs);
    g_key_file_set_string(kf, "ssh-config", "files", config->files);
    g_key_file_set_string(kf, "ssh-config", "alias", config->alias);
    g_key_file_set_string(kf, "ssh-config", "user", config->user);
    g_key_file_set_string(kf, "ssh-config", "hostname", config->hostname);
    g_key_file_set_integer(kf, "ssh-config", "port", config->port);
    g_key_file_set_string(kf, "ssh-config", "host-key-alias",
                          config->host_key_alias ? config->host_key_alias : "");
    set_list(kf, "identity-files", config->identity_files);
    set_list(kf, "certificate-files", config->certificate_files);
    g_key_file_set_boolean(kf, "ssh-config", "identities-only",
                           config->identities_only);
    g_key_file_set_string(kf, "ssh-config", "identity-agent",
                          config->identity_agent ? config->identity_agent : "");
    set_list(kf, "known-hosts", config->known_hosts);
    g_key_file_set_string(
        kf, "ssh-config", "known-hosts-command",
        config->known_hosts_command ? config->known_hosts_command : "");
    g_key_file_set_string(kf, "ssh-config", "proxy-command",
                          config->proxy_command ? config->proxy_command : "");
    g_key_file_set_integer(kf, "ssh-config", "address-family",
                           config->address_family);
    g_key_file_set_integer(kf, "ssh-config", "connect-timeout",
                           config->connect_timeout_s);
    return g_key_file_to_data(kf, NULL, NULL);
}

/**
 * get_or_null() - a string from a key file, "" as NULL
 * @kf:  key file
 * @key: key
 *
 * Return: newly allocated string or NULL
 */
static char *get_or_null(GKeyFile *kf, const char *key)
{
    char *v = g_key_file_get_string(kf, "ssh-config", key, NULL);

    if (v != NULL && v[0] == '\0')
        g_clear_pointer(&v, g_free);
    return v;
}

/**
 * qm_ssh_config_from_memo() - a remembered evaluation, if it still holds
 * @memo:    key-file text from qm_ssh_config_to_memo()
 * @dest:    destination as written
 * @options: the user's SSH options, may be NULL
 *
 * It holds when it was made for the same destination, options, $HOME and
 * UID, and every file ssh(1) read (and their directories) is unchanged.
 *
 * Return: the config, or NULL when it does not hold
 */
QmSshConfig *qm_ssh_config_from_memo(const char *memo, const char *dest,
                                     const QmSshOptions *options)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(QmSshConfig) c = g_new0(QmSshConfig, 1);
    g_autofree char *inputs = memo_inputs(dest, options);
    g_autofree char *stored = NULL;

    if (!g_key_file_load_from_data(kf, memo, -1, G_KEY_FILE_NONE, NULL) ||
        g_key_file_get_integer(kf, "ssh-config", "format", NULL) !=
            QM_SSHCFG_MEMO_FORMAT)
        return NULL;
    stored = g_key_file_get_string(kf, "ssh-config", "inputs", NULL);
    if (g_strcmp0(stored, inputs) != 0)
        return NULL;
    c->files = g_key_file_get_string(kf, "ssh-config", "files", NULL);
    if (c->files == NULL || !qm_fileid_unchanged(c->files))
        return NULL;

    c->dest = g_strdup(dest);
    c->alias = get_or_null(kf, "alias");
    c->user = get_or_null(kf, "user");
    c->hostname = get_or_null(kf, "hostname");
    c->port = g_key_file_get_integer(kf, "ssh-config", "port", NULL);
    c->host_key_alias = get_or_null(kf, "host-key-alias");
    c->identity_files = g_key_file_get_string_list(
        kf, "ssh-config", "identity-files", NULL, NULL);
    c->certificate_files = g_key_file_get_string_list(
        kf, "ssh-config", "certificate-files", NULL, NULL);
    c->identities_only =
        g_key_file_get_boolean(kf, "ssh-config", "identities-only", NULL);
    c->identity_agent = get_or_null(kf, "identity-agent");
    c->known_hosts =
        g_key_file_get_string_list(kf, "ssh-config", "known-hosts", NULL, NULL);
    c->known_hosts_command = get_or_null(kf, "known-hosts-command");
    c->proxy_command = get_or_null(kf, "proxy-command");
    c->address_family =
        g_key_file_get_integer(kf, "ssh-config", "address-family", NULL);
    c->connect_timeout_s =
        g_key_file_get_integer(kf, "ssh-config", "connect-timeout", NULL);
    c->by_openssh = TRUE;
    if (c->alias == NULL || c->user == NULL || c->hostname == NULL ||
        c->port < 1 || c->port > 65535 || c->known_hosts == NULL)
        return NULL;
    if (c->identity_files == NULL)
        c->identity_files = g_new0(char *, 1);
    if (c->certificate_files == NULL)
        c->certificate_files = g_new0(char *, 1);
    return g_steal_pointer(&c);
}

/**
 * qm_ssh_config_known_hosts_command() - run KnownHostsCommand
 * @config:   evaluated config with a KnownHostsCommand
 * @name:     the host name looked up in known_hosts (%H)
 * @type:     the server's key type (%t)
 * @blob:     the server's key, base64 (%K)
 * @fp:       its fingerprint (%f)
 * @deadline: g_get_monotonic_time() deadline
 * @lines:    set to its output: known_hosts lines
 * @error:    set when it cannot run, fails or times out
 *
 * As ssh(1) runs it: split into words (no shell), %-tokens expanded,
 * asked once for the host name (%I is "HOSTNAME").
 *
 * Return: TRUE when it ran and exited 0
 */
gboolean qm_ssh_config_known_hosts_command(const QmSshConfig *config,
                                           const char *name, const char *type,
                                           const char *blob, const char *fp,
                                           gint64 deadline, char **lines,
                                           GError **error)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GString) err = g_string_new(NULL);
    g_autoptr(GString) command = g_string_new(NULL);
    g_autoptr(GError) parse_error = NULL;
    g_auto(GStrv) argv = NULL;
    g_autofree char *expanded = NULL;
    Run run = {.out = out, .err = err};
    int status = 0;

    /* the connection's tokens first; the rest as for any directive */
    for (const char *p = config->known_hosts_command; *p != '\0'; p++) {
        const char *v = NULL;

        if (p[0] == '%' && p[1] != '\0') {
            switch (p[1]) {
            case 'H':
                v = name;
                break;
            case 'I':
                v = "HOSTNAME";
                break;
            case 't':
                v = type;
                break;
            case 'K':
                v = blob;
                break;
            case 'f':
                v = fp;
                break;
            default:
                break;
            }
        }
        if (v != NULL) {
            g_string_append(command, v);
            p++;
        } else {
            g_string_append_c(command, *p);
            if (p[0] == '%' && p[1] != '\0')
                g_string_append_c(command, *++p);
        }
    }
    expanded = qm_ssh_config_expand(config, command->str, "CdhikLlnpru", error);
    if (expanded == NULL)
        return FALSE;
    if (!g_shell_parse_argv(expanded, NULL, &argv, &parse_error)) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s: KnownHostsCommand %s: %s", config->dest, expanded,
                    parse_error->message);
        return FALSE;
    }
    if (!run_ssh_g(config->dest, "running KnownHostsCommand", argv, NULL,
                   deadline, &run, &status, error))
        return FALSE;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_HOSTKEY,
                    "%s: KnownHostsCommand %s failed (status %d)", config->dest,
                    argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return FALSE;
    }
    *lines = g_string_free(g_steal_pointer(&out), FALSE);
    return TRUE;
}
