/* The kinds of reader hawiya-bridge drives, by the name bridge.conf gives them. */
#include <string.h>

#include "backend.h"

const struct bridge_backend_ops *const bridge_backends[] = {
    &bridge_backend_sim,
    &bridge_backend_usb,
};
const size_t bridge_n_backends = sizeof bridge_backends / sizeof bridge_backends[0];

const struct bridge_backend_ops *bridge_backend_find(const char *name)
{
    for (size_t i = 0; i < bridge_n_backends; i++)
        if (!strcmp(bridge_backends[i]->name, name))
            return bridge_backends[i];
    return NULL;
}
