/*
 * rampart - the operator's command for Rampart
 *
 * It talks to a running rampart-dnsbl over its control socket
 * (`rampart dnsbl stats|zones|reload`) and keeps the listing database
 * (`rampart list create|add|remove|drop|show|search|expire|import|export`).
 * Commands, options and exit statuses are in cli.h and docs/rampart.1; this
 * file only hands the command line over.
 *
 * Runs as the operator, with the operator's rights: read and write access to
 * the control socket (mode 0660) and to the database file and its directory
 * (SQLite keeps its -wal and -shm files beside it), nothing more.
 */
#include <stdio.h>

#include "cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv, stdout, stderr);
}
