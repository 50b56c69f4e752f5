/*
 * raftlb: entry point. Parses the command line and hands over to the runtime.
 * (Bootstrap version: the runtime owner replaces this.)
 */
#include "config.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("raftlb %s\n", PACKAGE_VERSION);
    return 0;
}
