/* The manufacturer's provisioning of a reader's device certificate (provision.c). */
#ifndef HAWIYA_PKI_PROVISION_H
#define HAWIYA_PKI_PROVISION_H

#include "pki.h"

/* 0 when the reader holds a certificate from the reader CA in ca_dir. */
int pki_provision(const char *ca_dir, const char *reader_socket);

#endif
