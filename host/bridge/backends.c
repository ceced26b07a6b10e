/* The kinds of reader hawiya-bridge drives, by the name bridge.conf gives them. */
#include <string.h>

#include "backend.h"

const struct bridge_backend_ops *const bridge_backends[] = {
    &bridge_backend_sim,
    &bridge_backend_usb,
    &bridge_backend_pcsc,
};
const size_t bridge_n_backends = sizeof bridge_backends / sizeof bridge_backends[0];

const struct bridge_backend_ops *bridge_backend_find(const char *name)
{
    for (size_t i = 0; i < bridge_n_backends; i++)
        if (!strcmp(bridge_backends[i]->name, name))
            return bridge_backends[i];
    return NULL;
}

const struct bridge_provider_ops *const bridge_providers[] = {
    &bridge_provider_pcsc,
};
const size_t bridge_n_providers = sizeof bridge_providers / sizeof bridge_providers[0];
