/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: ssh_config means to qemu-mig what it means to ssh(1).
 *
 * Table-driven: each row is one ssh_config and one destination.  For each,
 * OpenSSH's own ssh(1) (the reference, measured at run time) and
 * qm_ssh_run() both run a command printing who they reached against real
 * sshd instances on 127.0.0.1, with the same config, the same known_hosts
 * and the same agent (none unless the row has one).  They must reach the
 * same sshd as the same user, or both refuse; qemu-mig's refusal must be
 * of the row's class (usage, host key, unreachable).  Each row also says
 * what ssh(1) itself does, so that a row cannot pass because both fail for
 * a reason that has nothing to do with what the row is about.
 *
 * Three peers: A and B are plain and accept the shared client key; C
 * accepts only its own key and certificates of a user CA, allows three
 * authentication attempts, and offers a host certificate (its host key
 * signed by a host CA).
 *
 * ssh(1) takes ~ and %d from the passwd entry and ignores $HOME, which
 * qm_test_init() points at a scratch directory: no row depends on either
 * (every row names its identities and known_hosts), so %d is not tested.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "../remote/ssh.h"
#include "../remote/sshconfig.h"
#include "../wrapper/error.h"
#include "sshd.h"
#include "testutil.h"

/* qm_ssh_run()'s deadline for every row but the one that says otherwise */
#define TIMEOUT_US (20 * G_USEC_PER_SEC)
#define MAX_OUT    (64 * 1024)

/* ssh(1) gets as long, and is killed if it overstays */
#define SSH_TIMEOUT "20"

/* Prints "USER SERVER-PORT": who was reached, and which sshd */
#define WHO_CMD "echo \"$(id -un) ${SSH_CONNECTION##* }\""

/* How many keys the agent offers before the right one, and C's limit */
#define AGENT_KEYS     7
#define MAX_AUTH_TRIES 3

/**
 * RowSetup - what a row needs besides its config
 * @SETUP_OWN_ID: the row names its identities itself: the shared client
 *                key is not added to its config
 * @SETUP_AGENT:  an ssh-agent holding AGENT_KEYS keys no peer accepts
 *                runs, for ssh(1) and qemu-mig alike
 */
typedef enum {
    SETUP_OWN_ID = 1 << 0,
    SETUP_AGENT = 1 << 1,
} RowSetup;

/**
 * Row - one ssh_config and what ssh(1) does with it
 * @name:        test path component
 * @config:      ssh_config text; placeholders: @PA@ @PB@ @PC@ (ports of
 *               A, B, C), @ID@ (client key A and B accept), @IDC@ (the
 *               one C accepts), @KH@ (known_hosts of all three), @S@
 *               (scratch directory), @ME@ (local user), @CFG@ (this
 *               config file); a common trailer is appended (see
 *               write_config())
 * @dest:        destination given to both
 * @setup:       RowSetup flags
 * @reaches:     'A', 'B' or 'C': the peer ssh(1) reaches; 0: ssh(1)
 *               refuses
 * @ssh_says:    when ssh(1) refuses: a substring of its stderr
 * @code:        when ssh(1) refuses, or @divergence: qemu-mig's error
 *               code; 0 for any
 * @qm_says:     substrings qemu-mig's error must contain (placeholders
 *               allowed), NULL-terminated, or NULL
 * @divergence:  qemu-mig is documented to refuse where ssh(1) reaches:
 *               why (then @code and @qm_says describe the refusal)
 * @deadline_s:  qm_ssh_run() deadline in seconds, 0 for TIMEOUT_US
 * @within_s:    qemu-mig must return within this many seconds (times
 *               qm_test_slow()), 0 for no bound
 * @no_ssh:      do not run ssh(1) (it would take long, and the row is
 *               about qemu-mig's deadline)
 */
typedef struct {
    const char *name;
    const char *config;
    const char *dest;
    guint setup;
    char reaches;
    const char *ssh_says;
    QmErrorCode code;
    const char *const *qm_says;
    const char *divergence;
    int deadline_s;
    int within_s;
    gboolean no_ssh;
} Row;

/* ssh matches Host against the name as given, not against HostName */
#define CONFIG_HOST_VS_HOSTNAME                                                \
    "Host hn\n"                                                                \
    "    HostName 127.0.0.1\n"                                                 \
    "    Port @PA@\n"                                                          \
    "Host 127.0.0.1\n"                                                         \
    "    Port @PB@\n"

/* Match exec decides between B and A */
#define CONFIG_MATCH_EXEC(FILE)                                                \
    "Host mx\n"                                                                \
    "    HostName 127.0.0.1\n"                                                 \
    "Match exec \"test -e @S@/" FILE "\"\n"                                    \
    "    Port @PB@\n"                                                          \
    "Host *\n"                                                                 \
    "    Port @PA@\n"

/* C through the agent's keys first, or only through its IdentityFile */
#define CONFIG_AGENT(ONLY)                                                     \
    "Host io\n"                                                                \
    "    HostName 127.0.0.1\n"                                                 \
    "    Port @PC@\n"                                                          \
    "    IdentityFile @IDC@\n"                                                 \
    "    IdentitiesOnly " ONLY "\n"

/* C with a known_hosts file of the row's own */
#define CONFIG_C_KNOWN_HOSTS(FILE)                                             \
    "Host hc\n"                                                                \
    "    HostName 127.0.0.1\n"                                                 \
    "    Port @PC@\n"                                                          \
    "    IdentityFile @IDC@\n"                                                 \
    "    UserKnownHostsFile " FILE "\n"

static const Row rows[] = {
    /* 1. Host blocks match the name as given */
    {
        .name = "host/alias-not-hostname",
        .config = CONFIG_HOST_VS_HOSTNAME,
        .dest = "hn",
        .reaches = 'A',
    },
    {
        /* Same, with nothing but the second block setting a Port first */
        .name = "host/alias-not-hostname-port-unset",
        .config = "Host hn\n"
                  "    HostName 127.0.0.1\n"
                  "Host 127.0.0.1\n"
                  "    Port @PB@\n"
                  "Host *\n"
                  "    Port @PA@\n",
        .dest = "hn",
        .reaches = 'A',
    },
    {
        .name = "host/literal",
        .config = CONFIG_HOST_VS_HOSTNAME,
        .dest = "127.0.0.1",
        .reaches = 'B',
    },
    /* 2. Match originalhost, host (after HostName), final, canonical */
    {
        .name = "match/originalhost",
        .config = "Match originalhost other-name\n"
                  "    Port @PC@\n"
                  "Match originalhost mo\n"
                  "    Port @PB@\n"
                  "Host mo\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PA@\n",
        .dest = "mo",
        .reaches = 'B',
    },
    {
        .name = "match/host-after-hostname",
        .config = "Host mh\n"
                  "    HostName 127.0.0.1\n"
                  "Match host mh\n"
                  "    Port @PC@\n"
                  "Match host 127.0.0.1\n"
                  "    Port @PB@\n"
                  "Host *\n"
                  "    Port @PA@\n",
        .dest = "mh",
        .reaches = 'B',
    },
    {
        /* Nothing sets a Port in the first pass: without a final pass,
         * port 22, where no test sshd listens */
        .name = "match/final",
        .config = "Host mf\n"
                  "    HostName 127.0.0.1\n"
                  "Match final host 127.0.0.1\n"
                  "    Port @PB@\n",
        .dest = "mf",
        .reaches = 'B',
    },
    {
        /* Match final blocks wait for the final pass, where the first
         * value (from the first pass) still wins */
        .name = "match/final-not-first-pass",
        .config = "Host mf3\n"
                  "    HostName 127.0.0.1\n"
                  "Match final\n"
                  "    Port @PB@\n"
                  "Host *\n"
                  "    Port @PA@\n",
        .dest = "mf3",
        .reaches = 'A',
    },
    {
        /* The final pass matches Host against the final HostName */
        .name = "match/final-reparses-host",
        .config = "Host mf2\n"
                  "    HostName 127.0.0.1\n"
                  "Match final\n"
                  "Host 127.0.0.1\n"
                  "    Port @PB@\n",
        .dest = "mf2",
        .reaches = 'B',
    },
    /*
     * CanonicalizeHostname yes makes ssh(1) parse the config again, where
     * "Match canonical" holds, even when there is nothing to canonicalize
     * (HostName is an address literal).  Canonicalizing a short name
     * through CanonicalDomains needs a resolvable "name.domain", which a
     * loopback-only test cannot count on (/etc/hosts is not ours): not
     * tested.
     */
    {
        .name = "match/canonical-yes",
        .config = "CanonicalizeHostname yes\n"
                  "Host mc\n"
                  "    HostName 127.0.0.1\n"
                  "Match canonical host 127.0.0.1\n"
                  "    Port @PB@\n",
        .dest = "mc",
        .reaches = 'B',
    },
    {
        .name = "match/canonical-no",
        .config = "CanonicalizeHostname no\n"
                  "Host mc\n"
                  "    HostName 127.0.0.1\n"
                  "Match canonical\n"
                  "    Port @PB@\n"
                  "Host *\n"
                  "    Port @PA@\n",
        .dest = "mc",
        .reaches = 'A',
    },
    /* 3. Match user (the local user when none is given), localuser, all */
    {
        .name = "match/user-implicit",
        .config = "Host mu\n"
                  "    HostName 127.0.0.1\n"
                  "Match user @ME@\n"
                  "    Port @PB@\n"
                  "Host *\n"
                  "    Port @PA@\n",
        .dest = "mu",
        .reaches = 'B',
    },
    {
        .name = "match/user-other",
        .config = "Host mu\n"
                  "    HostName 127.0.0.1\n"
                  "Match user qm-no-such-user\n"
                  "    Port @PB@\n"
                  "Host *\n"
                  "    Port @PA@\n",
        .dest = "mu",
        .reaches = 'A',
    },
    {
        .name = "match/localuser",
        .config = "Host ml\n"
                  "    HostName 127.0.0.1\n"
                  "Match localuser qm-no-such-user\n"
                  "    Port @PC@\n"
                  "Match localuser @ME@\n"
                  "    Port @PB@\n"
                  "Host *\n"
                  "    Port @PA@\n",
        .dest = "ml",
        .reaches = 'B',
    },
    {
        .name = "match/all",
        .config = "Host ma\n"
                  "    HostName 127.0.0.1\n"
                  "Match all\n"
                  "    Port @PB@\n"
                  "Host *\n"
                  "    Port @PA@\n",
        .dest = "ma",
        .reaches = 'B',
    },
    /* 4. Match exec */
    {
        .name = "match/exec-true",
        .config = CONFIG_MATCH_EXEC("flag-present"),
        .dest = "mx",
        .reaches = 'B',
    },
    {
        .name = "match/exec-false",
        .config = CONFIG_MATCH_EXEC("flag-absent"),
        .dest = "mx",
        .reaches = 'A',
    },
    {
        .name = "match/exec-tokens",
        .config = "Host mxt\n"
                  "    HostName 127.0.0.1\n"
                  "Match exec \"test %n = mxt && test %h = 127.0.0.1\"\n"
                  "    Port @PB@\n"
                  "Host *\n"
                  "    Port @PA@\n",
        .dest = "mxt",
        .reaches = 'B',
    },
    /* 5. Tokens in file names and in ProxyCommand */
    {
        .name = "token/known-hosts-alias",
        .config = "Host tkn\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PB@\n"
                  "    UserKnownHostsFile @S@/kh-%n\n",
        .dest = "tkn",
        .reaches = 'B',
    },
    {
        .name = "token/known-hosts-host-port",
        .config = "Host tkhp\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PB@\n"
                  "    UserKnownHostsFile @S@/kh-%h-%p\n",
        .dest = "tkhp",
        .reaches = 'B',
    },
    {
        .name = "token/known-hosts-hash",
        .config = "Host tkc\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PB@\n"
                  "    UserKnownHostsFile @S@/kh-%C\n",
        .dest = "tkc",
        .reaches = 'B',
    },
    {
        .name = "token/identity-remote-user",
        .config = "Host tkr\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PA@\n"
                  "    IdentityFile @S@/id-%r\n",
        .dest = "tkr",
        .setup = SETUP_OWN_ID,
        .reaches = 'A',
    },
    {
        .name = "token/identity-uid",
        .config = "Host tki\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PA@\n"
                  "    IdentityFile @S@/id-uid-%i\n",
        .dest = "tki",
        .setup = SETUP_OWN_ID,
        .reaches = 'A',
    },
    {
        /* ssh(1) runs "exec COMMAND" in a shell: hence sh -c */
        .name = "token/proxy-command",
        .config = "Host tkp-jump\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PA@\n"
                  "Host tkp\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PB@\n"
                  "    ProxyCommand sh -c 'test %n = tkp && test %r = @ME@ "
                  "&& exec ssh -F @CFG@ -o BatchMode=yes -W %h:%p "
                  "tkp-jump'\n",
        .dest = "tkp",
        .reaches = 'B',
    },
    /* 6. IdentitiesOnly, with an agent offering wrong keys first */
    {
        .name = "auth/identities-only-agent",
        .config = CONFIG_AGENT("yes"),
        .dest = "io",
        .setup = SETUP_OWN_ID | SETUP_AGENT,
        .reaches = 'C',
    },
    {
        .name = "auth/agent-too-many-keys",
        .config = CONFIG_AGENT("no"),
        .dest = "io",
        .setup = SETUP_OWN_ID | SETUP_AGENT,
        .ssh_says = "Too many authentication failures",
        .code = QM_ERROR_UNREACHABLE,
    },
    /* 7. User certificates: CertificateFile, and IDENTITY-cert.pub */
    {
        .name = "auth/certificate-file",
        .config = "Host cf\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PC@\n"
                  "    IdentityFile @S@/ucert2\n"
                  "    CertificateFile @S@/ucert2.crt\n",
        .dest = "cf",
        .setup = SETUP_OWN_ID,
        .reaches = 'C',
    },
    {
        .name = "auth/certificate-implicit",
        .config = "Host ci\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PC@\n"
                  "    IdentityFile @S@/ucert\n",
        .dest = "ci",
        .setup = SETUP_OWN_ID,
        .reaches = 'C',
    },
    /* 8. HostKeyAlias */
    {
        .name = "hostkey/alias",
        .config = "Host hka\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PA@\n"
                  "    HostKeyAlias other\n"
                  "    UserKnownHostsFile @S@/kh-other\n",
        .dest = "hka",
        .reaches = 'A',
    },
    {
        .name = "hostkey/alias-listed-by-address",
        .config = "Host hka\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PA@\n"
                  "    HostKeyAlias other\n"
                  "    UserKnownHostsFile @S@/kh-a\n",
        .dest = "hka",
        .ssh_says = "Host key verification failed",
        .code = QM_ERROR_HOSTKEY,
    },
    /* 9. Several UserKnownHostsFile */
    {
        .name = "hostkey/second-file",
        .config = "Host k2\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PB@\n"
                  "    UserKnownHostsFile @S@/kh-a @S@/kh-b\n",
        .dest = "k2",
        .reaches = 'B',
    },
    /*
     * 10. KnownHostsCommand: an absolute path, as ssh(1) runs no shell.
     * ssh(1) also runs it before it has the key, to order host key
     * algorithms, with %K "NONE": a command failing there fails it all.
     */
    {
        .name = "hostkey/command",
        .config = "Host khc\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PB@\n"
                  "    UserKnownHostsFile /dev/null\n"
                  "    KnownHostsCommand /bin/cat @S@/kh-b\n",
        .dest = "khc",
        .reaches = 'B',
    },
    {
        .name = "hostkey/command-host-token",
        .config = "Host khc\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PB@\n"
                  "    UserKnownHostsFile /dev/null\n"
                  "    KnownHostsCommand /bin/grep -F -- %H @KH@\n",
        .dest = "khc",
        .reaches = 'B',
    },
    {
        .name = "hostkey/command-key-token",
        .config = "Host khc\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PB@\n"
                  "    UserKnownHostsFile /dev/null\n"
                  "    KnownHostsCommand /bin/sh -c \"grep -F -- %K @KH@ || "
                  "true\"\n",
        .dest = "khc",
        .reaches = 'B',
    },
    /* 11. Host certificates */
    {
        /* C offers a host certificate too: its plain key still counts */
        .name = "hostkey/plain-key-of-cert-host",
        .config = CONFIG_C_KNOWN_HOSTS("@KH@"),
        .dest = "hc",
        .setup = SETUP_OWN_ID,
        .reaches = 'C',
    },
    {
        .name = "hostkey/cert-authority",
        .config = CONFIG_C_KNOWN_HOSTS("@S@/kh-host-ca"),
        .dest = "hc",
        .setup = SETUP_OWN_ID,
        .reaches = 'C',
        .code = QM_ERROR_HOSTKEY,
        .qm_says = (const char *const[]){"cert-authority", NULL},
        .divergence = "libssh 0.10 cannot verify host certificates: "
                      "qemu-mig refuses a host only a @cert-authority line "
                      "vouches for, and says so",
    },
    {
        .name = "hostkey/cert-authority-other-ca",
        .config = CONFIG_C_KNOWN_HOSTS("@S@/kh-other-ca"),
        .dest = "hc",
        .setup = SETUP_OWN_ID,
        .ssh_says = "Host key verification failed",
        .code = QM_ERROR_HOSTKEY,
    },
    /* 12. AddressFamily (the sshds listen on 127.0.0.1 only) */
    {
        .name = "connect/inet6-address",
        .config = "Host i6\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PA@\n"
                  "    AddressFamily inet6\n",
        .dest = "i6",
        .code = QM_ERROR_UNREACHABLE,
    },
    {
        .name = "connect/inet6-localhost",
        .config = "Host i6\n"
                  "    HostName localhost\n"
                  "    Port @PA@\n"
                  "    AddressFamily inet6\n",
        .dest = "i6",
        .code = QM_ERROR_UNREACHABLE,
    },
    {
        .name = "connect/inet-localhost",
        .config = "Host i4\n"
                  "    HostName localhost\n"
                  "    Port @PA@\n"
                  "    AddressFamily inet\n",
        .dest = "i4",
        .reaches = 'A',
    },
    /* 13. A config ssh(1) cannot parse */
    {
        .name = "config/syntax-error",
        .config = "Host se\n"
                  "    HostName 127.0.0.1\n"
                  "    Bogus yes\n"
                  "    Port @PA@\n",
        .dest = "se",
        .ssh_says = "line 3: Bad configuration option",
        .code = QM_ERROR_USAGE,
        .qm_says = (const char *const[]){"@CFG@", "line 3", NULL},
    },
    /* 14. Evaluating the config is bounded by the deadline too */
    {
        .name = "config/slow-match-exec",
        .config = "Host slow\n"
                  "    HostName 127.0.0.1\n"
                  "    Port @PA@\n"
                  "Match exec \"sleep 20\"\n"
                  "    Port @PB@\n",
        .dest = "slow",
        .deadline_s = 2,
        .within_s = 5,
        .no_ssh = TRUE,
    },
};

static char *skip_reason;

/* test_whole_output(): identity files, runs per thread, threads */
enum { WHOLE_FILES = 90, WHOLE_RUNS = 150, WHOLE_THREADS = 4 };
static QmTestSshd *peers[3];
static char *scratch;
/* placeholder, value, placeholder, value, ... */
static GPtrArray *substitutions;

/**
 * scratch_path() - a file name in this program's scratch directory
 * @name: base name
 *
 * Return: newly allocated path
 */
static char *scratch_path(const char *name)
{
    return g_build_filename(scratch, name, NULL);
}

/**
 * write_file() - write a file with a mode, aborting the test on failure
 * @path:     file name
 * @contents: NUL-terminated contents
 * @mode:     permissions (ssh(1) refuses configs and keys others may
 *            read or write)
 */
static void write_file(const char *path, const char *contents, int mode)
{
    g_autoptr(GError) error = NULL;

    g_file_set_contents(path, contents, -1, &error);
    g_assert_no_error(error);
    g_assert_cmpint(g_chmod(path, mode), ==, 0);
}

/**
 * read_file() - contents of a file the test wrote
 * @path: file name
 *
 * Return: newly allocated contents
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
 * run_tool() - run a helper program to completion, aborting the test if
 *              it fails
 * @argv: command, looked up in PATH
 */
static void run_tool(const char *const *argv)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *err = NULL;
    int status = -1;

    g_spawn_sync(NULL, (char **)argv, NULL,
                 G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                 NULL, &err, &status, &error);
    g_assert_no_error(error);
    if (!g_spawn_check_wait_status(status, NULL))
        g_error("%s failed (wait status %d): %s", argv[0], status, err);
}

/**
 * keygen() - a key pair without passphrase in the scratch directory
 * @name: base name of the private key; the public key gets ".pub"
 * @type: key type, "ed25519"
 *
 * Return: newly allocated path of the private key
 */
static char *keygen(const char *name, const char *type)
{
    char *path = scratch_path(name);
    const char *argv[] = {"ssh-keygen", "-q", "-t", type, "-N", "",
                          "-C",         name, "-f", path, NULL};

    run_tool(argv);
    return path;
}

/**
 * sign() - certify a public key with a CA
 * @ca:         CA private key
 * @pub:        public key to certify; the certificate goes to
 *              KEY-cert.pub next to it
 * @host:       TRUE for a host certificate, FALSE for a user one
 * @principals: comma-separated principals
 */
static void sign(const char *ca, const char *pub, gboolean host,
                 const char *principals)
{
    const char *argv[12] = {"ssh-keygen", "-q",      "-s", ca,
                            "-I",         "qm-test", "-n", principals};
    int n = 8;

    if (host)
        argv[n++] = "-h";
    argv[n++] = pub;
    run_tool(argv);
}

/**
 * copy_key() - copy a key pair, keeping the private key private
 * @from: private key
 * @to:   new private key name; the public key gets ".pub"
 */
static void copy_key(const char *from, const char *to)
{
    g_autofree char *key = read_file(from);
    g_autofree char *from_pub = g_strdup_printf("%s.pub", from);
    g_autofree char *to_pub = g_strdup_printf("%s.pub", to);
    g_autofree char *pub = read_file(from_pub);

    write_file(to, key, 0600);
    write_file(to_pub, pub, 0644);
}

/**
 * host_key_of() - "TYPE BASE64" host key of an instance
 * @sshd: instance
 *
 * Return: newly allocated key, from the instance's known_hosts line
 */
static char *host_key_of(const QmTestSshd *sshd)
{
    g_autofree char *line = g_strstrip(read_file(sshd->known_hosts));
    char *space = strchr(line, ' ');

    g_assert_nonnull(space);
    return g_strdup(space + 1);
}

/**
 * known_line() - known_hosts line for an instance under its address
 * @sshd: instance
 *
 * Return: newly allocated "[127.0.0.1]:PORT TYPE BASE64\n"
 */
static char *known_line(const QmTestSshd *sshd)
{
    g_autofree char *key = host_key_of(sshd);

    return g_strdup_printf("[127.0.0.1]:%d %s\n", sshd->port, key);
}

/**
 * authorize() - let a public key log in to an instance as well
 * @sshd:     instance
 * @pub_path: public key file
 */
static void authorize(const QmTestSshd *sshd, const char *pub_path)
{
    g_autofree char *path =
        g_build_filename(sshd->dir, "authorized_keys", NULL);
    g_autofree char *keys = read_file(path);
    g_autofree char *pub = read_file(pub_path);
    g_autofree char *all = g_strconcat(keys, pub, NULL);

    write_file(path, all, 0600);
}

/**
 * substitute() - add a placeholder and its value
 * @name:  "@NAME@"
 * @value: what replaces it
 */
static void substitute(const char *name, const char *value)
{
    g_ptr_array_add(substitutions, g_strdup(name));
    g_ptr_array_add(substitutions, g_strdup(value));
}

/**
 * expand() - replace every placeholder in a row's text
 * @text:   row text
 * @config: the row's config file, for @CFG@
 *
 * Return: newly allocated text
 */
static char *expand(const char *text, const char *config)
{
    GString *s = g_string_new(text);

    for (guint i = 0; i + 1 < substitutions->len; i += 2)
        g_string_replace(s, substitutions->pdata[i],
                         substitutions->pdata[i + 1], 0);
    g_string_replace(s, "@CFG@", config, 0);
    return g_string_free(s, FALSE);
}

/**
 * connection_hash() - ssh(1)'s %C for a connection, as OpenSSH 9.2 has it
 * @host: HostName
 * @port: port
 * @user: remote user
 *
 * Return: newly allocated SHA-1 of "%l%h%p%r" in hex
 */
static char *connection_hash(const char *host, int port, const char *user)
{
    char thishost[256] = "";
    g_autofree char *all = NULL;

    g_assert_cmpint(gethostname(thishost, sizeof(thishost) - 1), ==, 0);
    all = g_strdup_printf("%s%s%d%s", thishost, host, port, user);
    return g_compute_checksum_for_string(G_CHECKSUM_SHA1, all, -1);
}

/**
 * prepare_files() - keys, certificates and known_hosts files the rows
 *                   name, for peers A and B (C's files exist already)
 * @host_ca: the host CA's private key
 * @user_ca: the user CA's private key
 */
static void prepare_files(const char *host_ca, const char *user_ca)
{
    QmTestSshd *a = peers[0], *b = peers[1], *c = peers[2];
    const char *me = g_get_user_name();
    g_autofree char *id = keygen("id-shared", "ed25519");
    g_autofree char *id_pub = g_strdup_printf("%s.pub", id);
    g_autofree char *line_a = known_line(a);
    g_autofree char *line_b = known_line(b);
    g_autofree char *key_a = host_key_of(a);
    g_autoptr(GString) all = g_string_new(NULL);
    g_autofree char *kh_all = scratch_path("kh-all");
    char port[16];

    /* A and B accept the shared key; C only its own and certificates */
    authorize(a, id_pub);
    authorize(b, id_pub);

    /* All three under their address and under "localhost" */
    for (int i = 0; i < 3; i++) {
        g_autofree char *key = host_key_of(peers[i]);

        g_string_append_printf(all, "[127.0.0.1]:%d,[localhost]:%d %s\n",
                               peers[i]->port, peers[i]->port, key);
    }
    write_file(kh_all, all->str, 0644);
    {
        g_autofree char *p = scratch_path("kh-a");
        g_autofree char *q = scratch_path("kh-b");
        g_autofree char *n = scratch_path("kh-tkn");
        g_autofree char *hp_name = g_strdup_printf("kh-127.0.0.1-%d", b->port);
        g_autofree char *hp = scratch_path(hp_name);
        g_autofree char *hash = connection_hash("127.0.0.1", b->port, me);
        g_autofree char *c_name = g_strdup_printf("kh-%s", hash);
        g_autofree char *ch = scratch_path(c_name);
        g_autofree char *other = scratch_path("kh-other");
        g_autofree char *other_line = g_strdup_printf("other %s\n", key_a);

        write_file(p, line_a, 0644);
        write_file(q, line_b, 0644);
        write_file(n, line_b, 0644);
        write_file(hp, line_b, 0644);
        write_file(ch, line_b, 0644);
        write_file(other, other_line, 0644);
    }
    {
        g_autofree char *host_ca_pub_path = g_strdup_printf("%s.pub", host_ca);
        g_autofree char *user_ca_pub_path = g_strdup_printf("%s.pub", user_ca);
        g_autofree char *host_ca_pub = g_strstrip(read_file(host_ca_pub_path));
        g_autofree char *user_ca_pub = g_strstrip(read_file(user_ca_pub_path));
        g_autofree char *ca_line =
            g_strdup_printf("@cert-authority [127.0.0.1]:* %s\n", host_ca_pub);
        g_autofree char *other_line =
            g_strdup_printf("@cert-authority [127.0.0.1]:* %s\n", user_ca_pub);
        g_autofree char *p = scratch_path("kh-host-ca");
        g_autofree char *q = scratch_path("kh-other-ca");

        write_file(p, ca_line, 0644);
        write_file(q, other_line, 0644);
    }

    /* Identities named through %r and %i */
    {
        g_autofree char *r_name = g_strdup_printf("id-%s", me);
        g_autofree char *r = scratch_path(r_name);
        g_autofree char *i_name = g_strdup_printf("id-uid-%u", getuid());
        g_autofree char *i = scratch_path(i_name);

        copy_key(id, r);
        copy_key(id, i);
    }

    /* User certificates C accepts: KEY-cert.pub, and one elsewhere */
    {
        g_autofree char *ucert = keygen("ucert", "ed25519");
        g_autofree char *ucert_pub = g_strdup_printf("%s.pub", ucert);
        g_autofree char *ucert2 = keygen("ucert2", "ed25519");
        g_autofree char *ucert2_pub = g_strdup_printf("%s.pub", ucert2);
        g_autofree char *signed2 = g_strdup_printf("%s-cert.pub", ucert2);
        g_autofree char *crt = g_strdup_printf("%s.crt", ucert2);

        sign(user_ca, ucert_pub, FALSE, me);
        sign(user_ca, ucert2_pub, FALSE, me);
        g_assert_cmpint(g_rename(signed2, crt), ==, 0);
    }

    /* Keys the agent holds, none of them accepted anywhere */
    for (int i = 0; i < AGENT_KEYS; i++) {
        g_autofree char *name = g_strdup_printf("agent-key-%d", i);

        g_free(keygen(name, "ed25519"));
    }

    {
        g_autofree char *flag = scratch_path("flag-present");

        write_file(flag, "", 0644);
    }

    substitutions = g_ptr_array_new_with_free_func(g_free);
    g_snprintf(port, sizeof(port), "%d", a->port);
    substitute("@PA@", port);
    g_snprintf(port, sizeof(port), "%d", b->port);
    substitute("@PB@", port);
    g_snprintf(port, sizeof(port), "%d", c->port);
    substitute("@PC@", port);
    substitute("@IDC@", c->identity);
    substitute("@ID@", id);
    substitute("@KH@", kh_all);
    substitute("@S@", scratch);
    substitute("@ME@", me);
}

/**
 * certify_host_key() - QmTestSshdPrepare: a host certificate for C's own
 *                      host key, where C's sshd_config expects it
 * @sshd: C, not started yet
 * @data: the host CA's private key
 */
static void certify_host_key(const QmTestSshd *sshd, gpointer data)
{
    g_autofree char *pub = g_build_filename(sshd->dir, "hostkey.pub", NULL);
    g_autofree char *cert =
        g_build_filename(sshd->dir, "hostkey-cert.pub", NULL);
    g_autofree char *copy = scratch_path("c-hostkey-cert.pub");
    g_autofree char *text = NULL;

    sign(data, pub, TRUE, "127.0.0.1,localhost");
    text = read_file(cert);
    write_file(copy, text, 0644);
}

/**
 * need_peers() - start A, B and C and write every file the rows name, on
 *                first use
 *
 * Lazily, so that listing tests (-l) starts nothing.
 *
 * Return: FALSE (test skipped) when a tool is missing
 */
static gboolean need_peers(void)
{
    g_autofree char *host_ca = NULL;
    g_autofree char *user_ca = NULL;
    g_autofree char *host_cert = NULL;
    g_autofree char *extra = NULL;
    gint64 start = g_get_monotonic_time();

    if (skip_reason != NULL) {
        g_test_skip(skip_reason);
        return FALSE;
    }
    if (peers[0] != NULL)
        return TRUE;

    scratch = g_build_filename(qm_test_tmpdir(), "sshconfig", NULL);
    g_assert_cmpint(g_mkdir_with_parents(scratch, 0700), ==, 0);

    /*
     * C: its host key comes with a certificate.  A certificate for a key
     * of its own type: ssh(1) 9.2 prefers certificate algorithms, and
     * checks the certificate's key as a plain key when no CA vouches for
     * it, so a plain known_hosts line still works.
     */
    host_ca = keygen("host-ca", "ed25519");
    user_ca = keygen("user-ca", "ed25519");
    host_cert = scratch_path("c-hostkey-cert.pub");
    extra = g_strdup_printf("MaxAuthTries %d\n"
                            "TrustedUserCAKeys \"%s.pub\"\n"
                            "HostCertificate \"%s\"\n",
                            MAX_AUTH_TRIES, user_ca, host_cert);

    peers[0] = qm_test_sshd_start("peer-a");
    peers[1] = qm_test_sshd_start("peer-b");
    peers[2] =
        qm_test_sshd_start_full("peer-c", extra, certify_host_key, host_ca);
    prepare_files(host_ca, user_ca);
    g_test_message("peers A, B, C on ports %d, %d, %d, ready in %.3f s",
                   peers[0]->port, peers[1]->port, peers[2]->port,
                   (g_get_monotonic_time() - start) / 1e6);
    return TRUE;
}

/**
 * child_setup() - GSpawnChildSetupFunc: let the agent die with the test
 * @data: PID of the test process, as a pointer
 */
static void child_setup(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != (pid_t)GPOINTER_TO_INT(data))
        _exit(1);
}

/**
 * agent_start() - an ssh-agent holding AGENT_KEYS keys no peer accepts,
 *                 announced in SSH_AUTH_SOCK
 *
 * Return: the agent's PID, for agent_stop()
 */
static GPid agent_start(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *sock = scratch_path("agent.sock");
    const char *agent_argv[] = {"ssh-agent", "-D", "-a", sock, NULL};
    g_autoptr(GPtrArray) add = g_ptr_array_new_with_free_func(g_free);
    GPid pid;

    g_unlink(sock);
    g_spawn_async(NULL, (char **)agent_argv, NULL,
                  G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                      G_SPAWN_STDOUT_TO_DEV_NULL,
                  child_setup, GINT_TO_POINTER(getpid()), &pid, &error);
    g_assert_no_error(error);
    for (int i = 0; i < 500 && !g_file_test(sock, G_FILE_TEST_EXISTS); i++)
        g_usleep(10 * 1000);
    g_assert_true(g_file_test(sock, G_FILE_TEST_EXISTS));
    g_setenv("SSH_AUTH_SOCK", sock, TRUE);

    g_ptr_array_add(add, g_strdup("ssh-add"));
    g_ptr_array_add(add, g_strdup("-q"));
    for (int i = 0; i < AGENT_KEYS; i++) {
        g_autofree char *name = g_strdup_printf("agent-key-%d", i);

        g_ptr_array_add(add, scratch_path(name));
    }
    g_ptr_array_add(add, NULL);
    run_tool((const char *const *)add->pdata);
    return pid;
}

/**
 * agent_stop() - stop the agent agent_start() started
 * @pid: its PID
 */
static void agent_stop(GPid pid)
{
    int status;

    g_unsetenv("SSH_AUTH_SOCK");
    kill(pid, SIGTERM);
    while (waitpid(pid, &status, 0) < 0)
        g_assert_cmpint(errno, ==, EINTR);
    g_spawn_close_pid(pid);
}

/**
 * write_config() - a row's ssh_config file
 * @row:  the row
 * @path: where to write it
 *
 * After the row's own lines, a trailer both ssh(1) and qemu-mig read: the
 * combined known_hosts (a row's own UserKnownHostsFile comes first, and
 * the first value wins), no global known_hosts, strict checking, and the
 * shared client key unless the row names its own (IdentityFile adds up).
 */
static void write_config(const Row *row, const char *path)
{
    g_autofree char *text = NULL;
    g_autofree char *all = NULL;

    all = g_strconcat(
        row->config,
        "\n"
        "# every case\n"
        "Host *\n"
        "    UserKnownHostsFile @KH@\n"
        "    GlobalKnownHostsFile /dev/null\n"
        "    StrictHostKeyChecking yes\n"
        "    UpdateHostKeys no\n",
        row->setup & SETUP_OWN_ID ? "" : "    IdentityFile @ID@\n", NULL);
    text = expand(all, path);
    write_file(path, text, 0600);
}

/**
 * run_ssh() - the reference: OpenSSH's ssh(1) with the row's config
 * @config: ssh_config file
 * @dest:   destination
 * @out:    set to its stdout
 * @err:    set to its stderr
 *
 * Return: TRUE when it exited 0
 */
static gboolean run_ssh(const char *config, const char *dest, char **out,
                        char **err)
{
    const char *argv[] = {"timeout", "-k",   "5",  SSH_TIMEOUT,     "ssh", "-n",
                          "-F",      config, "-o", "BatchMode=yes", "--",  dest,
                          WHO_CMD,   NULL};
    g_autoptr(GError) error = NULL;
    int status = -1;

    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                 out, err, &status, &error);
    g_assert_no_error(error);
    return g_spawn_check_wait_status(status, NULL);
}

/**
 * failed() - record a mismatch: the row fails, and the next rows run
 * @fmt: printf format
 * @...: arguments
 */
static void failed(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void failed(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_test_message("MISMATCH: %s", msg);
    g_test_fail_printf("%s", msg);
}

/**
 * run_qm() - qm_ssh_run() with the row's config, and the checks every
 *            call must pass
 * @dest:     destination
 * @config:   ssh_config file
 * @deadline: g_get_monotonic_time() deadline
 * @result:   set on success
 * @error:    set on failure
 *
 * No descriptor may outlive the call, a result comes exactly with success,
 * and an error is one line that starts with the destination.
 *
 * Return: what qm_ssh_run() returned
 */
static gboolean run_qm(const char *dest, const char *config, gint64 deadline,
                       QmSshResult **result, GError **error)
{
    QmSshOptions options = {.ssh_config = config};
    guint fds = qm_test_count_fds();
    gboolean ok;

    ok = qm_ssh_run(dest, &options, WHO_CMD, NULL, 0, MAX_OUT, deadline, result,
                    error);
    if (qm_test_count_fds() != fds)
        failed("qm_ssh_run() left %d descriptors open",
               (int)qm_test_count_fds() - (int)fds);
    if (ok) {
        g_assert_null(*error);
        g_assert_nonnull(*result);
        g_assert_nonnull((*result)->out);
    } else {
        g_assert_nonnull(*error);
        g_assert_null(*result);
        if (!g_str_has_prefix((*error)->message, dest) ||
            strchr((*error)->message, '\n') != NULL)
            failed("error is not one line starting with %s", dest);
    }
    return ok;
}

/**
 * leftovers() - processes that should be gone once qm_ssh_run() returned
 *
 * This process's children other than the sshds (a ProxyCommand or a
 * helper left running or unreaped), and the slow row's "sleep 20"
 * anywhere in this session (orphaned when only its parent was killed).
 *
 * @report: describe each with g_test_message()
 *
 * Return: how many
 */
static guint leftovers(gboolean report)
{
    g_autoptr(GDir) dir = g_dir_open("/proc", 0, NULL);
    static const char sleep_cmd[] = "sleep\0"
                                    "20";
    const char *name;
    guint n = 0;

    g_assert_nonnull(dir);
    while ((name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *path = NULL;
        g_autofree char *stat = NULL;
        g_autofree char *cmd = NULL;
        const char *close_paren;
        gsize len = 0;
        char state;
        int ppid, pgrp, session;

        if (!g_ascii_isdigit(name[0]))
            continue;
        path = g_build_filename("/proc", name, "stat", NULL);
        if (!g_file_get_contents(path, &stat, NULL, NULL))
            continue;
        /* "PID (COMM) STATE PPID PGRP SESSION ..." */
        close_paren = strrchr(stat, ')');
        if (close_paren == NULL || sscanf(close_paren + 1, " %c %d %d %d",
                                          &state, &ppid, &pgrp, &session) != 4)
            continue;
        if (ppid == (int)getpid()) {
            if (strstr(stat, "(sshd)") != NULL)
                continue;
            if (report)
                g_test_message("child left: %s", stat);
            n++;
            continue;
        }
        if (session != (int)getsid(0))
            continue;
        g_free(path);
        path = g_build_filename("/proc", name, "cmdline", NULL);
        if (g_file_get_contents(path, &cmd, &len, NULL) &&
            len == sizeof(sleep_cmd) &&
            memcmp(cmd, sleep_cmd, sizeof(sleep_cmd)) == 0) {
            if (report)
                g_test_message("Match exec command left: %s", stat);
            n++;
        }
    }
    return n;
}

/**
 * last_line() - the last non-empty line of a text, for messages
 * @text: text
 *
 * Return: newly allocated line
 */
static char *last_line(const char *text)
{
    g_autofree char *copy = g_strstrip(g_strdup(text));
    const char *nl = strrchr(copy, '\n');

    return g_strdup(nl != NULL ? nl + 1 : copy);
}

/**
 * check_ssh() - did ssh(1) itself do what the row says?
 * @row:     the row
 * @ok:      whether it ran the command
 * @out:     its stdout
 * @err:     its stderr
 * @elapsed: how long it took, in microseconds
 *
 * A row whose reference misbehaves would compare qemu-mig with the
 * wrong thing: that is a failure of its own.
 */
static void check_ssh(const Row *row, gboolean ok, const char *out,
                      const char *err, gint64 elapsed)
{
    g_autofree char *said = last_line(err);
    g_autofree char *shown = g_strchomp(g_strdup(ok ? out : said));

    g_test_message("ssh(1): %s%s in %.3f s",
                   ok ? "reached " : "refused: ", shown, elapsed / 1e6);
    if (row->reaches != 0) {
        const QmTestSshd *peer = peers[row->reaches - 'A'];
        g_autofree char *want =
            g_strdup_printf("%s %d\n", g_get_user_name(), peer->port);

        if (!ok || strcmp(out, want) != 0)
            failed("the reference is off: ssh(1) should reach %c (%s), "
                   "but %s%s",
                   row->reaches, g_strchomp(g_strdup(want)),
                   ok ? "printed " : "said: ", ok ? out : err);
    } else {
        if (ok)
            failed("the reference is off: ssh(1) should refuse, but "
                   "printed %s",
                   out);
        else if (row->ssh_says != NULL && strstr(err, row->ssh_says) == NULL)
            failed("the reference is off: ssh(1) should say \"%s\", but "
                   "said: %s",
                   row->ssh_says, err);
    }
}

/**
 * check_refusal() - qemu-mig's error is of the row's class and says what
 *                   the row wants said
 * @row:    the row
 * @config: the row's config file
 * @error:  qemu-mig's error
 */
static void check_refusal(const Row *row, const char *config,
                          const GError *error)
{
    if (error->domain != QM_ERROR ||
        (row->code != 0 && error->code != (int)row->code)) {
        failed("qemu-mig failed with code %d, the row wants %d: %s",
               error->code, row->code, error->message);
        return;
    }
    for (const char *const *s = row->qm_says; s != NULL && *s != NULL; s++) {
        g_autofree char *want = expand(*s, config);

        if (strstr(error->message, want) == NULL)
            failed("qemu-mig's error does not say \"%s\": %s", want,
                   error->message);
    }
}

/**
 * test_row() - one row: ssh(1) and qemu-mig reach the same sshd as the
 *              same user, or both refuse
 * @data: the Row
 */
static void test_row(gconstpointer data)
{
    const Row *row = data;
    g_autofree char *name = NULL;
    g_autofree char *config = NULL;
    g_autofree char *dest = NULL;
    g_autofree char *ssh_out = NULL;
    g_autofree char *ssh_err = NULL;
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    gboolean ssh_ok = FALSE;
    gboolean qm_ok;
    gint64 start, elapsed;
    GPid agent = 0;

    if (!need_peers())
        return;
    name = g_strdelimit(g_strdup_printf("config-%s", row->name), "/", '-');
    config = scratch_path(name);
    write_config(row, config);
    dest = expand(row->dest, config);
    if (row->setup & SETUP_AGENT)
        agent = agent_start();

    if (!row->no_ssh) {
        start = g_get_monotonic_time();
        ssh_ok = run_ssh(config, dest, &ssh_out, &ssh_err);
        check_ssh(row, ssh_ok, ssh_out, ssh_err,
                  g_get_monotonic_time() - start);
    }

    start = g_get_monotonic_time();
    qm_ok =
        run_qm(dest, config,
               start + (row->deadline_s > 0 ? row->deadline_s * G_USEC_PER_SEC
                                            : TIMEOUT_US),
               &r, &error);
    elapsed = g_get_monotonic_time() - start;
    if (agent != 0)
        agent_stop(agent);
    /* whatever qemu-mig started is gone, or going within a moment */
    for (int i = 0; leftovers(i == 20) > 0; i++) {
        if (i == 20) {
            failed("processes qemu-mig started outlive qm_ssh_run()");
            break;
        }
        g_usleep(100 * 1000);
    }
    g_test_message(
        "qemu-mig: %s%.*s in %.3f s", qm_ok ? "reached " : "refused: ",
        qm_ok ? (int)strcspn((const char *)r->out->data, "\n")
              : (int)strlen(error->message),
        qm_ok ? (const char *)r->out->data : error->message, elapsed / 1e6);

    if (row->within_s > 0 &&
        elapsed >= row->within_s * qm_test_slow() * G_USEC_PER_SEC)
        failed("qemu-mig took %.1f s, the row allows %d s", elapsed / 1e6,
               row->within_s * qm_test_slow());

    if (row->divergence != NULL) {
        /* Documented: qemu-mig refuses where ssh(1) reaches */
        g_test_message("documented divergence: %s", row->divergence);
        if (qm_ok)
            failed("qemu-mig reached %.*s where it is documented to refuse "
                   "(update the row if it now verifies this)",
                   (int)r->out->len, (const char *)r->out->data);
        else
            check_refusal(row, config, error);
    } else if (row->no_ssh || !ssh_ok) {
        if (qm_ok)
            failed("ssh(1) refuses, qemu-mig reached %.*s", (int)r->out->len,
                   (const char *)r->out->data);
        else
            check_refusal(row, config, error);
    } else if (!qm_ok) {
        failed("ssh(1) reached %s; qemu-mig refused: %s", g_strchomp(ssh_out),
               error->message);
    } else if (r->out->len != strlen(ssh_out) ||
               memcmp(r->out->data, ssh_out, r->out->len) != 0 ||
               r->exit_status != 0) {
        failed("ssh(1) reached %s; qemu-mig reached %.*s (exit status %d)",
               g_strchomp(ssh_out), (int)r->out->len,
               (const char *)r->out->data, r->exit_status);
    }
    if (g_test_failed()) {
        g_autofree char *text = read_file(config);

        g_test_message("the config was:\n%s", text);
    }
}

/**
 * evaluate_many() - thread body of test_whole_output(): evaluate one
 *                   config again and again
 * @data: the config file
 *
 * Return: NULL, or a newly allocated description of the first failure
 */
static gpointer evaluate_many(gpointer data)
{
    QmSshOptions options = {.ssh_config = data};

    for (int run = 0; run < WHOLE_RUNS; run++) {
        g_autoptr(QmSshConfig) cfg = NULL;
        g_autoptr(GError) error = NULL;
        gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

        if (!qm_ssh_config_evaluate("whole", &options, deadline, &cfg, &error))
            return g_strdup_printf("run %d: %s", run, error->message);
        if (g_strcmp0(cfg->user, "nobody") != 0 || cfg->port != 2 ||
            g_strv_length(cfg->identity_files) != WHOLE_FILES)
            return g_strdup_printf("run %d: user %s port %d, %u files", run,
                                   cfg->user, cfg->port,
                                   g_strv_length(cfg->identity_files));
    }
    return NULL;
}

/**
 * test_whole_output() - every evaluation reads the whole of ssh -G's
 * output, however its last write and its exit fall against our reads
 *
 * ssh -G writes its dump in stdio-sized pieces and exits at once; a
 * runner that noticed the exit between its read and the last write lost
 * the tail (seen: "ssh -G printed no user or host name" once in a few
 * hundred runs, under load).  A dump of some 20 KB (ssh takes at most
 * 100 IdentityFiles: SendEnv makes up the rest), read many times by more
 * threads than there are cores, so that the runner is preempted at every
 * point of its loop.
 */
static void test_whole_output(void)
{
    g_autofree char *config = NULL;
    g_autoptr(GString) text = g_string_new("Host whole\n"
                                           "    HostName 127.0.0.1\n"
                                           "    User nobody\n"
                                           "    Port 2\n");
    GThread *threads[WHOLE_THREADS];

    if (skip_reason != NULL) {
        g_test_skip(skip_reason);
        return;
    }
    config = g_build_filename(qm_test_tmpdir(), "whole-output.conf", NULL);
    for (int i = 0; i < WHOLE_FILES; i++)
        g_string_append_printf(text,
                               "    IdentityFile /nonexistent/qemu-mig-test/"
                               "a-long-enough-directory-name/key-%03d\n",
                               i);
    for (int i = 0; i < 300; i++)
        g_string_append_printf(text,
                               "    SendEnv QEMU_MIG_TEST_VARIABLE_%03d\n", i);
    write_file(config, text->str, 0600);
    for (int t = 0; t < WHOLE_THREADS; t++)
        threads[t] = g_thread_new("evaluate", evaluate_many, config);
    for (int t = 0; t < WHOLE_THREADS; t++) {
        g_autofree char *failure = g_thread_join(threads[t]);

        if (failure != NULL)
            g_error("thread %d: %s", t, failure);
    }
}

/**
 * tools_available() - whether every OpenSSH program the rows run exists
 * @reason: set to a newly allocated explanation when not
 *
 * Return: TRUE when sshd, ssh-keygen, ssh, ssh-agent and ssh-add are there
 */
static gboolean tools_available(char **reason)
{
    static const char *const tools[] = {"ssh", "ssh-agent", "ssh-add",
                                        "timeout"};

    if (!qm_test_sshd_available(reason))
        return FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(tools); i++) {
        g_autofree char *path = g_find_program_in_path(tools[i]);

        if (path == NULL) {
            *reason = g_strdup_printf("%s not found in PATH (install "
                                      "openssh-client)",
                                      tools[i]);
            return FALSE;
        }
    }
    return TRUE;
}

/**
 * main() - register one test per row and run them
 * @argc: argument count
 * @argv: arguments
 *
 * Return: g_test_run()'s result
 */
int main(int argc, char **argv)
{
    int ret;

    /* A row that fails must not hide the verdict on the next ones */
    qm_test_keep_going(&argc, &argv);
    qm_test_init(&argc, &argv);
    tools_available(&skip_reason);
    qm_ssh_init();

    for (gsize i = 0; i < G_N_ELEMENTS(rows); i++) {
        g_autofree char *path = g_strdup_printf("/sshconfig/%s", rows[i].name);

        g_test_add_data_func(path, &rows[i], test_row);
    }

    g_test_add_func("/sshconfig/whole-output", test_whole_output);

    ret = g_test_run();
    for (gsize i = 0; i < G_N_ELEMENTS(peers); i++)
        g_clear_pointer(&peers[i], qm_test_sshd_stop);
    if (substitutions != NULL)
        g_ptr_array_unref(substitutions);
    g_free(scratch);
    g_free(skip_reason);
    return ret;
}
