/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: an SSH peer's host key, checked strictly against known_hosts.
 *
 * Between the key exchange and authentication of a qm_ssh_run() call
 * (remote/ssh.c), so that no key of ours is offered to an unverified
 * server: the server's key must be listed in a known_hosts file or in what
 * KnownHostsCommand prints, read with OpenSSH's rules (remote/knownhosts.c)
 * rather than libssh's, and nothing is ever asked or written.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <libssh/libssh.h>

#include "knownhosts.h"
#include "sshconfig.h"
#include "sshconn.h"
#include "sshhostkey.h"
#include "../wrapper/error.h"

/* libssh 0.10 has no autoptr support: wrap its types for g_autoptr() */
typedef char QmSshChars;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmSshChars, ssh_string_free_char)

typedef unsigned char QmSshHash;

/**
 * qm_ssh_hash_free() - release a hash from ssh_get_publickey_hash()
 * @hash: hash to free
 */
static void qm_ssh_hash_free(QmSshHash *hash)
{
    ssh_clean_pubkey_hash(&hash);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmSshHash, qm_ssh_hash_free)

/**
 * host_key_fingerprint() - the server's host key as "TYPE SHA256:..."
 * @session: connected session
 *
 * Return: newly allocated description, never NULL
 */
static char *host_key_fingerprint(ssh_session session)
{
    g_autoptr(QmSshKey) key = NULL;
    g_autoptr(QmSshHash) hash = NULL;
    g_autoptr(QmSshChars) fingerprint = NULL;
    size_t hash_len = 0;
    const char *type;

    if (ssh_get_server_publickey(session, &key) != SSH_OK)
        return g_strdup("(no host key)");
    if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash,
                               &hash_len) != 0) {
        return g_strdup("(no fingerprint)");
    }
    fingerprint =
        ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hash_len);
    type = ssh_key_type_to_char(ssh_key_type(key));
    return g_strdup_printf("%s %s", type != NULL ? type : "unknown-type",
                           fingerprint != NULL ? fingerprint : "SHA256:?");
}

/**
 * command_known_hosts() - KnownHostsCommand's lines, as a file to read
 * @c:     connection with a KnownHostsCommand
 * @name:  host name looked up
 * @type:  server key type
 * @blob:  server key, base64
 * @fd:    set to a memfd holding the lines (close-on-exec)
 * @error: set when the command fails
 *
 * knownhosts.c reads files: /proc/self/fd/N of a memfd is one.
 *
 * Return: the file name, newly allocated, or NULL on error
 */
static char *command_known_hosts(QmSshConn *c, const char *name,
                                 const char *type, const char *blob, int *fd,
                                 GError **error)
{
    g_autofree char *lines = NULL;
    g_autofree char *fp = host_key_fingerprint(c->session);
    const char *space = strchr(fp, ' ');
    gsize len;

    if (!qm_ssh_config_known_hosts_command(c->cfg, name, type, blob,
                                           space ? space + 1 : fp, c->deadline,
                                           &lines, error))
        return NULL;
    len = strlen(lines);
    *fd = memfd_create("qemu-mig-known-hosts", MFD_CLOEXEC);
    if (*fd < 0 || write(*fd, lines, len) != (ssize_t)len) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED,
                    "%s: cannot keep KnownHostsCommand's output: %s", c->dest,
                    g_strerror(errno));
        return NULL;
    }
    return g_strdup_printf("/proc/self/fd/%d", *fd);
}

/**
 * qm_ssh_hostkey_check() - refuse any host key known_hosts does not list
 * @c:     connected connection
 * @error: set to a QM_ERROR_HOSTKEY error on refusal
 *
 * Strict always: qemu-mig talks to peers unattended and never writes
 * known_hosts, so an unknown key is as much a refusal as a changed one.
 * The files are read with OpenSSH's rules (knownhosts.c), not libssh's,
 * which accept @revoked keys.  This runs before authentication so that no
 * key of ours is ever offered to an unverified server.
 *
 * Return: TRUE if the host key is known and matches
 */
gboolean qm_ssh_hostkey_check(QmSshConn *c, GError **error)
{
    g_autoptr(QmSshKey) server_key = NULL;
    g_autofree char *blob = NULL;
    g_autofree char *name = NULL;
    g_autofree char *key = NULL;
    g_autofree char *where = NULL;
    g_autofree char *list = NULL;
    g_autofree char *command_file = NULL;
    g_autoptr(GPtrArray) files = g_ptr_array_new();
    const char *type;
    int command_fd = -1;
    QmHostKeyState state;

    /* HostKeyAlias is looked up as it is, without the port (as ssh(1)) */
    name = c->cfg->host_key_alias
               ? g_strdup(c->cfg->host_key_alias)
               : qm_known_hosts_name(c->cfg->hostname, c->cfg->port);
    if (ssh_get_server_publickey(c->session, &server_key) != SSH_OK ||
        ssh_pki_export_pubkey_base64(server_key, &blob) != SSH_OK ||
        (type = ssh_key_type_to_char(ssh_key_type(server_key))) == NULL) {
        g_autofree char *why = qm_ssh_conn_one_line(ssh_get_error(c->session));

        g_set_error(error, QM_ERROR, QM_ERROR_HOSTKEY,
                    "%s: cannot check the host key: %s", c->dest, why);
        return FALSE;
    }
    key = host_key_fingerprint(c->session);
    {
        g_autoptr(GString) names = g_string_new(NULL);

        for (char **f = c->cfg->known_hosts; *f != NULL; f++) {
            g_ptr_array_add(files, *f);
            g_string_append_printf(names, "%s%s%s", names->len ? ", " : "", *f,
                                   g_file_test(*f, G_FILE_TEST_EXISTS)
                                       ? ""
                                       : " (which does not exist)");
        }
        if (c->cfg->known_hosts_command != NULL) {
            command_file =
                command_known_hosts(c, name, type, blob, &command_fd, error);
            if (command_file == NULL) {
                if (command_fd >= 0)
                    close(command_fd);
                return FALSE;
            }
            g_ptr_array_add(files, command_file);
            g_string_append_printf(names, "%sKnownHostsCommand",
                                   names->len ? ", " : "");
        }
        list = g_string_free(g_steal_pointer(&names), FALSE);
    }
    g_ptr_array_add(files, NULL);
    state = qm_known_hosts_check((const char *const *)files->pdata, name, type,
                                 blob, &where);
    if (command_fd >= 0)
        close(command_fd);
    if (where != NULL && command_file != NULL &&
        g_str_has_prefix(where, command_file)) {
        char *shown = g_strconcat("KnownHostsCommand output",
                                  where + strlen(command_file), NULL);

        g_free(where);
        where = shown;
    }

    switch (state) {
    case QM_HOSTKEY_OK:
        return TRUE;
    case QM_HOSTKEY_REVOKED:
        g_set_error(error, QM_ERROR, QM_ERROR_HOSTKEY,
                    "%s: host key for %s is REVOKED (%s marks it @revoked): "
                    "server offers %s",
                    c->dest, name, where, key);
        break;
    case QM_HOSTKEY_CHANGED:
        g_set_error(error, QM_ERROR, QM_ERROR_HOSTKEY,
                    "%s: host key CHANGED for %s (possible "
                    "man-in-the-middle): server offers %s, %s lists "
                    "another key",
                    c->dest, name, key, where);
        break;
    case QM_HOSTKEY_OTHER:
        g_set_error(error, QM_ERROR, QM_ERROR_HOSTKEY,
                    "%s: known_hosts has a different key type for %s: "
                    "server offers %s, %s lists only other types (possible "
                    "man-in-the-middle)",
                    c->dest, name, key, where);
        break;
    case QM_HOSTKEY_CA_ONLY:
        g_set_error(error, QM_ERROR, QM_ERROR_HOSTKEY,
                    "%s: only a @cert-authority line (%s) vouches for %s, "
                    "and qemu-mig cannot verify host certificates: list the "
                    "host's own key (server offers %s)",
                    c->dest, where, name, key);
        break;
    default:
        g_set_error(error, QM_ERROR, QM_ERROR_HOSTKEY,
                    "%s: unknown host key for %s: server offers %s, not "
                    "listed in %s",
                    c->dest, name, key, list);
        break;
    }
    return FALSE;
}
