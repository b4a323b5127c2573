/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: the bash completion (contrib/completion/qemu-mig),
 * sourced into a real bash with bash-completion, asked about a table of
 * command lines; COMPREPLY must be exactly the expected set.
 */
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#define BASH_COMPLETION "/usr/share/bash-completion/bash_completion"

/**
 * CompCase - one command line and what Tab must offer
 * @name:  test name
 * @words: the words up to the cursor; the last one is being completed
 * @want:  every candidate, sorted, NULL-terminated; { NULL } for none
 * @has:   a candidate that must be there, when @want is not checked whole
 * @hasnt: one that must not be
 */
typedef struct {
    const char *name;
    const char *words[8];
    const char *want[16];
    const char *has;
    const char *hasnt;
} CompCase;

static const CompCase cases[] = {
    {"verbs",
     {"qemu-mig", "", NULL},
     {"cache", "explain", "list", "migrate", "probe", NULL}},
    {"verb-prefix", {"qemu-mig", "ex", NULL}, {"explain", NULL}},
    {"migrate-options",
     {"qemu-mig", "migrate", "--t", NULL},
     {"--timeout", "--to", "--tunnel", NULL}},
    {"migrate-no-dry-run",
     {"qemu-mig", "migrate", "--", NULL},
     {NULL},
     "--keep-source",
     "--dry-run"},
    {"launch-no-tunnel",
     {"qemu-mig", "--", NULL},
     {NULL},
     "--dry-run",
     "--tunnel"},
    {"on-unreachable",
     {"qemu-mig", "--on-unreachable=", NULL},
     {"fail", "stale", NULL}},
    {"on-unreachable-separate",
     {"qemu-mig", "--on-unreachable", "s", NULL},
     {"stale", NULL}},
    {"peers",
     {"qemu-mig", "--peer", "", NULL},
     {"@lab", "@rhel", "deb2", "rhel1", "sshhost", "sshinc", NULL}},
    {"peer-list", {"qemu-mig", "--peer", "deb2,r", NULL}, {"deb2,rhel1", NULL}},
    {"to-no-groups",
     {"qemu-mig", "migrate", "--to", "", NULL},
     {"deb2", "rhel1", "sshhost", "sshinc", NULL}},
    {"cache-actions",
     {"qemu-mig", "cache", "", NULL},
     {"clear", "list", "show", NULL}},
    {"after-dashes", {"qemu-mig", "--peer", "x", "--", "-cp", NULL}, {NULL}},
    {"guests", {"qemu-mig", "migrate", "", NULL}, {"vm1", "vm2", NULL}},
    {"other-ssh-config",
     {"qemu-mig", "--ssh-config", "@OTHER@/other_config", "--peer", "o", NULL},
     {"only-here", NULL}},
};

/**
 * setup_home() - the files completion reads, in the test's HOME
 *
 * Return: the directory holding the fake qemu-mig and the other
 * ssh_config (static)
 */
static const char *setup_home(void)
{
    static char *dir;
    g_autofree char *ssh = NULL;
    g_autofree char *conf = NULL;

    if (dir != NULL)
        return dir;
    dir = g_build_filename(qm_test_tmpdir(), "completion", NULL);
    ssh = g_build_filename(g_get_home_dir(), ".ssh", NULL);
    conf = g_build_filename(g_get_user_config_dir(), "qemu-mig", NULL);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    g_assert_cmpint(g_mkdir_with_parents(ssh, 0700), ==, 0);
    g_assert_cmpint(g_mkdir_with_parents(conf, 0700), ==, 0);
    {
        g_autofree char *f = g_build_filename(ssh, "config", NULL);
        g_autofree char *inc = g_build_filename(ssh, "more", NULL);

        g_assert_true(g_file_set_contents(f,
                                          "Include more\n"
                                          "Host sshhost *.lab !bad\n"
                                          "    Port 2222\n"
                                          "Host ?x\n",
                                          -1, NULL));
        g_assert_true(g_file_set_contents(inc, "Host sshinc\n", -1, NULL));
    }
    {
        g_autofree char *f = g_build_filename(conf, "config", NULL);

        g_assert_true(g_file_set_contents(f,
                                          "[host rhel1]\n"
                                          "remote-qemu=/usr/libexec/qemu-kvm\n"
                                          "[host deb2]\n"
                                          "[group lab]\n"
                                          "hosts=deb2;@rhel\n"
                                          "[group rhel]\n"
                                          "hosts=rhel1\n",
                                          -1, NULL));
    }
    {
        g_autofree char *f = g_build_filename(dir, "other_config", NULL);

        g_assert_true(g_file_set_contents(f, "Host only-here\n", -1, NULL));
    }
    {
        /* a qemu-mig whose `list --json` knows two guests */
        g_autofree char *f = g_build_filename(dir, "qemu-mig", NULL);

        g_assert_true(g_file_set_contents(
            f,
            "#!/bin/sh\n"
            "[ \"$1 $2\" = \"list --json\" ] || exit 2\n"
            "printf '[\\n  {\\n    \"name\" : \"vm1\"\\n  },\\n"
            "  {\\n    \"name\" : \"vm2\"\\n  }\\n]\\n'\n",
            -1, NULL));
        g_assert_cmpint(chmod(f, 0755), ==, 0);
    }
    return dir;
}

/**
 * complete() - what the completion offers for a command line
 * @words: the words, the last one being completed
 *
 * Return: the candidates, sorted, one per line
 */
static char *complete(const char *const *words)
{
    const char *dir = setup_home();
    g_autofree char *script =
        g_build_filename(g_getenv("G_TEST_SRCDIR"), "..", "contrib",
                         "completion", "qemu-mig", NULL);
    g_autoptr(GString) cmd = g_string_new(NULL);
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) error = NULL;
    const char *argv[] = {"bash", "--norc", "--noprofile", "-c", NULL, NULL};
    guint n = 0;
    int status;

    g_string_append_printf(cmd, "source %s && source %s && COMP_WORDS=(",
                           BASH_COMPLETION, script);
    for (; words[n] != NULL; n++) {
        g_autofree char *w = NULL;
        g_autofree char *q = NULL;
        g_autoptr(GString) word = g_string_new(words[n]);

        g_string_replace(word, "@OTHER@", dir, 0);
        /* the first word is the qemu-mig that `list` is asked of */
        if (n == 0)
            g_string_printf(word, "%s/qemu-mig", dir);
        q = g_shell_quote(word->str);
        g_string_append_printf(cmd, "%s ", q);
    }
    g_string_append_printf(cmd,
                           "); COMP_CWORD=%u; COMP_LINE=\"${COMP_WORDS[*]}\"; "
                           "COMP_POINT=${#COMP_LINE}; "
                           "_qemu_mig qemu-mig \"${COMP_WORDS[COMP_CWORD]}\" "
                           "\"${COMP_WORDS[COMP_CWORD-1]}\"; "
                           "printf '%%s\\n' \"${COMPREPLY[@]}\" | sort -u",
                           n - 1);
    argv[4] = cmd->str;
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH,
                               NULL, NULL, &out, &err, &status, &error));
    g_assert_no_error(error);
    g_test_message("%s -> %s (stderr: %s)", cmd->str, out, err);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    return g_steal_pointer(&out);
}

/**
 * test_case() - one line of the table
 * @data: CompCase
 */
static void test_case(gconstpointer data)
{
    const CompCase *c = data;
    g_autofree char *got = NULL;
    g_autoptr(GString) want = g_string_new(NULL);

    if (!g_file_test(BASH_COMPLETION, G_FILE_TEST_EXISTS)) {
        g_test_skip("bash-completion is not installed (" BASH_COMPLETION ")");
        return;
    }
    got = complete(c->words);
    if (c->has != NULL || c->hasnt != NULL) {
        g_autofree char *has = g_strdup_printf("\n%s\n", c->has);
        g_autofree char *hasnt = g_strdup_printf("\n%s\n", c->hasnt);
        g_autofree char *lines = g_strdup_printf("\n%s", got);

        if (c->has != NULL)
            g_assert_nonnull(strstr(lines, has));
        if (c->hasnt != NULL)
            g_assert_null(strstr(lines, hasnt));
        return;
    }
    for (guint i = 0; c->want[i] != NULL; i++)
        g_string_append_printf(want, "%s\n", c->want[i]);
    /* printf of no words prints one empty line */
    if (want->len == 0)
        g_string_append_c(want, '\n');
    g_assert_cmpstr(got, ==, want->str);
}

/**
 * main() - register and run the completion tests
 * @argc: argument count
 * @argv: arguments
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/completion/%s", cases[i].name);

        g_test_add_data_func(path, &cases[i], test_case);
    }
    return g_test_run();
}
