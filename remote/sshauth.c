/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: SSH authentication by public key, never prompting.
 *
 * After the host key check of a qm_ssh_run() call (remote/ssh.c), in
 * ssh(1)'s order: --identity, then unless IdentitiesOnly every ssh-agent
 * key, through the relay that bounds the agent's answers (remote/agent.c),
 * then each IdentityFile with its certificates.  A passphrase-protected key
 * is skipped and counted, never asked for, and every wait for the server
 * goes through qm_ssh_conn_wait(), within the caller's deadline.
 */
#include <unistd.h>
#include <sys/socket.h>

#include <libssh/libssh.h>

#include "agent.h"
#include "sshauth.h"
#include "sshconfig.h"
#include "sshconn.h"
#include "../wrapper/error.h"

/**
 * qm_ssh_auth_refuse_passphrase() - libssh auth callback that never prompts
 * @prompt: prompt libssh would show
 * @buf:    buffer for the answer
 * @len:    size of @buf
 * @echo:   whether the answer would be echoed
 * @verify: whether the answer would be asked twice
 * @userdata: the QmSshConn
 *
 * Without any callback, libssh hands passphrase-protected PEM keys to
 * OpenSSL with no password callback, and OpenSSL's default one prompts on
 * /dev/tty.  qemu-mig runs in front of QEMU, possibly under a management
 * tool: a key we cannot use without a passphrase is skipped (the agent may
 * still hold it), never asked for - but counted, so that a failed login
 * can say why the key the server wanted was not used.
 *
 * Return: -1, always
 */
int qm_ssh_auth_refuse_passphrase(const char *prompt, char *buf, size_t len,
                                  int echo, int verify, void *userdata)
{
    QmSshConn *c = userdata;

    if (c != NULL)
        c->locked_keys++;
    return -1;
}

/**
 * auth_methods() - the authentication methods the server offered
 * @session: session after a failed authentication attempt
 *
 * Return: newly allocated comma-separated list
 */
static char *auth_methods(ssh_session session)
{
    static const struct {
        int method;
        const char *name;
    } names[] = {
        {SSH_AUTH_METHOD_PUBLICKEY, "publickey"},
        {SSH_AUTH_METHOD_PASSWORD, "password"},
        {SSH_AUTH_METHOD_INTERACTIVE, "keyboard-interactive"},
        {SSH_AUTH_METHOD_GSSAPI_MIC, "gssapi-with-mic"},
        {SSH_AUTH_METHOD_HOSTBASED, "hostbased"},
    };
    int methods = ssh_userauth_list(session, NULL);
    g_autoptr(GString) s = g_string_new(NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        if (methods & names[i].method)
            g_string_append_printf(s, "%s%s", s->len ? ", " : "",
                                   names[i].name);
    }
    if (s->len == 0)
        g_string_append(s, "none");
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/**
 * auth_key() - offer one private key (or key with certificate)
 * @c:     connection past host key checking
 * @key:   private key
 * @error: set on a connection failure
 *
 * Return: SSH_AUTH_SUCCESS, SSH_AUTH_DENIED/PARTIAL, or SSH_AUTH_ERROR
 * with @error
 */
static int auth_key(QmSshConn *c, ssh_key key, GError **error)
{
    int rc;

    while ((rc = ssh_userauth_publickey(c->session, NULL, key)) ==
           SSH_AUTH_AGAIN) {
        if (!qm_ssh_conn_wait(c, "while authenticating", error))
            return SSH_AUTH_ERROR;
    }
    if (rc == SSH_AUTH_ERROR)
        qm_ssh_conn_fail(c, "SSH authentication failed", error);
    return rc;
}

/**
 * auth_identity() - try the key file the user named, before anything else
 * @c:        connection past host key checking
 * @identity: private key file
 * @note:     set to why the file could not be used, if it could not
 * @error:    set on a connection failure
 *
 * Tried before the agent: otherwise every ssh-agent key would go first,
 * and the key the user asked for might never be tried once the server's
 * MaxAuthTries is used up.
 *
 * Return: SSH_AUTH_SUCCESS or SSH_AUTH_DENIED, SSH_AUTH_ERROR with @error
 */
static int auth_identity(QmSshConn *c, const char *identity, char **note,
                         GError **error)
{
    g_autoptr(QmSshKey) key = NULL;
    int rc;

    rc = ssh_pki_import_privkey_file(identity, NULL,
                                     qm_ssh_auth_refuse_passphrase, c, &key);
    if (rc != SSH_OK) {
        *note = g_strdup_printf(
            rc == SSH_EOF ? "cannot read identity %s"
                          : "cannot load identity %s (passphrase-protected "
                            "keys must come from ssh-agent)",
            identity);
        return SSH_AUTH_DENIED;
    }
    return auth_key(c, key, error);
}

/**
 * auth_certificates() - offer a key file's certificates, as ssh(1) does
 * @c:     connection past host key checking
 * @file:  private key file, unencrypted
 * @error: set on a connection failure
 *
 * Every CertificateFile, and FILE-cert.pub when it exists, each joined
 * to the private key (ssh_pki_copy_cert_to_privkey() changes the key it
 * is given, so each certificate gets a fresh copy).
 *
 * Return: SSH_AUTH_SUCCESS, SSH_AUTH_DENIED, or SSH_AUTH_ERROR
 */
static int auth_certificates(QmSshConn *c, const char *file, GError **error)
{
    g_autoptr(GPtrArray) certs = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *implicit = g_strconcat(file, "-cert.pub", NULL);

    for (char **f = c->cfg->certificate_files; f && *f != NULL; f++)
        g_ptr_array_add(certs, g_strdup(*f));
    if (g_file_test(implicit, G_FILE_TEST_EXISTS))
        g_ptr_array_add(certs, g_steal_pointer(&implicit));
    for (guint i = 0; i < certs->len; i++) {
        g_autoptr(QmSshKey) cert = NULL;
        g_autoptr(QmSshKey) key = NULL;
        int rc;

        if (ssh_pki_import_cert_file(g_ptr_array_index(certs, i), &cert) !=
                SSH_OK ||
            ssh_pki_import_privkey_file(file, NULL,
                                        qm_ssh_auth_refuse_passphrase, NULL,
                                        &key) != SSH_OK ||
            ssh_pki_copy_cert_to_privkey(cert, key) != SSH_OK)
            continue;
        rc = auth_key(c, key, error);
        if (rc == SSH_AUTH_SUCCESS || rc == SSH_AUTH_ERROR)
            return rc;
    }
    return SSH_AUTH_DENIED;
}

/**
 * auth_file() - offer one IdentityFile
 * @c:     connection past host key checking
 * @file:  private key file (a missing one is skipped, as by ssh(1))
 * @error: set on a connection failure
 *
 * A passphrase-protected file is never asked for; when the server would
 * have taken it, that is counted for the failure message.  (ssh(1) with
 * IdentitiesOnly lets the agent sign for such a file's key; libssh 0.10
 * has no public call to have the agent sign for one chosen key.)
 *
 * Return: SSH_AUTH_SUCCESS, SSH_AUTH_DENIED, or SSH_AUTH_ERROR
 */
static int auth_file(QmSshConn *c, const char *file, GError **error)
{
    g_autoptr(QmSshKey) key = NULL;
    g_autoptr(QmSshKey) pub = NULL;
    g_autofree char *pub_file = g_strconcat(file, ".pub", NULL);
    int rc;

    if (!g_file_test(file, G_FILE_TEST_EXISTS))
        return SSH_AUTH_DENIED;
    if (ssh_pki_import_privkey_file(file, NULL, qm_ssh_auth_refuse_passphrase,
                                    NULL, &key) == SSH_OK) {
        rc = auth_certificates(c, file, error);
        if (rc != SSH_AUTH_DENIED)
            return rc;
        return auth_key(c, key, error);
    }
    /* locked: would the server have taken it? */
    if (ssh_pki_import_pubkey_file(pub_file, &pub) != SSH_OK)
        return SSH_AUTH_DENIED;
    while ((rc = ssh_userauth_try_publickey(c->session, NULL, pub)) ==
           SSH_AUTH_AGAIN) {
        if (!qm_ssh_conn_wait(c, "while authenticating", error))
            return SSH_AUTH_ERROR;
    }
    if (rc == SSH_AUTH_ERROR) {
        qm_ssh_conn_fail(c, "SSH authentication failed", error);
        return SSH_AUTH_ERROR;
    }
    if (rc == SSH_AUTH_SUCCESS)
        c->locked_keys++;
    return SSH_AUTH_DENIED;
}

/**
 * auth_agent_abandon() - end an unfinished ssh_userauth_agent()
 * @c: connection whose wait for the server's answer failed
 *
 * libssh 0.10 keeps that call's state (and the public key it offered)
 * until the call returns something other than SSH_AUTH_AGAIN; ssh_free()
 * frees the state but not the key.  So cut the connection under it and
 * let the call fail once, which frees both: the socket is shut down, and
 * the non-blocking call sees EOF at once.
 */
static void auth_agent_abandon(QmSshConn *c)
{
    socket_t fd = ssh_get_fd(c->session);

    if (fd == SSH_INVALID_SOCKET)
        return;
    shutdown(fd, SHUT_RDWR);
    for (int i = 0;
         i < 4 && ssh_userauth_agent(c->session, NULL) == SSH_AUTH_AGAIN; i++)
        ;
}

/**
 * auth_agent() - offer every key ssh-agent holds
 * @c:     connection past host key checking, with an agent socket
 * @relay: the relay in front of the agent
 * @error: set on failure (the agent's silence named, if it was that)
 *
 * Return: SSH_AUTH_SUCCESS, SSH_AUTH_DENIED/PARTIAL, or SSH_AUTH_ERROR
 */
static int auth_agent(QmSshConn *c, QmAgentRelay *relay, GError **error)
{
    int rc;

    while ((rc = ssh_userauth_agent(c->session, NULL)) == SSH_AUTH_AGAIN) {
        if (!qm_ssh_conn_wait(c, "while authenticating", error)) {
            g_autoptr(GError) agent_error = NULL;

            /* the agent's silence, if that is what used up the time */
            if (!qm_agent_relay_stop(relay, qm_ssh_conn_elapsed_s(c),
                                     &agent_error)) {
                g_clear_error(error);
                g_propagate_error(error, g_steal_pointer(&agent_error));
            }
            auth_agent_abandon(c);
            return SSH_AUTH_ERROR;
        }
    }
    if (rc == SSH_AUTH_ERROR) {
        /* a session error, or merely no usable agent: tell them apart */
        if (ssh_get_status(c->session) & (SSH_CLOSED | SSH_CLOSED_ERROR)) {
            qm_ssh_conn_fail(c, "SSH authentication failed", error);
            return SSH_AUTH_ERROR;
        }
        rc = SSH_AUTH_DENIED;
    }
    return rc;
}

/**
 * qm_ssh_auth_run() - authenticate with public keys only, never prompting
 * @c:       connection past host key checking
 * @options: what the user said about SSH, may be NULL
 * @error:   set on failure
 *
 * ssh(1)'s order: --identity (qemu-mig's own), then unless IdentitiesOnly
 * every ssh-agent key, then each IdentityFile (its certificates first; a
 * passphrase-protected one through the agent, when it holds the key).
 *
 * Return: TRUE once authenticated
 */
gboolean qm_ssh_auth_run(QmSshConn *c, const QmSshOptions *options,
                         GError **error)
{
    g_autofree char *note = NULL;
    g_autofree char *methods = NULL;
    g_autoptr(QmAgentRelay) agent = NULL;
    gboolean no_agent = g_strcmp0(c->cfg->identity_agent, "none") == 0;
    g_autofree char *agent_path = NULL;
    int agent_fd = -1;
    int rc;

    /* Some servers let anybody in; it also fetches the method list */
    while ((rc = ssh_userauth_none(c->session, NULL)) == SSH_AUTH_AGAIN) {
        if (!qm_ssh_conn_wait(c, "while authenticating", error))
            return FALSE;
    }
    if (rc == SSH_AUTH_SUCCESS)
        return TRUE;
    if (rc == SSH_AUTH_ERROR)
        return qm_ssh_conn_fail(c, "SSH authentication failed", error);

    if (options != NULL && options->identity != NULL) {
        rc = auth_identity(c, options->identity, &note, error);
        if (rc == SSH_AUTH_SUCCESS)
            return TRUE;
        if (rc == SSH_AUTH_ERROR)
            return FALSE;
    }

    /* the agent through our relay, which bounds its answers (agent.c) */
    if (!no_agent && c->cfg->identity_agent != NULL) {
        agent_path = qm_ssh_config_expand(c->cfg, c->cfg->identity_agent,
                                          "CdhikLlnpru", error);
        if (agent_path == NULL)
            return FALSE;
    }
    if (!no_agent && !qm_agent_relay_start(c->dest, agent_path, c->deadline,
                                           &agent, &agent_fd, error))
        return FALSE;
    if (agent_fd >= 0 && ssh_set_agent_socket(c->session, agent_fd) != SSH_OK) {
        close(agent_fd);
        g_clear_pointer(&agent, qm_agent_relay_free);
    }
    rc = SSH_AUTH_DENIED;
    if (agent != NULL && !c->cfg->identities_only) {
        rc = auth_agent(c, agent, error);
        if (rc == SSH_AUTH_ERROR)
            return FALSE;
    }
    for (char **f = c->cfg->identity_files;
         rc != SSH_AUTH_SUCCESS && f != NULL && *f != NULL; f++) {
        rc = auth_file(c, *f, error);
        if (rc == SSH_AUTH_ERROR) {
            g_autoptr(GError) agent_error = NULL;

            if (!qm_agent_relay_stop(agent, qm_ssh_conn_elapsed_s(c),
                                     &agent_error)) {
                g_clear_error(error);
                g_propagate_error(error, g_steal_pointer(&agent_error));
            }
            return FALSE;
        }
    }
    /* an agent that did not answer in time is why, whatever libssh says */
    if (!qm_agent_relay_stop(agent, qm_ssh_conn_elapsed_s(c), error))
        return FALSE;
    if (rc == SSH_AUTH_SUCCESS)
        return TRUE;

    methods = auth_methods(c->session);
    /* libssh asks for a passphrase only for a key it must load */
    if (note == NULL && c->locked_keys > 0)
        note = g_strdup("the key the server accepts is passphrase-protected "
                        "and qemu-mig never asks: load it into ssh-agent");
    g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                "%s: SSH authentication failed (publickey) as %s (server "
                "%s: %s)%s%s",
                c->dest, c->cfg->user,
                rc == SSH_AUTH_PARTIAL ? "wants more than a key" : "allows",
                methods, note != NULL ? "; " : "", note != NULL ? note : "");
    return FALSE;
}
