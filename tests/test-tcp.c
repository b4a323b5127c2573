/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: qm_tcp_connect() on loopback - the socket it hands
 * libssh, refused and unresolvable peers, a name with several addresses.
 * (A DNS server that never answers: tests/test-faults.c, dns-silent.)
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "remote/tcp.h"
#include "testutil.h"
#include "wrapper/error.h"

/**
 * listen_on() - a listening TCP socket on a loopback address
 * @family: AF_INET or AF_INET6
 * @port:   0 for any; set to the port bound
 *
 * Return: the socket, or -1 when the family is unusable here
 */
static int listen_on(int family, unsigned int *port)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sin->sin_port = htons(*port);
        len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = in6addr_loopback;
        sin6->sin6_port = htons(*port);
        len = sizeof(*sin6);
    }
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 4) != 0) {
        close(fd);
        return -1;
    }
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&ss, &len), ==, 0);
    *port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

/**
 * assert_handed_over() - the socket is what libssh expects and qemu-mig
 * promises: connected, blocking, close-on-exec, Nagle off
 * @fd: socket from qm_tcp_connect()
 */
static void assert_handed_over(int fd)
{
    int nodelay = 0;
    socklen_t len = sizeof(nodelay);
    struct sockaddr_storage peer;
    socklen_t plen = sizeof(peer);

    g_assert_cmpint(fd, >=, 0);
    g_assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    g_assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
    g_assert_cmpint(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len),
                    ==, 0);
    g_assert_cmpint(nodelay, !=, 0);
    g_assert_cmpint(getpeername(fd, (struct sockaddr *)&peer, &plen), ==, 0);
}

/**
 * test_connect_ok() - a listening loopback port: connected
 */
static void test_connect_ok(void)
{
    unsigned int port = 0;
    int lfd = listen_on(AF_INET, &port);
    g_autoptr(GError) error = NULL;
    int fd = -1;

    g_assert_cmpint(lfd, >=, 0);
    g_assert_true(qm_tcp_connect("peer", "127.0.0.1", port, NULL,
                                 g_get_monotonic_time() + G_USEC_PER_SEC, &fd,
                                 &error));
    g_assert_no_error(error);
    assert_handed_over(fd);
    close(fd);
    close(lfd);
}

/**
 * test_connect_refused() - nobody listens: one line naming host and port
 */
static void test_connect_refused(void)
{
    unsigned int port = 0;
    int lfd = listen_on(AF_INET, &port);
    g_autofree char *want = NULL;
    g_autoptr(GError) error = NULL;
    int fd = -1;

    /* a port that was free a moment ago and is closed now */
    g_assert_cmpint(lfd, >=, 0);
    close(lfd);
    want = g_strdup_printf("peer: cannot connect to 127.0.0.1 port %u: %s",
                           port, g_strerror(ECONNREFUSED));
    g_assert_false(qm_tcp_connect("peer", "127.0.0.1", port, NULL,
                                  g_get_monotonic_time() + G_USEC_PER_SEC, &fd,
                                  &error));
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_cmpstr(error->message, ==, want);
    g_assert_cmpint(fd, ==, -1);
}

/**
 * test_connect_unresolvable() - RFC 2606 .invalid never resolves
 */
static void test_connect_unresolvable(void)
{
    g_autoptr(GError) error = NULL;
    int fd = -1;

    g_assert_false(qm_tcp_connect("peer", "qemu-mig-test.invalid", 22, NULL,
                                  g_get_monotonic_time() + 5 * G_USEC_PER_SEC,
                                  &fd, &error));
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_true(g_str_has_prefix(error->message, "peer: cannot resolve "
                                                   "qemu-mig-test.invalid: "));
    g_assert_cmpint(fd, ==, -1);
}

/**
 * listen_at() - a listening TCP socket on 127.0.0.@last, port @port
 * @last: last byte of the loopback address
 * @port: port (0: any); set to the port bound
 *
 * Return: the socket
 */
static int listen_at(int last, unsigned int *port)
{
    struct sockaddr_in sin = {
        .sin_family = AF_INET,
        .sin_addr.s_addr = htonl(0x7f000000 | last),
        .sin_port = htons(*port),
    };
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sin, len), ==, 0);
    g_assert_cmpint(listen(fd, 4), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sin, &len), ==, 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

/**
 * test_connect_next_address() - a name with two addresses, only one of
 * them listening: every address is tried in turn
 *
 * The name lives in an /etc/hosts of a private mount namespace (a child
 * process; root only).  Each address listens in one of two rounds, so
 * whatever order getaddrinfo() gives, one round needs the second address.
 */
static void test_connect_next_address(void)
{
    g_autofree char *hosts = g_build_filename(qm_test_tmpdir(), "hosts", NULL);

    if (geteuid() != 0) {
        g_test_skip("needs root (a mount namespace with its own /etc/hosts)");
        return;
    }
    g_assert_true(g_file_set_contents(
        hosts, "127.0.0.1 qm-two.test\n127.0.0.3 qm-two.test\n", -1, NULL));
    for (int round = 0; round < 2; round++) {
        int last = round == 0 ? 1 : 3;
        unsigned int port = 0;
        int lfd = listen_at(last, &port);
        int status = 0;
        pid_t pid = fork();

        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
            GError *error = NULL;
            int fd = -1;

            if (unshare(CLONE_NEWNS) != 0 ||
                mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
                mount(hosts, "/etc/hosts", NULL, MS_BIND, NULL) != 0)
                _exit(77);
            if (!qm_tcp_connect("peer", "qm-two.test", port, NULL,
                                g_get_monotonic_time() + G_USEC_PER_SEC, &fd,
                                &error))
                _exit(1);
            assert_handed_over(fd);
            _exit(0);
        }
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        close(lfd);
        g_assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77) {
            g_test_skip("cannot make a mount namespace here");
            return;
        }
        g_test_message("listening on 127.0.0.%d: child status %d", last,
                       WEXITSTATUS(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    }
}

/**
 * listen_full() - a listener on 127.0.0.@last whose accept queue is full,
 *                 so that the kernel drops further SYNs (a silent address)
 * @last:    last byte of the address
 * @port:    port
 * @fillers: where to store the two connections that fill the queue
 *
 * Return: the socket
 */
static int listen_full(int last, unsigned int port, int fillers[2])
{
    struct sockaddr_in sin = {
        .sin_family = AF_INET,
        .sin_addr.s_addr = htonl(0x7f000000 | last),
        .sin_port = htons(port),
    };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    g_assert_cmpint(listen(fd, 0), ==, 0);
    /* backlog 0 holds one connection; a second one is kept half-open */
    for (int i = 0; i < 2; i++) {
        fillers[i] =
            socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        g_assert_cmpint(fillers[i], >=, 0);
        connect(fillers[i], (struct sockaddr *)&sin, sizeof(sin));
    }
    g_usleep(100000);
    return fd;
}

/**
 * test_connect_silent_address() - an address whose SYNs are dropped does
 * not use up the deadline: the next one is tried within its share
 *
 * As test_connect_next_address(), in both orders; the silent address is a
 * listener whose accept queue is full.
 */
static void test_connect_silent_address(void)
{
    g_autofree char *hosts =
        g_build_filename(qm_test_tmpdir(), "hosts-silent", NULL);

    if (geteuid() != 0) {
        g_test_skip("needs root (a mount namespace with its own /etc/hosts)");
        return;
    }
    g_assert_true(g_file_set_contents(
        hosts, "127.0.0.1 qm-silent.test\n127.0.0.3 qm-silent.test\n", -1,
        NULL));
    for (int round = 0; round < 2; round++) {
        int good = round == 0 ? 1 : 3;
        unsigned int port = 0;
        int lfd = listen_at(good, &port);
        int fillers[2];
        int silent = listen_full(good == 1 ? 3 : 1, port, fillers);
        int status = 0;
        pid_t pid = fork();

        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
            GError *error = NULL;
            gint64 start = g_get_monotonic_time();
            int fd = -1;

            if (unshare(CLONE_NEWNS) != 0 ||
                mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
                mount(hosts, "/etc/hosts", NULL, MS_BIND, NULL) != 0)
                _exit(77);
            /* 4 s in all: the silent address gets 2 s at most */
            if (!qm_tcp_connect("peer", "qm-silent.test", port, NULL,
                                start + 4 * G_USEC_PER_SEC, &fd, &error))
                _exit(1);
            if (g_get_monotonic_time() - start > 3 * G_USEC_PER_SEC)
                _exit(2);
            _exit(0);
        }
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        close(lfd);
        close(silent);
        close(fillers[0]);
        close(fillers[1]);
        g_assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77) {
            g_test_skip("cannot make a mount namespace here");
            return;
        }
        g_test_message("listening on 127.0.0.%d: child status %d", good,
                       WEXITSTATUS(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    }
}

/**
 * test_deadline_passed() - nothing is tried once the deadline is gone
 */
static void test_deadline_passed(void)
{
    unsigned int port = 0;
    int lfd = listen_on(AF_INET, &port);
    g_autoptr(GError) error = NULL;
    int fd = -1;

    g_assert_cmpint(lfd, >=, 0);
    g_assert_false(qm_tcp_connect("peer", "127.0.0.1", port, NULL,
                                  g_get_monotonic_time() - 1, &fd, &error));
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_true(g_str_has_prefix(error->message, "peer: timed out before "));
    g_assert_cmpint(fd, ==, -1);
    close(lfd);
}

int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);
    g_test_add_func("/tcp/connect/ok", test_connect_ok);
    g_test_add_func("/tcp/connect/refused", test_connect_refused);
    g_test_add_func("/tcp/connect/unresolvable", test_connect_unresolvable);
    g_test_add_func("/tcp/connect/next-address", test_connect_next_address);
    g_test_add_func("/tcp/connect/silent-address", test_connect_silent_address);
    g_test_add_func("/tcp/connect/deadline-passed", test_deadline_passed);
    return g_test_run();
}
