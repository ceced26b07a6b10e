/*
 * hawiya-bridge's event loop (bridge.h): one thread, epoll over the
 * listening socket, every client, every idle reader's notification link,
 * the workers' wake pipe, a signalfd for SIGTERM / SIGINT and, with a
 * WebSocket, its listeners and the WebSocket library's own poll set (one
 * epoll descriptor, nested: websocket.c). Which backend a reader has and
 * how a client is framed are the other files' business.
 */
#define _GNU_SOURCE /* pipe2 */
#include "bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define EPOLL_BATCH 256u

int64_t bridge_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void bridge_wake(struct bridge *b)
{
    char one = 1;
    ssize_t w = write(b->wake[1], &one, 1);
    (void)w; /* a full pipe already wakes the loop */
}

static int serve(struct bridge *b, const struct bridge_config *cfg)
{
    b->cfg = cfg;
    b->start_ms = bridge_now_ms();
    pthread_mutex_init(&b->pmu, NULL);
    bridge_log_open(cfg->log_syslog, cfg->log_level);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* SIGTERM and SIGINT arrive as events of the loop (signalfd), blocked
     * before the workers start so that every thread inherits the mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    b->sig_fd = signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (b->sig_fd < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);

    if (pipe2(b->wake, O_NONBLOCK | O_CLOEXEC) < 0)
        return 1;
    /* Held back for the day we run out of descriptors (clients.c). */
    b->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    b->listen_fd = listener_open(b, cfg->socket);
    if (b->listen_fd < 0)
        return 1;
    /* epoll, not poll: with hundreds of idle clients connected, each wakeup
     * costs the ready descriptors, not all of them (bench_bridge). */
    b->ep = epoll_create1(EPOLL_CLOEXEC);
    b->w_listen.kind = WATCH_LISTEN;
    b->w_wake.kind = WATCH_WAKE;
    b->w_signal.kind = WATCH_SIGNAL;
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &b->w_listen};
    struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &b->w_wake};
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &b->w_signal};
    if (b->ep < 0 || epoll_ctl(b->ep, EPOLL_CTL_ADD, b->listen_fd, &lev) < 0 ||
        epoll_ctl(b->ep, EPOLL_CTL_ADD, b->wake[0], &wev) < 0 ||
        epoll_ctl(b->ep, EPOLL_CTL_ADD, b->sig_fd, &sev) < 0) {
        bridge_log(BRIDGE_LOG_ERROR, 0, "epoll: %s", strerror(errno));
        return 1;
    }
    if (cfg->ws_port && !websocket_open(b)) {
        websocket_shutdown(b);
        return 1;
    }
    if (!readers_start(b, cfg)) {
        bridge_log(BRIDGE_LOG_ERROR, 0, "cannot start the readers");
        return 1;
    }
    bridge_log(BRIDGE_LOG_INFO, 0, "serving %s with %zu reader(s), %zu origin(s)", cfg->socket,
               b->n_readers, cfg->n_origin);

    struct epoll_event evs[EPOLL_BATCH];
    while (!b->stop) {
        int64_t now = bridge_now_ms();
        int64_t next = clients_next_timer(b, readers_next_timer(b, now + 1000));
        for (size_t i = 0; i < b->n_clients; i++)
            client_watch(b->clients[i]);
        websocket_service(b); /* also applies what client_watch changed */
        next = websocket_next_timer(b, now, next);
        int timeout = next > now ? (int)(next - now) : 0;
        int k = epoll_wait(b->ep, evs, (int)EPOLL_BATCH, timeout);
        if (k < 0 && errno != EINTR)
            break;
        now = bridge_now_ms();
        bool wake = false, accept = false;
        for (int i = 0; i < k; i++) {
            struct watch *w = evs[i].data.ptr;
            uint32_t re = evs[i].events;
            if (w->kind == WATCH_LISTEN) {
                accept = true;
            } else if (w->kind == WATCH_WAKE) {
                wake = true;
            } else if (w->kind == WATCH_SIGNAL) {
                struct signalfd_siginfo si;
                if (read(b->sig_fd, &si, sizeof si) == (ssize_t)sizeof si)
                    b->stop = true;
            } else if (w->kind == WATCH_WS_LISTEN) {
                websocket_accept(b, w);
            } else if (w->kind == WATCH_WS_LOOP) {
                /* serviced below, after the other events */
            } else if (w->kind == WATCH_READER) {
                struct reader *r = (struct reader *)w; /* freed only by readers_reap */
                /* The event may predate a session that took the link since. */
                if (r->up && !r->running && !r->gone)
                    reader_sync(r);
            } else if (w->kind == WATCH_PROVIDER) {
                provider_sync((struct provider *)w);
            } else {
                struct client *c = (struct client *)w; /* freed only by reap_clients */
                if (c->dead)
                    continue;
                client_event(c, re);
            }
        }
        if (wake)
            readers_drain_wake(b);
        if (accept)
            clients_accept(b);
        websocket_service(b);
        readers_reconnect(b, now);
        readers_probe(b, now);
        readers_check_deadlines(b, now);
        websocket_check_idle(b, now);
        clients_check_timers(b, now);
        clients_reap(b);
        readers_reap(b);
    }
    bridge_log(BRIDGE_LOG_INFO, 0, "stopping");
    for (size_t i = 0; i < b->n_clients; i++)
        client_drop(b->clients[i], "bridge stopping");
    websocket_shutdown(b);
    clients_reap(b);
    free(b->clients);
    bool joined = readers_stop(b);
    close(b->listen_fd);
    if (b->reserve_fd >= 0)
        close(b->reserve_fd);
    close(b->ep);
    close(b->sig_fd);
    unlink(cfg->socket);
    if (!joined)
        return -1;
    close(b->wake[0]);
    close(b->wake[1]);
    return 0;
}

int bridge_run(const struct bridge_config *cfg)
{
    struct bridge *b = calloc(1, sizeof *b);
    if (!b)
        return 1;
    b->sig_fd = b->ep = b->listen_fd = b->wake[0] = b->wake[1] = b->reserve_fd = -1;
    int rc = serve(b, cfg);
    if (rc < 0)
        return 0; /* a worker is still inside a backend call: it keeps b until exit */
    pthread_mutex_destroy(&b->pmu);
    free(b);
    return rc;
}
