/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: the bash completion, sourced into a real bash, with
 * bash-completion's helpers and without, asked about a table of command
 * lines split into words as readline splits them (at "=", ":" and, with
 * no bash-completion, "@"); COMPREPLY must be exactly the expected set.
 */
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#define BASH_COMPLETION   "/usr/share/bash-completion/bash_completion"
#define COMPLETION_SCRIPT "completion/qemu-mig"

/**
 * CompCase - one command line and what Tab must offer
 * @name: test name
 * @line: the line up to the cursor; its first word is replaced by the
 *        fake qemu-mig, @DIR@ by the test's directory
 * @want: every candidate, sorted, blank-separated; "" for none
 */
typedef struct {
    const char *name;
    const char *line;
    const char *want;
} CompCase;

/**
 * CompMode - how bash is set up
 * @name:   test path component
 * @bc:     source bash-completion first
 * @breaks: the non-blank characters of COMP_WORDBREAKS in that bash
 *          (bash-completion turns hostcomplete off, which drops "@")
 */
typedef struct {
    const char *name;
    gboolean bc;
    const char *breaks;
} CompMode;

/**
 * CompTest - one case in one mode
 * @mode: how bash is set up
 * @c:    the case
 */
typedef struct {
    const CompMode *mode;
    const CompCase *c;
} CompTest;

static const CompMode modes[] = {
    {"bash-completion", TRUE, "\"'><=;|&(:"},
    {"plain", FALSE, "\"'@><=;|&(:"},
};

static const CompCase cases[] = {
    {"verbs", "qemu-mig ", "cache explain list migrate probe"},
    {"verb-prefix", "qemu-mig ex", "explain"},
    {"launch-options", "qemu-mig --",
     "--allow-cross-vendor --cache-dir --config --dry-run --for --help "
     "--identity --known-hosts --max-age --no-cache --no-config "
     "--no-register --offline --on-unreachable --peer --qemu --quiet "
     "--refresh --remote-qemu --runtime-dir --ssh-config --timeout "
     "--verbose --version"},
    {"launch-no-json", "qemu-mig --j", ""},
    {"explain-options", "qemu-mig explain --",
     "--allow-cross-vendor --cache-dir --config --for --help --identity "
     "--json --known-hosts --max-age --no-cache --no-config --offline "
     "--on-unreachable --peer --qemu --quiet --refresh --remote-qemu "
     "--ssh-config --timeout --verbose --version"},
    {"probe-options", "qemu-mig probe --",
     "--cache-dir --config --help --identity --json --known-hosts "
     "--max-age --no-cache --no-config --offline --on-unreachable --qemu "
     "--quiet --refresh --remote-qemu --ssh-config --timeout --verbose "
     "--version"},
    {"cache-options", "qemu-mig cache --",
     "--cache-dir --config --help --identity --json --known-hosts "
     "--no-config --qemu --quiet --remote-qemu --ssh-config --timeout "
     "--verbose --version"},
    {"list-options", "qemu-mig list --",
     "--config --help --json --no-config --quiet --runtime-dir --verbose "
     "--version"},
    {"migrate-options", "qemu-mig migrate --",
     "--auto-converge --bandwidth --config --downtime --force --help "
     "--identity --json --keep-source --known-hosts --migrate-address "
     "--migrate-timeout --no-config --qmp --quiet --remote-qemu "
     "--remote-runtime-dir --runtime-dir --ssh-config --timeout --to "
     "--tunnel --verbose --version"},
    {"migrate-t", "qemu-mig migrate --t", "--timeout --to --tunnel"},
    {"given-once", "qemu-mig --dry-run --timeout 3 --d", ""},
    {"peer-repeatable", "qemu-mig --peer a --pe", "--peer"},
    {"config-or-no-config", "qemu-mig --config x --no",
     "--no-cache --no-register"},
    {"offline-or-refresh", "qemu-mig --offline --re", "--remote-qemu"},
    {"qmp-or-guest", "qemu-mig migrate vm1 --q", "--quiet"},
    {"on-unreachable-eq", "qemu-mig --on-unreachable=", "fail stale"},
    {"on-unreachable-eq-prefix", "qemu-mig --on-unreachable=s", "stale"},
    {"on-unreachable-separate", "qemu-mig --on-unreachable f", "fail"},
    {"no-value-for-timeout", "qemu-mig --timeout ", ""},
    {"peers", "qemu-mig --peer ", "@lab @rhel deb2 rhel1 sshhost sshinc"},
    {"peer-eq", "qemu-mig --peer=r", "rhel1"},
    {"peer-group", "qemu-mig --peer @r", "@rhel"},
    {"peer-list", "qemu-mig --peer deb2,r", "deb2,rhel1"},
    {"peer-list-rest", "qemu-mig --peer=deb2,",
     "deb2,@lab deb2,@rhel deb2,rhel1 deb2,sshhost deb2,sshinc"},
    /* readline keeps "root@deb2:" and replaces what follows the colon */
    {"peer-list-port", "qemu-mig --peer root@deb2:22,s",
     "22,sshhost 22,sshinc"},
    {"to-no-groups", "qemu-mig migrate vm1 --to ", "deb2 rhel1 sshhost sshinc"},
    {"for-eq", "qemu-mig explain --for=d", "deb2"},
    {"other-ssh-config", "qemu-mig --ssh-config @DIR@/other_config --peer o",
     "only-here"},
    {"other-ssh-config-eq", "qemu-mig --ssh-config=@DIR@/other_config --peer o",
     "only-here"},
    {"other-config", "qemu-mig --config=@DIR@/other.conf --peer ",
     "@g2 c2 only-here"},
    {"no-config", "qemu-mig --no-config --peer ", "sshhost sshinc"},
    {"cache-actions", "qemu-mig cache ", "clear list show"},
    {"cache-show", "qemu-mig cache show ",
     "@lab @rhel deb2 local rhel1 sshhost sshinc"},
    {"cache-show-one", "qemu-mig cache show deb2 ", ""},
    {"cache-list-none", "qemu-mig cache list ", ""},
    {"cache-clear-more", "qemu-mig cache clear deb2 r", "rhel1"},
    {"probe-dests", "qemu-mig probe deb2 s", "sshhost sshinc"},
    {"after-dashes", "qemu-mig --peer x -- --p", ""},
    {"after-dashes-files", "qemu-mig -- -hda d", "disk.img"},
    {"qemu-started", "qemu-mig -m 1G --p", ""},
    {"qemu-option-value", "qemu-mig -drive if=virtio,file=d", "disk.img"},
    {"qemu-qmp", "qemu-mig --qmp d", "disk.img"},
    {"file", "qemu-mig --identity d", "disk.img"},
    {"dir-eq", "qemu-mig --cache-dir=", "images"},
    {"guests", "qemu-mig migrate ", "4242 vm1 vm2"},
    {"guests-prefix", "qemu-mig migrate --to deb2 v", "vm1 vm2"},
    {"guests-runtime-dir", "qemu-mig migrate --runtime-dir=@DIR@/rt1 ",
     "in-rt1"},
    {"guests-pretty", "qemu-mig migrate --runtime-dir @DIR@/pretty ", "vm3"},
    {"guests-hang", "qemu-mig migrate --runtime-dir @DIR@/hang ", ""},
    {"guest-given", "qemu-mig migrate vm1 ", ""},
    {"guest-or-qmp", "qemu-mig migrate --qmp /x ", ""},
};

/**
 * build_dir() - a directory of the meson build this test belongs to, for
 *               running it outside `meson test`
 * @key: "source" or "build", as meson-info/meson-info.json names them
 *
 * Return: newly allocated path (the test's build directory is the parent
 * of this executable's)
 */
static char *build_dir(const char *key)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *exe = g_file_read_link("/proc/self/exe", &error);
    g_autofree char *tests = NULL;
    g_autofree char *build = NULL;
    g_autofree char *info = NULL;
    JsonObject *dirs;

    g_assert_no_error(error);
    tests = g_path_get_dirname(exe);
    build = g_path_get_dirname(tests);
    info = g_build_filename(build, "meson-info", "meson-info.json", NULL);
    json_parser_load_from_file(parser, info, &error);
    g_assert_no_error(error);
    dirs = json_object_get_object_member(
        json_node_get_object(json_parser_get_root(parser)), "directories");
    g_assert_nonnull(dirs);
    return g_strdup(json_object_get_string_member(dirs, key));
}

/**
 * script_path() - the completion script: next to tests/ (G_TEST_SRCDIR)
 *
 * Return: newly allocated path
 */
static char *script_path(void)
{
    const char *srcdir = g_getenv("G_TEST_SRCDIR");
    g_autofree char *top = NULL;

    if (srcdir != NULL)
        return g_build_filename(srcdir, "..", "contrib", COMPLETION_SCRIPT,
                                NULL);
    top = build_dir("source");
    return g_build_filename(top, "contrib", COMPLETION_SCRIPT, NULL);
}

/**
 * qemu_mig_path() - the qemu-mig built here (QM_BINARY)
 *
 * Return: newly allocated path
 */
static char *qemu_mig_path(void)
{
    const char *binary = g_getenv("QM_BINARY");
    g_autofree char *build = NULL;

    if (binary != NULL)
        return g_strdup(binary);
    build = build_dir("build");
    return g_build_filename(build, "qemu-mig", NULL);
}

/**
 * write_file() - a file of the test's
 * @path: where
 * @text: contents, @DIR@ replaced by @dir
 * @dir:  the test's directory
 * @mode: permissions
 */
static void write_file(const char *path, const char *text, const char *dir,
                       int mode)
{
    g_autoptr(GString) s = g_string_new(text);

    g_string_replace(s, "@DIR@", dir, 0);
    g_assert_true(g_file_set_contents(path, s->str, -1, NULL));
    g_assert_cmpint(chmod(path, mode), ==, 0);
}

/**
 * setup_home() - the files completion reads, in the test's HOME
 *
 * ~/.ssh/config (Including ~/.ssh/more), the user's qemu-mig config,
 * another ssh_config and config, a fake qemu-mig and the directory bash
 * runs in.
 *
 * Return: the directory holding all but the HOME files (static)
 */
static const char *setup_home(void)
{
    static char *dir;
    g_autofree char *ssh = NULL;
    g_autofree char *conf = NULL;
    g_autofree char *cwd = NULL;
    g_autofree char *images = NULL;
    g_autofree char *f = NULL;

    if (dir != NULL)
        return dir;
    dir = g_build_filename(qm_test_tmpdir(), "completion", NULL);
    ssh = g_build_filename(g_get_home_dir(), ".ssh", NULL);
    conf = g_build_filename(g_get_user_config_dir(), "qemu-mig", NULL);
    cwd = g_build_filename(dir, "cwd", NULL);
    images = g_build_filename(cwd, "images", NULL);
    g_assert_cmpint(g_mkdir_with_parents(ssh, 0700), ==, 0);
    g_assert_cmpint(g_mkdir_with_parents(conf, 0700), ==, 0);
    g_assert_cmpint(g_mkdir_with_parents(images, 0700), ==, 0);

    f = g_build_filename(ssh, "config", NULL);
    write_file(f,
               "Include more\n"
               "Host sshhost *.lab !bad\n"
               "    Port 2222\n"
               "Host ?x\n",
               dir, 0600);
    g_free(f);
    f = g_build_filename(ssh, "more", NULL);
    write_file(f, "host=sshinc\n", dir, 0600);
    g_free(f);
    f = g_build_filename(conf, "config", NULL);
    write_file(f,
               "[host rhel1]\n"
               "remote-qemu=/usr/libexec/qemu-kvm\n"
               "[host deb2]\n"
               "[group lab]\n"
               "hosts=deb2;@rhel\n"
               "[group rhel]\n"
               "hosts=rhel1\n",
               dir, 0600);
    g_free(f);
    f = g_build_filename(dir, "other_config", NULL);
    write_file(f, "Host only-here\n", dir, 0600);
    g_free(f);
    f = g_build_filename(dir, "other.conf", NULL);
    write_file(f,
               "[defaults]\n"
               "ssh-config = @DIR@/other_config\n"
               "[host c2]\n"
               "[group g2]\n"
               "hosts=c2\n",
               dir, 0600);
    g_free(f);
    f = g_build_filename(cwd, "disk.img", NULL);
    write_file(f, "", dir, 0600);
    g_free(f);
    /*
     * A qemu-mig whose `list --json` knows guests: two and one without a
     * name, on one line; with --runtime-dir .../pretty one, printed as
     * qemu-mig prints; with .../hang none, ever
     */
    f = g_build_filename(dir, "qemu-mig", NULL);
    write_file(
        f,
        "#!/bin/sh\n"
        "[ \"$1 $2\" = \"list --json\" ] || exit 2\n"
        "shift 2\n"
        "rt=\n"
        "while [ $# -gt 0 ]; do\n"
        "    [ \"$1\" = --runtime-dir ] && rt=$2\n"
        "    shift\n"
        "done\n"
        "case $rt in\n"
        "*/hang) exec sleep 30 ;;\n"
        "*/pretty) printf '[\\n  {\\n    \"id\" : \"d4\",\\n"
        "    \"name\" : \"vm3\",\\n    \"argv\" : [\\n      \"-name\",\\n"
        "      \"vm3\"\\n    ],\\n    \"pid\" : 13\\n  }\\n]\\n' ;;\n"
        "?*) printf '[{\"name\":\"in-%s\",\"pid\":7}]\\n' \"${rt##*/}\" ;;\n"
        "*) printf '[{\"id\":\"a1\",\"name\":\"vm1\",\"pid\":11},"
        "{\"id\":\"b2\",\"name\":null,\"pid\":4242},"
        "{\"id\":\"c3\",\"name\":\"vm2\",\"pid\":12}]\\n' ;;\n"
        "esac\n",
        dir, 0755);
    return dir;
}

/**
 * split_line() - the words of a command line, as readline splits them
 * @line:   the line, without quotes
 * @breaks: word-break characters other than blanks; a run of them is a
 *          word of its own
 *
 * Return: the words; the last is the one being completed ("" after a
 * blank)
 */
static GPtrArray *split_line(const char *line, const char *breaks)
{
    GPtrArray *words = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) w = g_string_new(NULL);
    int kind = 0; /* 0 none, 1 a word, 2 a run of breaks */

    for (const char *p = line; *p != '\0'; p++) {
        int k = g_ascii_isspace(*p) ? 0 : strchr(breaks, *p) ? 2 : 1;

        if (k != kind && kind != 0) {
            g_ptr_array_add(words, g_strdup(w->str));
            g_string_truncate(w, 0);
        }
        if (k != 0)
            g_string_append_c(w, *p);
        kind = k;
    }
    g_ptr_array_add(words, g_strdup(w->str));
    return words;
}

/**
 * complete() - what the completion offers for a command line
 * @mode: how bash is set up
 * @line:  the line up to the cursor; its first word is replaced by the
 *         fake qemu-mig
 * @usecs: where to store how long bash took
 *
 * Return: the candidates, sorted, blank-separated
 */
static char *complete(const CompMode *mode, const char *line, gint64 *usecs)
{
    const char *dir = setup_home();
    g_autofree char *script = script_path();
    g_autofree char *cwd = g_build_filename(dir, "cwd", NULL);
    g_autofree char *timeout = g_find_program_in_path("timeout");
    g_autoptr(GString) full = g_string_new(line);
    g_autoptr(GString) cmd = g_string_new(NULL);
    g_autoptr(GPtrArray) words = NULL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GPtrArray) got = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autofree char *q = NULL;
    g_auto(GStrv) lines = NULL;
    gint64 start;
    int status;

    g_assert_null(strpbrk(line, "\"'\\"));
    g_string_replace(full, "@DIR@", dir, 0);
    g_string_erase(full, 0, strcspn(full->str, " "));
    g_string_prepend(full, "/qemu-mig");
    g_string_prepend(full, dir);
    words = split_line(full->str, mode->breaks);

    g_assert_true(g_file_test(script, G_FILE_TEST_EXISTS));
    if (mode->bc) {
        q = g_shell_quote(BASH_COMPLETION);
        g_string_append_printf(cmd, "source %s || exit 3; ", q);
        g_free(q);
    }
    q = g_shell_quote(mode->breaks);
    /* the splitting above must be bash's */
    g_string_append_printf(cmd,
                           "[[ ${COMP_WORDBREAKS//[[:space:]]/} == %s ]] || "
                           "{ echo \"COMP_WORDBREAKS is $COMP_WORDBREAKS\" "
                           ">&2; exit 3; }; ",
                           q);
    g_free(q);
    q = g_shell_quote(script);
    g_string_append_printf(cmd, "source %s || exit 3; COMP_WORDS=(", q);
    for (guint i = 0; i < words->len; i++) {
        g_free(q);
        q = g_shell_quote(g_ptr_array_index(words, i));
        g_string_append_printf(cmd, "%s ", q);
    }
    g_free(q);
    q = g_shell_quote(full->str);
    g_string_append_printf(cmd,
                           "); COMP_CWORD=%u; COMP_LINE=%s; "
                           "COMP_POINT=${#COMP_LINE}; COMPREPLY=(); "
                           "_qemu_mig qemu-mig "
                           "\"${COMP_WORDS[COMP_CWORD]}\" "
                           "\"${COMP_WORDS[COMP_CWORD-1]}\"; "
                           "printf '%%s\\n' \"${COMPREPLY[@]}\"",
                           words->len - 1, q);

    /* bounded: a completion that hangs fails here, not the whole run */
    if (timeout != NULL) {
        g_ptr_array_add(argv, timeout);
        g_ptr_array_add(argv, "20");
    }
    g_ptr_array_add(argv, "bash");
    g_ptr_array_add(argv, "--norc");
    g_ptr_array_add(argv, "--noprofile");
    g_ptr_array_add(argv, "-c");
    g_ptr_array_add(argv, cmd->str);
    g_ptr_array_add(argv, NULL);
    start = g_get_monotonic_time();
    g_assert_true(g_spawn_sync(cwd, (char **)argv->pdata, NULL,
                               G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                               &status, &error));
    *usecs = g_get_monotonic_time() - start;
    g_assert_no_error(error);
    g_test_message("%s\n-> %s(stderr: %s)", cmd->str, out, err);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_assert_cmpstr(err, ==, "");

    lines = g_strsplit(out, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++) {
        if (*lines[i] != '\0')
            g_ptr_array_add(got, lines[i]);
    }
    g_ptr_array_sort(got, qm_test_cmp_strptr);
    g_ptr_array_add(got, NULL);
    return g_strjoinv(" ", (char **)got->pdata);
}

/**
 * skip_without_bc() - skip a test of a mode whose bash-completion is not
 *                     installed
 * @mode: the mode
 *
 * Return: TRUE when skipped
 */
static gboolean skip_without_bc(const CompMode *mode)
{
    if (!mode->bc || g_file_test(BASH_COMPLETION, G_FILE_TEST_EXISTS))
        return FALSE;
    g_test_skip("bash-completion is not installed (" BASH_COMPLETION ")");
    return TRUE;
}

/**
 * test_case() - one line of the table: exactly the expected candidates,
 *               within 10 s (a hanging `qemu-mig list` is cut at 2 s)
 * @data: CompTest
 */
static void test_case(gconstpointer data)
{
    const CompTest *t = data;
    g_autofree char *got = NULL;
    gint64 usecs;

    if (skip_without_bc(t->mode))
        return;
    got = complete(t->mode, t->c->line, &usecs);
    g_assert_cmpstr(got, ==, t->c->want);
    g_assert_cmpint(usecs, <, 10 * G_USEC_PER_SEC);
}

/**
 * test_help_options() - every long option of `qemu-mig --help` is
 *                       offered after at least one verb
 * @data: CompMode
 */
static void test_help_options(gconstpointer data)
{
    const CompMode *mode = data;
    static const char *const lines[] = {
        "qemu-mig --",       "qemu-mig explain --", "qemu-mig probe --",
        "qemu-mig cache --", "qemu-mig list --",    "qemu-mig migrate --",
    };
    g_autofree char *binary = qemu_mig_path();
    const char *const argv[] = {binary, "--help", NULL};
    g_autoptr(GRegex) re = NULL;
    g_autoptr(GMatchInfo) match = NULL;
    g_autoptr(GString) offered = g_string_new(" ");
    g_autoptr(GError) error = NULL;
    g_autofree char *help = NULL;
    int status;
    guint n = 0;

    if (skip_without_bc(mode))
        return;
    for (gsize i = 0; i < G_N_ELEMENTS(lines); i++) {
        g_autofree char *got = NULL;
        gint64 usecs;

        got = complete(mode, lines[i], &usecs);
        g_string_append_printf(offered, "%s ", got);
    }
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL, &help,
                               NULL, &status, &error));
    g_assert_no_error(error);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    re = g_regex_new("^  (?:-[a-z], )?(--[a-z][a-z-]*)", G_REGEX_MULTILINE, 0,
                     &error);
    g_assert_no_error(error);
    for (g_regex_match(re, help, 0, &match); g_match_info_matches(match);
         g_match_info_next(match, NULL)) {
        g_autofree char *opt = g_match_info_fetch(match, 1);
        g_autofree char *word = g_strdup_printf(" %s ", opt);

        g_test_message("--help: %s", opt);
        g_assert_nonnull(strstr(offered->str, word));
        n++;
    }
    g_assert_cmpuint(n, >, 30);
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
    static CompTest tests[G_N_ELEMENTS(modes) * G_N_ELEMENTS(cases)];
    guint n = 0;

    qm_test_init(&argc, &argv);
    for (gsize m = 0; m < G_N_ELEMENTS(modes); m++) {
        g_autofree char *help =
            g_strdup_printf("/completion/%s/help-options", modes[m].name);

        g_test_add_data_func(help, &modes[m], test_help_options);
        for (gsize i = 0; i < G_N_ELEMENTS(cases); i++, n++) {
            g_autofree char *path = g_strdup_printf(
                "/completion/%s/%s", modes[m].name, cases[i].name);

            tests[n].mode = &modes[m];
            tests[n].c = &cases[i];
            g_test_add_data_func(path, &tests[n], test_case);
        }
    }
    return g_test_run();
}
