#include "hawiya/ecp_groups.h"

void ecp_groups_init(struct ecp_groups *c)
{
    for (size_t i = 0; i < ECP_GROUPS_MAX; i++)
        mbedtls_ecp_group_init(&c->g[i]);
    c->n = 0;
}

mbedtls_ecp_group *ecp_groups_get(struct ecp_groups *c, mbedtls_ecp_group_id id)
{
    if (c == NULL || id == MBEDTLS_ECP_DP_NONE)
        return NULL;
    for (size_t i = 0; i < c->n; i++)
        if (c->g[i].id == id)
            return &c->g[i];
    if (c->n == ECP_GROUPS_MAX)
        return NULL;
    if (ecp_group_load_fast(&c->g[c->n], id) != 0) {
        mbedtls_ecp_group_free(&c->g[c->n]);
        mbedtls_ecp_group_init(&c->g[c->n]);
        return NULL;
    }
    return &c->g[c->n++];
}

void ecp_groups_free(struct ecp_groups *c)
{
    for (size_t i = 0; i < ECP_GROUPS_MAX; i++) {
        mbedtls_ecp_group_free(&c->g[i]);
        mbedtls_ecp_group_init(&c->g[i]);
    }
    c->n = 0;
}
