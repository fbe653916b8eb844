/*
 * ar_fd.h - descriptors the library keeps open across calls.
 */
#ifndef AR_FD_H
#define AR_FD_H

/*
 * fd_above_stdio - fd itself when it is 3 or more, else a close-on-exec
 * duplicate of it at 3 or above, with fd closed (-1, fd closed, if that
 * fails). A daemon that closed stdin, stdout and stderr expects its next
 * open() to get 0, 1 and 2; a descriptor of ours kept there would take one
 * (and whatever it writes to "stdout" would land in it). Keeps errno.
 */
int fd_above_stdio(int fd);

#endif
