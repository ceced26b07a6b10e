#include <stdio.h>

#include "commands.h"

#ifndef HAWIYA_VERSION
#define HAWIYA_VERSION "0.1.0"
#endif

int cmd_version(int argc, char **argv)
{
    printf("{\"hawiya\":\"%s\"}\n", HAWIYA_VERSION);
    return 0;
}
