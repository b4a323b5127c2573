/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: known_hosts read with OpenSSH's rules (remote/knownhosts.c).
 *
 * The hashed lines below were written by OpenSSH's own `ssh-keygen -H`, so
 * they check the hashing against ssh(1), not against this code.
 */
#include <string.h>
#include <glib/gstdio.h>

#include "remote/knownhosts.h"
#include "testutil.h"

#define KEY_A                                                                  \
    "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GVDM"
#define KEY_B                                                                  \
    "AAAAC3NzaC1lZDI1NTE5AAAAIBCQrcE5p2Fm7tV8Hq0fPZ5oXkJmH9S6xJ5rE0m3KrWl"

/* ssh-keygen -H of "[127.0.0.1]:2222 ssh-ed25519 KEY_A" and of
 * "example.org ssh-ed25519 KEY_A" */
#define HASHED_2222                                                            \
    "|1|SEjOrg/Ao6KN6d0baFTJ4xWK03E=|urVHd1rd7NKvzc1bd2GHYtf7VoE="
#define HASHED_ORG                                                             \
    "|1|SA2zpDzYAaLcF0q+m2g9x62dIQ0=|oaP4pkLvItV8BReyf9U0iwGQ91k="

/**
 * PatternCase - one host field and one name
 */
typedef struct {
    const char *patterns;
    const char *name;
    gboolean match;
} PatternCase;

static const PatternCase pattern_cases[] = {
    {"example.org", "example.org", TRUE},
    {"EXAMPLE.org", "example.ORG", TRUE},
    {"a.org,example.org", "example.org", TRUE},
    {"*.org", "example.org", TRUE},
    {"*.org", "org", FALSE},
    {"ex?mple.org", "example.org", TRUE},
    {"ex?mple.org", "exmple.org", FALSE},
    {"[127.0.0.1]:2222", "[127.0.0.1]:2222", TRUE},
    {"[127.0.0.1]:2222", "127.0.0.1", FALSE},
    {"127.0.0.1", "[127.0.0.1]:2222", FALSE},
    {"[127.0.0.*]:2222", "[127.0.0.5]:2222", TRUE},
    /* a negated match overrules every other match of the field */
    {"[127.0.0.*]:2222,![127.0.0.1]:2222", "[127.0.0.1]:2222", FALSE},
    {"![127.0.0.1]:2222,[127.0.0.*]:2222", "[127.0.0.1]:2222", FALSE},
    {"[127.0.0.*]:2222,![127.0.0.1]:2222", "[127.0.0.2]:2222", TRUE},
    {"!example.org", "other.org", FALSE},
    {"*,!a.org", "b.org", TRUE},
    {"*", "anything", TRUE},
    {"", "example.org", FALSE},
    {HASHED_2222, "[127.0.0.1]:2222", TRUE},
    {HASHED_2222, "127.0.0.1", FALSE},
    {HASHED_ORG, "example.org", TRUE},
    {HASHED_ORG, "example.com", FALSE},
    {"|1|bogus", "example.org", FALSE},
};

/**
 * test_pattern() - one PatternCase
 * @data: PatternCase
 */
static void test_pattern(gconstpointer data)
{
    const PatternCase *c = data;

    g_assert_cmpint(qm_known_hosts_name_matches(c->patterns, c->name), ==,
                    c->match);
}

/**
 * write_file() - a known_hosts file in the test's directory
 * @name: file name
 * @text: contents
 *
 * Return: newly allocated path
 */
static char *write_file(const char *name, const char *text)
{
    char *path = g_build_filename(qm_test_tmpdir(), name, NULL);

    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    return path;
}

/**
 * CheckCase - known_hosts contents and the state for KEY_A at a name
 */
typedef struct {
    const char *what;
    const char *text;
    const char *name;
    QmHostKeyState state;
} CheckCase;

static const CheckCase check_cases[] = {
    {"listed", "example.org ssh-ed25519 " KEY_A "\n", "example.org",
     QM_HOSTKEY_OK},
    {"comment-and-blanks",
     "# comment\n\n   example.org   ssh-ed25519\t" KEY_A "  me@there\n",
     "example.org", QM_HOSTKEY_OK},
    {"unknown", "other.org ssh-ed25519 " KEY_A "\n", "example.org",
     QM_HOSTKEY_UNKNOWN},
    {"changed", "example.org ssh-ed25519 " KEY_B "\n", "example.org",
     QM_HOSTKEY_CHANGED},
    {"other-type", "example.org ecdsa-sha2-nistp256 " KEY_B "\n", "example.org",
     QM_HOSTKEY_OTHER},
    /* revoked wins over a line that lists the key, before or after it */
    {"revoked",
     "example.org ssh-ed25519 " KEY_A "\n@revoked * ssh-ed25519 " KEY_A "\n",
     "example.org", QM_HOSTKEY_REVOKED},
    {"revoked-first",
     "@revoked example.org ssh-ed25519 " KEY_A
     "\nexample.org ssh-ed25519 " KEY_A "\n",
     "example.org", QM_HOSTKEY_REVOKED},
    {"revoked-other-key",
     "@revoked * ssh-ed25519 " KEY_B "\nexample.org ssh-ed25519 " KEY_A "\n",
     "example.org", QM_HOSTKEY_OK},
    {"negated", "[127.0.0.*]:2222,![127.0.0.1]:2222 ssh-ed25519 " KEY_A "\n",
     "[127.0.0.1]:2222", QM_HOSTKEY_UNKNOWN},
    {"hashed", HASHED_2222 " ssh-ed25519 " KEY_A "\n", "[127.0.0.1]:2222",
     QM_HOSTKEY_OK},
    {"cert-authority-only", "@cert-authority *.org ssh-ed25519 " KEY_B "\n",
     "example.org", QM_HOSTKEY_CA_ONLY},
    {"unknown-marker", "@future example.org ssh-ed25519 " KEY_A "\n",
     "example.org", QM_HOSTKEY_UNKNOWN},
    {"truncated-line", "example.org ssh-ed25519\n", "example.org",
     QM_HOSTKEY_UNKNOWN},
};

/**
 * test_check() - one CheckCase
 * @data: CheckCase
 */
static void test_check(gconstpointer data)
{
    const CheckCase *c = data;
    g_autofree char *file = write_file(c->what, c->text);
    const char *files[] = {file, NULL};
    g_autofree char *where = NULL;

    g_assert_cmpint(
        qm_known_hosts_check(files, c->name, "ssh-ed25519", KEY_A, &where), ==,
        c->state);
    if (c->state != QM_HOSTKEY_UNKNOWN)
        g_assert_true(g_str_has_prefix(where, file));
    else
        g_assert_null(where);
}

/**
 * test_several_files() - every file counts: missing ones are empty, a key
 *                        in the second file is known, a revocation in any
 *                        file wins
 */
static void test_several_files(void)
{
    g_autofree char *missing =
        g_build_filename(qm_test_tmpdir(), "missing", NULL);
    g_autofree char *first =
        write_file("first", "other.org ssh-ed25519 " KEY_B "\n");
    g_autofree char *second =
        write_file("second", "example.org ssh-ed25519 " KEY_A "\n");
    g_autofree char *revoking =
        write_file("revoking", "@revoked * ssh-ed25519 " KEY_A "\n");
    g_autofree char *where = NULL;
    g_autofree char *line = NULL;
    const char *files[] = {missing, first, second, NULL};
    const char *all[] = {first, second, revoking, NULL};

    g_assert_cmpint(qm_known_hosts_check(files, "example.org", "ssh-ed25519",
                                         KEY_A, &where),
                    ==, QM_HOSTKEY_OK);
    line = g_strdup_printf("%s:1", second);
    g_assert_cmpstr(where, ==, line);
    g_clear_pointer(&where, g_free);
    g_assert_cmpint(
        qm_known_hosts_check(all, "example.org", "ssh-ed25519", KEY_A, &where),
        ==, QM_HOSTKEY_REVOKED);
}

/**
 * test_name() - the name known_hosts uses for a host and port
 */
static void test_name(void)
{
    g_autofree char *a = qm_known_hosts_name("example.org", 22);
    g_autofree char *b = qm_known_hosts_name("127.0.0.1", 2222);
    g_autofree char *c = qm_known_hosts_name("::1", 2222);

    g_assert_cmpstr(a, ==, "example.org");
    g_assert_cmpstr(b, ==, "[127.0.0.1]:2222");
    g_assert_cmpstr(c, ==, "[::1]:2222");
}

/**
 * main() - register and run the known_hosts tests
 * @argc: argument count
 * @argv: arguments
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);
    for (gsize i = 0; i < G_N_ELEMENTS(pattern_cases); i++) {
        g_autofree char *path = g_strdup_printf("/knownhosts/pattern/%zu", i);

        g_test_add_data_func(path, &pattern_cases[i], test_pattern);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(check_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/knownhosts/check/%s", check_cases[i].what);

        g_test_add_data_func(path, &check_cases[i], test_check);
    }
    g_test_add_func("/knownhosts/several-files", test_several_files);
    g_test_add_func("/knownhosts/name", test_name);
    return g_test_run();
}
