/* One request to hawiya-bridge, its progress events' costs summed (bridge_call.h). */
#include "bridge_call.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int bridge_call(const char *sock, const char *line, cJSON **answer, double *line_ms,
                double *elapsed_ms, double *reader_cpu_ms)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        return -1;
    if (write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
        close(fd);
        return -1;
    }
    static char buf[1 << 20];
    size_t len = 0;
    *line_ms = *elapsed_ms = *reader_cpu_ms = 0;
    for (;;) {
        char *nl = memchr(buf, '\n', len);
        if (!nl) {
            ssize_t k = read(fd, buf + len, sizeof buf - len);
            if (k <= 0) {
                close(fd);
                return -1;
            }
            len += (size_t)k;
            continue;
        }
        *nl = '\0';
        cJSON *j = cJSON_Parse(buf);
        size_t used = (size_t)(nl - buf) + 1;
        memmove(buf, buf + used, len - used);
        len -= used;
        if (!j)
            continue;
        if (cJSON_GetObjectItem(j, "event")) {
            cJSON *v;
            if ((v = cJSON_GetObjectItem(j, "line_ms")))
                *line_ms += v->valuedouble;
            if ((v = cJSON_GetObjectItem(j, "elapsed_ms")))
                *elapsed_ms += v->valuedouble;
            if ((v = cJSON_GetObjectItem(j, "reader_cpu_ms")))
                *reader_cpu_ms += v->valuedouble;
            cJSON_Delete(j);
            continue;
        }
        *answer = j;
        close(fd);
        return 0;
    }
}
