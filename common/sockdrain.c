/* Reading away what a socket's kernel already holds, before a close that must be a FIN. */
#include "sockdrain.h"

#include <sys/socket.h>
#include <sys/types.h>

size_t sockdrain(int fd, size_t max)
{
    char buf[16384];
    size_t total = 0;
    while (total < max) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0)
            break;
        total += (size_t)n;
    }
    return total;
}
