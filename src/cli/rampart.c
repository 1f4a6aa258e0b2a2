/*
 * rampart - the operator's command for Rampart
 *
 * Today it talks to a running rampart-dnsbl over its control socket:
 * `rampart dnsbl stats|zones|reload`. Commands, options and exit statuses are
 * in cli.h and docs/rampart.1; this file only hands the command line over.
 *
 * Runs as the operator, with the operator's rights: it needs read and write
 * access to the control socket (mode 0660), nothing more.
 */
#include <stdio.h>

#include "cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv, stdout, stderr);
}
