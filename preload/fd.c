/*
 * fd.c - keep our long-lived descriptors off 0, 1 and 2. See ar_fd.h.
 */
#include "ar_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int fd_above_stdio(int fd)
{
    if (fd < 0 || fd > 2)
        return fd;
    int saved = errno;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    errno = saved;
    return moved;
}
