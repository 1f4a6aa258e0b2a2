/*
 * floor - the cheapest possible "DNS server", used as the benchmark's floor.
 *
 * One UDP socket, one thread: receive up to 64 datagrams with recvmmsg(),
 * turn each into an answer in place (set QR and AA, clear RCODE: NOERROR,
 * an echo of the question with no records), and send the batch back with
 * sendmmsg().  No parsing, no lookup, no allocation.  Whatever CPU it spends
 * per query is the kernel's UDP receive + send path plus two system calls
 * per batch; a real server cannot do better on the same machine, so the
 * benchmark reports every server's CPU per query as a multiple of this one.
 *
 * Usage: floor ADDRESS PORT      (e.g. floor 127.0.0.1 5300)
 * Runs in the foreground until killed.  Benchmark tool only: not hardened.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { BATCH = 64, MAX_DGRAM = 4096 };

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: floor ADDRESS PORT\n");
        return 2;
    }
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
    if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
        fprintf(stderr, "floor: bad address %s\n", argv[1]);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("floor: socket/bind");
        return 1;
    }

    static unsigned char buf[BATCH][MAX_DGRAM];
    static struct sockaddr_in peer[BATCH];
    static struct iovec iov[BATCH];
    static struct mmsghdr msg[BATCH];

    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){ .iov_base = buf[i], .iov_len = MAX_DGRAM };
            msg[i].msg_hdr = (struct msghdr){ .msg_name = &peer[i], .msg_namelen = sizeof peer[i],
                                              .msg_iov = &iov[i], .msg_iovlen = 1 };
        }
        int n = recvmmsg(fd, msg, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0)
            continue;
        int out = 0;  /* answers are compacted to the front of the batch */
        for (int i = 0; i < n; i++) {
            unsigned len = msg[i].msg_len;
            if (len < 12 || (buf[i][2] & 0x80))  /* too short for a header, or a response */
                continue;
            buf[i][2] |= 0x84;                   /* QR=1, AA=1 */
            buf[i][3] &= 0xf0;                   /* RCODE=NOERROR */
            iov[i].iov_len = len;
            msg[out].msg_hdr = msg[i].msg_hdr;
            out++;
        }
        for (int sent = 0; sent < out;) {
            int r = sendmmsg(fd, msg + sent, out - sent, 0);
            if (r <= 0)
                break;                           /* a full socket buffer drops the rest */
            sent += r;
        }
    }
}
