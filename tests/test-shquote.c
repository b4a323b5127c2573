/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: shell quoting, checked by a real shell's eval.
 */
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "testutil.h"
#include "wrapper/shquote.h"

/*
 * The shell script each line is fed to: eval it as "set -- LINE", then
 * print every resulting word followed by a NUL byte.
 */
static const char roundtrip_script[] =
    "eval \"set -- $1\"; for a; do printf '%s\\0' \"$a\"; done";

/* Shells to round-trip through; missing ones are skipped. */
static const char *const shells[] = {
    "/bin/sh", "/usr/bin/dash", "/bin/dash", "/bin/bash", "/usr/bin/bash",
};

/* A word and whether it must stay bare (unquoted). */
typedef struct {
    const char *name;
    const char *word;
    gboolean bare;
} WordCase;

static const WordCase word_cases[] = {
    {"plain", "abc", TRUE},
    {"option", "-cpu", TRUE},
    {"cpu-value", "host,+pcid,-vmx,avx512f=off", TRUE},
    {"path", "/usr/bin/qemu-system-x86_64", TRUE},
    {"drive", "file=disk.qcow2,if=virtio", TRUE},
    {"dest", "root@host-b.example:2222", TRUE},
    {"percent", "100%", TRUE},
    {"dashdash", "--", TRUE},
    {"dash", "-", TRUE},
    {"mixed-safe", "A.b_C-d0/9:x@y%z+w=v,u", TRUE},
    {"empty", "", FALSE},
    {"space", "a b", FALSE},
    {"lead-space", " a", FALSE},
    {"tab", "a\tb", FALSE},
    {"newline", "a\nb", FALSE},
    {"trailing-newline", "ab\n", FALSE},
    {"cr", "a\rb", FALSE},
    {"single-quote", "'", FALSE},
    {"two-single-quotes", "''", FALSE},
    {"apostrophe", "it's", FALSE},
    {"quote-edges", "'a'", FALSE},
    {"double-quote", "\"dq\"", FALSE},
    {"dollar", "$HOME", FALSE},
    {"dollar-brace", "${PATH}", FALSE},
    {"command-subst", "$(echo pwned)", FALSE},
    {"backtick", "`echo pwned`", FALSE},
    {"star", "*", FALSE},
    {"glob", "/*/*", FALSE},
    {"question", "?", FALSE},
    {"brackets", "[ab]", FALSE},
    {"braces", "{a,b}", FALSE},
    {"tilde", "~", FALSE},
    {"tilde-user", "~root", FALSE},
    {"bang", "!", FALSE},
    {"bangbang", "!!", FALSE},
    {"backslash", "\\", FALSE},
    {"backslash-n", "a\\nb", FALSE},
    {"hash", "#comment", FALSE},
    {"semicolon", "a;b", FALSE},
    {"ampersand", "a&b", FALSE},
    {"pipe", "a|b", FALSE},
    {"redirect", "a>b", FALSE},
    {"parens", "(x)", FALSE},
    {"non-utf8", "\xff\xfe", FALSE},
    {"non-utf8-mixed", "a\x80'b\xc3", FALSE},
    {"utf8", "caf\xc3\xa9", FALSE},
    {"control", "\x01\x1b[31m", FALSE},
    {"all-at-once", "'\"$`\\ *?~!\n\t#;&|<>()[]{}'", FALSE},
};

/**
 * redirect_stdout() - g_spawn child set-up: stdout goes to a file
 * @data: pointer to the file descriptor
 */
static void redirect_stdout(gpointer data)
{
    if (dup2(*(int *)data, STDOUT_FILENO) < 0)
        _exit(125);
}

/**
 * run_roundtrip() - eval @line in @shell and collect the words it gives
 * @shell: shell binary
 * @line:  quoted line
 * @out:   where to store the NUL-separated output
 * @len:   its length
 *
 * The output holds NUL bytes, so it goes to a file whose length is known
 * rather than through g_spawn_sync()'s NUL-terminated string.
 */
static void run_roundtrip(const char *shell, const char *line, char **out,
                          gsize *len)
{
    const char *argv[] = {shell, "-c", roundtrip_script, "sh", line, NULL};
    g_autoptr(GError) error = NULL;
    g_autofree char *err = NULL;
    g_autofree char *path = NULL;
    gint status = 0;
    int fd = g_file_open_tmp("shquote-XXXXXX", &path, &error);

    g_assert_no_error(error);
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT,
                               redirect_stdout, &fd, NULL, &err, &status,
                               &error));
    g_assert_no_error(error);
    close(fd);
    if (err != NULL && *err != '\0')
        g_test_message("%s stderr: %s", shell, err);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_file_get_contents(path, out, len, &error);
    g_assert_no_error(error);
    g_unlink(path);
}

/**
 * expected_output() - @argv's words, each followed by a NUL byte
 * @argv: NULL-terminated words
 * @len:  where to store the length
 *
 * Return: newly allocated bytes
 */
static char *expected_output(const char *const *argv, gsize *len)
{
    GByteArray *bytes = g_byte_array_new();

    for (const char *const *a = argv; *a; a++)
        g_byte_array_append(bytes, (const guint8 *)*a, strlen(*a) + 1);
    *len = bytes->len;
    return (char *)g_byte_array_free(bytes, FALSE);
}

/**
 * check_argv_roundtrip() - quote @argv, eval it in every shell, compare
 * @argv: NULL-terminated words
 *
 * Return: number of shells the line was checked with
 */
static int check_argv_roundtrip(const char *const *argv)
{
    g_autofree char *line = qm_shquote_argv((char *const *)argv);
    gsize want_len;
    g_autofree char *want = expected_output(argv, &want_len);
    int checked = 0;

    g_assert_nonnull(line);
    for (gsize s = 0; s < G_N_ELEMENTS(shells); s++) {
        g_autofree char *got = NULL;
        gsize got_len = 0;

        if (!g_file_test(shells[s], G_FILE_TEST_IS_EXECUTABLE))
            continue;
        run_roundtrip(shells[s], line, &got, &got_len);
        if (got_len != want_len ||
            (want_len > 0 && memcmp(got, want, want_len) != 0))
            g_test_message("%s: line <%s> did not round-trip", shells[s], line);
        g_assert_cmpmem(got, got_len, want, want_len);
        checked++;
    }
    return checked;
}

/**
 * test_word() - one word: bare/quoted as expected and eval gives it back
 * @data: WordCase
 */
static void test_word(gconstpointer data)
{
    const WordCase *c = data;
    g_autofree char *quoted = qm_shquote_word(c->word);
    const char *argv[] = {c->word, NULL};
    /* surrounded by plain words, so empty words and edges are exercised */
    const char *argv3[] = {"x", c->word, "y", NULL};

    g_assert_nonnull(quoted);
    if (c->bare) {
        g_assert_cmpstr(quoted, ==, c->word);
    } else {
        g_assert_cmpstr(quoted, !=, c->word);
        g_assert_cmpint(quoted[0], ==, '\'');
        g_assert_cmpint(quoted[strlen(quoted) - 1], ==, '\'');
    }
    g_assert_cmpint(check_argv_roundtrip(argv), >, 0);
    g_assert_cmpint(check_argv_roundtrip(argv3), >, 0);
}

/**
 * test_empty_word_shape() - the empty word is '' (two quotes), not nothing
 */
static void test_empty_word_shape(void)
{
    g_autofree char *quoted = qm_shquote_word("");
    const char *argv[] = {"", "", NULL};
    g_autofree char *line = qm_shquote_argv((char *const *)argv);

    g_assert_cmpstr(quoted, ==, "''");
    g_assert_cmpstr(line, ==, "'' ''");
}

/**
 * test_whole_argv() - every word of the table in one line
 */
static void test_whole_argv(void)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();

    for (gsize i = 0; i < G_N_ELEMENTS(word_cases); i++)
        g_ptr_array_add(argv, (gpointer)word_cases[i].word);
    g_ptr_array_add(argv, NULL);
    g_assert_cmpint(check_argv_roundtrip((const char *const *)argv->pdata), >,
                    0);
}

/**
 * test_empty_argv() - no words: an empty line that evals to nothing
 */
static void test_empty_argv(void)
{
    const char *argv[] = {NULL};
    g_autofree char *line = qm_shquote_argv((char *const *)argv);

    g_assert_cmpstr(line, ==, "");
    g_assert_cmpint(check_argv_roundtrip(argv), >, 0);
}

/**
 * test_separator() - words are separated by exactly one space
 */
static void test_separator(void)
{
    const char *argv[] = {"qemu", "-cpu", "host", NULL};
    g_autofree char *line = qm_shquote_argv((char *const *)argv);

    g_assert_cmpstr(line, ==, "qemu -cpu host");
}

/**
 * test_dash_present() - note whether dash took part (informational)
 */
static void test_dash_present(void)
{
    gboolean dash = g_file_test("/usr/bin/dash", G_FILE_TEST_IS_EXECUTABLE) ||
                    g_file_test("/bin/dash", G_FILE_TEST_IS_EXECUTABLE);

    g_assert_true(g_file_test("/bin/sh", G_FILE_TEST_IS_EXECUTABLE));
    if (!dash)
        g_test_message("dash not installed: checked with /bin/sh only");
}

/**
 * main() - register and run the shquote tests
 * @argc: argument count
 * @argv: arguments
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);

    for (gsize i = 0; i < G_N_ELEMENTS(word_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/shquote/word/%s", word_cases[i].name);

        g_test_add_data_func(path, &word_cases[i], test_word);
    }
    g_test_add_func("/shquote/empty-word-shape", test_empty_word_shape);
    g_test_add_func("/shquote/whole-argv", test_whole_argv);
    g_test_add_func("/shquote/empty-argv", test_empty_argv);
    g_test_add_func("/shquote/separator", test_separator);
    g_test_add_func("/shquote/shells", test_dash_present);
    return g_test_run();
}
