/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: which files a migration needs on the destination, read
 * from QEMU's command line as QEMU reads it, and the shell check of them.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "testutil.h"
#include "wrapper/migcmd.h"

/**
 * PathCase - a QEMU command line and the files it opens
 * @name:  test name
 * @argv:  QEMU arguments, NULL-terminated
 * @paths: expected paths, in order, NULL-terminated
 */
typedef struct {
    const char *name;
    const char *argv[12];
    const char *paths[8];
} PathCase;

static const PathCase path_cases[] = {
    {"none", {"-m", "1G", "-cpu", "host", NULL}, {NULL}},
    {"drive",
     {"-drive", "file=/srv/vm.qcow2,if=virtio,format=qcow2", NULL},
     {"/srv/vm.qcow2", NULL}},
    /* ",," is a comma inside the file name */
    {"drive-comma",
     {"-drive", "if=none,file=/srv/a,,b.img", NULL},
     {"/srv/a,b.img", NULL}},
    {"drive-dotted",
     {"-drive", "file.filename=/srv/d.raw,driver=raw", NULL},
     {"/srv/d.raw", NULL}},
    /* network and special protocols are not files on the destination */
    {"drive-protocols",
     {"-drive", "file=nbd:host:10809", "-drive",
      "file=json:{\"driver\":\"file\"}", "-drive", "file=rbd:pool/img", NULL},
     {NULL}},
    {"blockdev-keys",
     {"-blockdev", "driver=file,node-name=f0,filename=/srv/b.img", NULL},
     {"/srv/b.img", NULL}},
    {"blockdev-json",
     {"-blockdev",
      "{\"driver\":\"qcow2\",\"node-name\":\"d\",\"file\":{\"driver\":"
      "\"file\",\"filename\":\"/srv/j.qcow2\"}}",
      NULL},
     {"/srv/j.qcow2", NULL}},
    {"shorthands",
     {"-hda", "/srv/h.img", "-cdrom", "/iso/x.iso", "-kernel", "/boot/k",
      "-initrd", "/boot/i", "-pflash", "/fw/code.fd", NULL},
     {"/srv/h.img", "/iso/x.iso", "/boot/k", "/boot/i", "/fw/code.fd", NULL}},
    /* a -bios name is found in QEMU's own data directories */
    {"bios",
     {"-bios", "bios-256k.bin", "-bios", "/fw/OVMF.fd", NULL},
     {"/fw/OVMF.fd", NULL}},
    {"fsdev-L",
     {"-fsdev", "local,id=fs0,path=/srv/share,security_model=none", "-L",
      "/opt/qemu/share", NULL},
     {"/srv/share", "/opt/qemu/share", NULL}},
    /* each once; two dashes as QEMU allows */
    {"repeats",
     {"--hda", "/srv/h.img", "-drive", "file=/srv/h.img", NULL},
     {"/srv/h.img", NULL}},
    /* an option's value is not an option */
    {"value-not-option", {"-name", "-hda", "-m", "64", NULL}, {NULL}},
};

/**
 * test_paths() - one PathCase
 * @data: the case
 */
static void test_paths(gconstpointer data)
{
    const PathCase *c = data;
    int argc = (int)g_strv_length((char **)c->argv);
    g_autoptr(GPtrArray) got =
        qm_migcmd_storage_paths(argc, (char *const *)c->argv);
    guint n = g_strv_length((char **)c->paths);

    g_assert_cmpuint(got->len, ==, n);
    for (guint i = 0; i < n; i++)
        g_assert_cmpstr(g_ptr_array_index(got, i), ==, c->paths[i]);
}

/**
 * test_missing_script() - the check run by a real POSIX shell: existing
 * files, directories and devices are not reported; missing ones and
 * dangling symlinks are, whatever characters their names hold
 */
static void test_missing_script(void)
{
    const char *dir = qm_test_tmpdir();
    g_autofree char *there =
        g_build_filename(dir, "disk 'one' $HOME.img", NULL);
    g_autofree char *gone = g_build_filename(dir, "gone\nwith `newline`", NULL);
    g_autofree char *dangling = g_build_filename(dir, "dangling", NULL);
    g_autofree char *nowhere = g_build_filename(dir, "nowhere", NULL);
    g_autoptr(GPtrArray) paths = g_ptr_array_new();
    g_autoptr(GPtrArray) missing = NULL;
    g_autoptr(GPtrArray) empty = g_ptr_array_new();
    g_autofree char *script = NULL;
    g_autofree char *none = qm_migcmd_missing_script(empty);
    g_autofree char *out = NULL;
    gsize len = 0;
    const char *argv[] = {"/bin/sh", "-c", NULL, NULL};
    g_autoptr(GError) error = NULL;
    int status;

    g_assert_true(g_file_set_contents(there, "x", -1, NULL));
    g_assert_cmpint(symlink(nowhere, dangling), ==, 0);
    g_ptr_array_add(paths, there);
    g_ptr_array_add(paths, gone);
    g_ptr_array_add(paths, (char *)dir);
    g_ptr_array_add(paths, "/dev/null");
    g_ptr_array_add(paths, dangling);
    script = qm_migcmd_missing_script(paths);
    argv[2] = script;
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL, &out,
                               NULL, &status, &error));
    g_assert_no_error(error);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* g_spawn_sync() NUL-terminates, so the length is found by hand */
    len = strlen(gone) + 1 + strlen(dangling) + 1;
    g_assert_cmpmem(out, strlen(gone) + 1, gone, strlen(gone) + 1);
    g_assert_cmpstr(out + strlen(gone) + 1, ==, dangling);
    missing = qm_migcmd_missing_parse(out, len);
    g_assert_cmpuint(missing->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(missing, 0), ==, gone);
    g_assert_cmpstr(g_ptr_array_index(missing, 1), ==, dangling);
    g_assert_cmpstr(none, ==, "true");
}

/**
 * DetachCase - a command line and its daemon form
 * @name:  test name
 * @argv:  QEMU arguments, NULL-terminated
 * @want:  expected result, NULL-terminated (DIR is /run/qm, ID g1)
 * @notes: how many notes
 */
typedef struct {
    const char *name;
    const char *argv[12];
    const char *want[14];
    guint notes;
} DetachCase;

#define SOCK(what) "unix:/run/qm/g1." what ",server=on,wait=off"

static const DetachCase detach_cases[] = {
    {"untouched",
     {"-m", "64", "-serial", "pty", "-display", "vnc=:1", NULL},
     {"-m", "64", "-serial", "pty", "-display", "vnc=:1", NULL},
     0},
    {"nographic",
     {"-nographic", "-m", "64", NULL},
     {"-display", "none", "-serial", SOCK("serial0"), "-m", "64", NULL},
     2},
    /* the user's -serial stays the serial port */
    {"nographic-serial",
     {"-nographic", "-serial", "file:/tmp/s", NULL},
     {"-display", "none", "-serial", "file:/tmp/s", NULL},
     1},
    {"stdio-options",
     {"-serial", "mon:stdio", "-serial", "stdio", "-monitor", "stdio", "-qmp",
      "stdio", NULL},
     {"-serial", SOCK("serial0"), "-serial", SOCK("serial1"), "-monitor",
      SOCK("monitor0"), "-qmp", SOCK("qmp0"), NULL},
     4},
    {"chardev",
     {"-chardev", "stdio,id=con,mux=on,signal=off", "-mon", "chardev=con",
      NULL},
     {"-chardev",
      "socket,id=con,mux=on,path=/run/qm/g1.chardev-con,server=on,wait=off",
      "-mon", "chardev=con", NULL},
     1},
    /* a monitor on a unix socket moves: QEMU would unlink the path */
    {"unix-monitors",
     {"-qmp", "unix:/run/x.sock,server=on,wait=off", "-monitor",
      "unix:/run/h.sock,server=on", "-serial", "unix:/run/s.sock,server=on",
      NULL},
     {"-qmp", SOCK("qmp0"), "-monitor", SOCK("monitor0"), "-serial",
      "unix:/run/s.sock,server=on", NULL},
     2},
    {"display",
     {"-display", "gtk,gl=on", "--display", "curses", NULL},
     {"-display", "none", "--display", "none", NULL},
     2},
    /* an option's value is not an option */
    {"values",
     {"-name", "-nographic", "-append", "-serial stdio", NULL},
     {"-name", "-nographic", "-append", "-serial stdio", NULL},
     0},
};

/**
 * test_detach() - one DetachCase
 * @data: the case
 */
static void test_detach(gconstpointer data)
{
    const DetachCase *c = data;
    int argc = (int)g_strv_length((char **)c->argv);
    g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) got =
        qm_migcmd_detach(argc, (char *const *)c->argv, "/run/qm", "g1", notes);

    for (guint i = 0; i < notes->len; i++)
        g_test_message("%s", (char *)g_ptr_array_index(notes, i));
    g_assert_cmpstrv(got, c->want);
    g_assert_cmpuint(notes->len, ==, c->notes);
}

/**
 * test_detach_real_qemu() - the real QEMU refuses -daemonize with the
 * terminal options, and takes their daemon form: it daemonizes, and the
 * console is on the socket the note names
 */
static void test_detach_real_qemu(void)
{
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autofree char *dir = g_build_filename(qm_test_tmpdir(), "detach", NULL);
    g_autofree char *pidfile = g_build_filename(dir, "qemu.pid", NULL);
    g_autofree char *console = g_build_filename(dir, "g1.serial0", NULL);
    const char *args[] = {
        "-machine", "q35", "-accel",     "tcg",      "-m",
        "64",       "-S",  "-nographic", "-chardev", "stdio,id=c1,signal=off",
        NULL};
    g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) detached = NULL;
    g_autofree char *text = NULL;
    g_autofree char *err = NULL;
    int status;

    if (qemu == NULL) {
        g_test_skip("no qemu-system-x86_64 in PATH");
        return;
    }
    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    for (int round = 0; round < 2; round++) {
        g_autoptr(GStrvBuilder) b = g_strv_builder_new();
        g_auto(GStrv) argv = NULL;
        g_autoptr(GError) error = NULL;

        if (round == 1)
            detached = qm_migcmd_detach(G_N_ELEMENTS(args) - 1,
                                        (char *const *)args, dir, "g1", notes);
        g_strv_builder_add(b, qemu);
        g_strv_builder_addv(b, round == 0 ? (const char **)args
                                          : (const char **)detached);
        g_strv_builder_add_many(b, "-daemonize", "-pidfile", pidfile, NULL);
        argv = g_strv_builder_end(b);
        g_clear_pointer(&err, g_free);
        g_assert_true(g_spawn_sync(NULL, argv, NULL,
                                   G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL,
                                   NULL, &err, &status, &error));
        g_assert_no_error(error);
        g_test_message("round %d: status %d: %s", round, status, err);
        if (round == 0)
            g_assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        else
            g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    /* the daemon goes first, whatever the checks find */
    g_assert_true(g_file_get_contents(pidfile, &text, NULL, NULL));
    {
        gboolean listening = g_file_test(console, G_FILE_TEST_EXISTS);

        g_assert_cmpint(kill((pid_t)g_ascii_strtoll(text, NULL, 10), SIGKILL),
                        ==, 0);
        g_assert_true(listening);
    }
}

int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);
    for (gsize i = 0; i < G_N_ELEMENTS(path_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/migcmd/paths/%s", path_cases[i].name);

        g_test_add_data_func(path, &path_cases[i], test_paths);
    }
    g_test_add_func("/migcmd/missing-script", test_missing_script);
    for (gsize i = 0; i < G_N_ELEMENTS(detach_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/migcmd/detach/%s", detach_cases[i].name);

        g_test_add_data_func(path, &detach_cases[i], test_detach);
    }
    g_test_add_func("/migcmd/detach/real-qemu", test_detach_real_qemu);
    return g_test_run();
}
