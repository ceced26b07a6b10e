#include "pcsc_client.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

pid_t pcsc_client_hold(const char *reader, DWORD share, int hold_ms, bool reset)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        SCARDCONTEXT ctx;
        SCARDHANDLE h;
        DWORD proto;
        if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS ||
            SCardConnect(ctx, reader, share, SCARD_PROTOCOL_T1, &h, &proto) != SCARD_S_SUCCESS)
            _exit(1);
        ssize_t w = write(p[1], "held\n", 5);
        (void)w;
        close(p[1]);
        struct timespec d = {hold_ms / 1000, (long)(hold_ms % 1000) * 1000000L};
        nanosleep(&d, NULL);
        if (reset && SCardReconnect(h, share, SCARD_PROTOCOL_T1, SCARD_RESET_CARD, &proto) !=
                         SCARD_S_SUCCESS)
            _exit(2);
        if (SCardDisconnect(h, reset ? SCARD_RESET_CARD : SCARD_LEAVE_CARD) != SCARD_S_SUCCESS)
            _exit(3);
        SCardReleaseContext(ctx);
        _exit(0);
    }
    close(p[1]);
    char said[8] = "";
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    if (poll(&pfd, 1, 60000) == 1 && read(p[0], said, sizeof said - 1) < 0)
        said[0] = '\0';
    close(p[0]);
    if (strcmp(said, "held\n") != 0)
        fail_msg("the other program could not connect to the card");
    return pid;
}
