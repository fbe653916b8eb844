/*
 * faults_forker.c - fork while other threads are inside OpenSSL (and so,
 * with autoresume preloaded, possibly inside its table lock).  For the
 * prog.fork-while-locked test (tests/integration/cases/faults.sh); it knows
 * nothing about the library.
 *
 * Build: cc -O2 -Wall -pthread -o faults_forker faults_forker.c -lssl -lcrypto
 * Usage: faults_forker [-t THREADS] [-f FORKS] [-c CHILD_CONNS] [--sni NAME] [--names N] [--warm N]
 *                      [--path P] HOST PORT
 *
 * --names N: connection k sends the server name "s(k % N).NAME" (one name
 * by default), so that clients keep sessions for N servers.  --warm N: the
 * first fork waits for N thread connections (2 per thread by default).
 *
 * T threads (4) make TLS connections in a loop on one shared SSL_CTX while
 * the main thread forks F times (20); each child makes C connections (2) on
 * the inherited SSL_CTX and _exit()s 0 iff all succeeded.  A child that has
 * not finished within 10 s is hung (a deadlock): the parent prints every
 * thread's stack of it, as gdb sees it from outside (so a hang explains
 * itself), then kills it.  A child also kills itself with SIGALRM after 60 s,
 * should the parent be gone.  Then the threads stop and are joined.
 *
 * stdout: for each hung child "hung child PID: stack (gdb):", gdb's output
 * (every line prefixed "  # "), "hung child PID: end of stack"; then
 * "children ok=A failed=B hung=C", "threads conns=N ok=K failed=F
 * reused=R eintr=E", "child-conns ok=K reused=R" and "summary ok|failed".
 *
 * E counts the SSL calls of threads that a signal interrupted and that were
 * retried: every blocking call is retried on EINTR, as a real program must.
 * The sockets have SO_RCVTIMEO/SO_SNDTIMEO, and Linux never restarts a
 * socket call with a timeout: any signal delivered to the thread, even an
 * ignored one, makes it fail with EINTR.  Since glibc 2.41 (Debian 13) fork()
 * blocks all signals around the system call, so a child's SIGCHLD that
 * arrives then is queued instead of discarded (SIG_DFL) and is then
 * delivered to some thread, perhaps one blocked in recv(): forking threaded
 * programs see EINTR on such sockets with or without autoresume.
 * Exit 0 iff every child and every thread connection succeeded.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static const char *host, *port, *sni, *path = "/fork";
static int names = 1;
static atomic_int next_name;
static SSL_CTX *ctx;
static atomic_int stop, t_conns, t_ok, t_failed, t_reused, t_eintr;
static atomic_int *child_ok, *child_reused; /* MAP_SHARED */

/* Say why a thread connection failed (the first few only): stage, SSL
 * error code, errno, OpenSSL's first queued error, bytes read. */
static atomic_int told;
static void tell_failure(const char *stage, int ssl_err, int err, int got)
{
    if (atomic_fetch_add(&told, 1) >= 5)
        return;
    char reason[256] = "none";
    unsigned long e = ERR_peek_error();
    if (e != 0)
        ERR_error_string_n(e, reason, sizeof reason);
    printf("thread connection failed: %s ssl_error=%d errno=%d (%s) got=%d openssl=%s\n", stage, ssl_err,
           err, strerror(err), got, reason);
    fflush(stdout);
}

/* Whether SSL call result r on ssl is a blocking call that a signal
 * interrupted (then it is counted and the call is to be made again). */
static int interrupted(SSL *ssl, int r)
{
    if (r > 0 || errno != EINTR)
        return 0;
    int e = SSL_get_error(ssl, r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
        return 0;
    atomic_fetch_add(&t_eintr, 1);
    return 1;
}

/* One connection: returns 1 ok (and *reused), 0 failed. */
static int one(int *reused)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(port));
    inet_pton(AF_INET, host, &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct timeval tv = {15, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        tell_failure("connect", 0, errno, 0);
        close(fd);
        return 0;
    }
    SSL *ssl = SSL_new(ctx);
    int ok = 0;
    if (ssl) {
        SSL_set_fd(ssl, fd);
        char name[300];
        const char *sent = sni;
        if (sni && names > 1) {
            snprintf(name, sizeof name, "s%d.%s", atomic_fetch_add(&next_name, 1) % names, sni);
            sent = name;
        }
        if (sent)
            SSL_set_tlsext_host_name(ssl, sent);
        int r;
        while ((r = SSL_connect(ssl)) != 1 && interrupted(ssl, r))
            ;
        if (r == 1) {
            char req[512], buf[2048];
            int got = 0, len;
            len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path);
            while ((r = SSL_write(ssl, req, len)) <= 0 && interrupted(ssl, r))
                ;
            if (r > 0) {
                while ((r = SSL_read(ssl, buf + got, (int)sizeof buf - 1 - got)) > 0 || interrupted(ssl, r))
                    if (r > 0)
                        got += r;
            } else {
                { int e = errno; tell_failure("write", SSL_get_error(ssl, r), e, 0); }
            }
            buf[got] = '\0';
            ok = got > 12 && !strncmp(buf, "HTTP/1.1 200", 12);
            if (!ok && got == 0 && r <= 0)
                { int e = errno; tell_failure("read", SSL_get_error(ssl, r), e, got); }
            else if (!ok)
                tell_failure("response", 0, 0, got);
            *reused = SSL_session_reused(ssl);
            SSL_shutdown(ssl);
        } else {
            { int e = errno; tell_failure("handshake", SSL_get_error(ssl, r), e, 0); }
        }
        ERR_clear_error();
        SSL_free(ssl);
    }
    close(fd);
    return ok;
}

/* Then its stack is taken (gdb has 40 s), and it is killed: a run with hung
 * children ends within a minute.  Its own alarm is for a parent gone. */
#define HANG_AFTER_MS 10000

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Print every thread's stack of the n hung processes pid[], as gdb
 * attached from outside sees them: one gdb for all (a loaded machine makes
 * each gdb start slow), run without LD_PRELOAD (the stacks are the
 * children's, not of a preloaded gdb).  Each is framed by "hung child PID:
 * stack (gdb):" and "hung child PID: end of stack"; gdb's lines get "  # ". */
#define MAX_STACKS 40

static void print_stacks(const pid_t *pid, int n)
{
    char cmd[8192];
    size_t len = 0;
    len += (size_t)snprintf(cmd + len, sizeof cmd - len,
                            "env -u LD_PRELOAD timeout 40 gdb -nx -batch -iex 'set debuginfod enabled off' "
                            "-ex 'set pagination off'");
    for (int i = 0; i < n && i < MAX_STACKS; i++)
        len += (size_t)snprintf(cmd + len, sizeof cmd - len,
                                " -ex 'echo hung child %d: stack (gdb):\\n' -ex 'attach %d'"
                                " -ex 'thread apply all bt' -ex detach -ex 'echo hung child %d: end of stack\\n'",
                                (int)pid[i], (int)pid[i], (int)pid[i]);
    snprintf(cmd + len, sizeof cmd - len, " </dev/null 2>&1 | sed '/^hung child [0-9]*: /!s/^/  # /'");
    fflush(stdout);
    if (system(cmd) != 0)
        printf("gdb could not be run\n");
    for (int i = MAX_STACKS; i < n; i++)
        printf("hung child %d: stack (gdb):\nhung child %d: end of stack\n", (int)pid[i], (int)pid[i]);
    fflush(stdout);
}

/* Wait for pid until deadline (CLOCK_MONOTONIC ms).  Returns 1 with *st
 * set when it ended, 0 when it is hung (still running), -1 when it cannot be
 * waited for. */
static int wait_until(pid_t pid, long long deadline, int *st)
{
    for (;;) {
        pid_t r = waitpid(pid, st, WNOHANG);
        if (r == pid)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
        if (now_ms() >= deadline)
            return 0;
        usleep(20000);
    }
}

/* Bounded: without resumption the threads can outrun the forks by far, and
 * tens of thousands of loopback connections exhaust the ephemeral ports. */
#define MAX_CONNS_PER_THREAD 1500

static void *worker(void *arg)
{
    (void)arg;
    for (int n = 0; n < MAX_CONNS_PER_THREAD && !atomic_load(&stop); n++) {
        int reused = 0;
        atomic_fetch_add(&t_conns, 1);
        if (one(&reused)) {
            atomic_fetch_add(&t_ok, 1);
            atomic_fetch_add(&t_reused, reused);
        } else {
            atomic_fetch_add(&t_failed, 1);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 4, forks = 20, cconns = 2, warm = -1, i;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-t") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-f") && i + 1 < argc) forks = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-c") && i + 1 < argc) cconns = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--sni") && i + 1 < argc && strlen(argv[i + 1]) < 200) sni = argv[++i];
        else if (!strcmp(argv[i], "--names") && i + 1 < argc) names = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warm") && i + 1 < argc) warm = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--path") && i + 1 < argc && strlen(argv[i + 1]) < 400) path = argv[++i];
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    if (argc - i != 2 || threads < 1 || threads > 64 || forks < 0 || forks > 1000 || names < 1) {
        fprintf(stderr, "usage: faults_forker [-t T] [-f F] [-c C] [--sni NAME] [--names N] [--warm N] [--path P] HOST PORT\n");
        return 2;
    }
    host = argv[i];
    port = argv[i + 1];
    child_ok = mmap(NULL, 2 * sizeof(atomic_int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (child_ok == MAP_FAILED)
        return 1;
    child_reused = child_ok + 1;
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return 1;

    pthread_t th[64];
    for (i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    /* Let the threads get going (a handful of connections), then fork. */
    if (warm < 0)
        warm = 2 * threads;
    while (atomic_load(&t_conns) < warm && atomic_load(&t_conns) < threads * MAX_CONNS_PER_THREAD)
        usleep(1000);

    pid_t kids[1000];
    long long born[1000];
    for (i = 0; i < forks; i++) {
        born[i] = now_ms();
        pid_t pid = fork();
        if (pid == 0) {
            alarm(60);
            int all = 1;
            for (int k = 0; k < cconns; k++) {
                int reused = 0;
                if (one(&reused)) {
                    atomic_fetch_add(child_ok, 1);
                    atomic_fetch_add(child_reused, reused);
                } else {
                    all = 0;
                }
            }
            _exit(all ? 0 : 1);
        }
        kids[i] = pid;
        /* a few ms between forks: the threads are somewhere else each time */
        usleep(2000 + (unsigned)(rand() % 5000));
    }
    int k_ok = 0, k_failed = 0, k_hung = 0, hung_self = 0;
    pid_t hung[1000];
    for (i = 0; i < forks; i++) {
        int st;
        if (kids[i] < 0) {
            k_failed++;
            continue;
        }
        int ended = wait_until(kids[i], born[i] + HANG_AFTER_MS, &st);
        if (ended == 0)
            hung[k_hung++] = kids[i];
        else if (ended < 0)
            k_failed++;
        else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            k_ok++;
        else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
            hung_self++; /* its own alarm: no stack */
        else
            k_failed++;
    }
    if (k_hung > 0) {
        print_stacks(hung, k_hung);
        for (i = 0; i < k_hung; i++) {
            int st;
            kill(hung[i], SIGKILL);
            while (waitpid(hung[i], &st, 0) < 0 && errno == EINTR)
                ;
        }
    }
    atomic_store(&stop, 1);
    for (i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    printf("children ok=%d failed=%d hung=%d\n", k_ok, k_failed, k_hung + hung_self);
    printf("threads conns=%d ok=%d failed=%d reused=%d eintr=%d\n", atomic_load(&t_conns), atomic_load(&t_ok),
           atomic_load(&t_failed), atomic_load(&t_reused), atomic_load(&t_eintr));
    printf("child-conns ok=%d reused=%d\n", atomic_load(child_ok), atomic_load(child_reused));
    int good = k_ok == forks && atomic_load(&t_failed) == 0;
    printf("summary %s\n", good ? "ok" : "failed");
    SSL_CTX_free(ctx);
    return good ? 0 : 1;
}
