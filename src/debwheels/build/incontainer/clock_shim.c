/*
 * Preloaded before libfaketime for the time variation of 'debwheels repro' (vary.py):
 * libfaketime moves the clock, this keeps two things it gets wrong away from it.
 *
 * 1. Sleeps on CLOCK_MONOTONIC until an absolute deadline. libfaketime 0.9.10 (Debian 12)
 *    shifts that deadline even with FAKETIME_DONT_FAKE_MONOTONIC=1, the kernel gets a
 *    negative time and answers EINVAL (wolfcw/libfaketime#426). Python 3.11 sleeps that
 *    way, so time.sleep() and subprocess waits with a timeout failed in every build
 *    backend (scikit-build-core: "Could not run CMake ... [Errno 22] Invalid argument").
 *    The monotonic clock is not faked, so the deadline goes to the kernel unchanged.
 *
 * 2. File times set to "now" (touch, utime(path, NULL)). libfaketime writes the faked
 *    now, 398 days ahead, while every file the kernel creates or writes gets the real
 *    now: a touched file looks newer than files made after it, and autoconf's
 *    "newly created file is older than distributed files" check fails (uvloop's bundled
 *    libuv). Here every file time goes to the kernel unchanged, so the filesystem keeps
 *    one clock; only the clock a build reads is moved (NO_FAKE_STAT=1 keeps stat real).
 *
 * Built in the builder image by debwheels (clockshim.py): cc -shared -fPIC -O2.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

typedef int (*clock_nanosleep_fn)(clockid_t, int, const struct timespec *, struct timespec *);

int clock_nanosleep(clockid_t clock_id, int flags, const struct timespec *req, struct timespec *rem)
{
    if (clock_id == CLOCK_MONOTONIC && (flags & TIMER_ABSTIME)) {
        /* the glibc function returns the error number; the raw system call sets errno */
        return syscall(SYS_clock_nanosleep, clock_id, flags, req, rem) == 0 ? 0 : errno;
    }
    static clock_nanosleep_fn next;
    if (next == NULL) {
        next = (clock_nanosleep_fn)dlsym(RTLD_NEXT, "clock_nanosleep");
        if (next == NULL) {
            return ENOSYS;
        }
    }
    return next(clock_id, flags, req, rem);
}

int utimensat(int dirfd, const char *path, const struct timespec times[2], int flags)
{
    return (int)syscall(SYS_utimensat, dirfd, path, times, flags);
}

int futimens(int fd, const struct timespec times[2])
{
    return (int)syscall(SYS_utimensat, fd, NULL, times, 0);
}

static int set_times(const char *path, const struct timeval tv[2])
{
    if (tv == NULL) {
        return utimensat(AT_FDCWD, path, NULL, 0);
    }
    struct timespec ts[2];
    for (int i = 0; i < 2; i++) {
        ts[i].tv_sec = tv[i].tv_sec;
        ts[i].tv_nsec = tv[i].tv_usec * 1000;
    }
    return utimensat(AT_FDCWD, path, ts, 0);
}

int utimes(const char *path, const struct timeval tv[2])
{
    return set_times(path, tv);
}

int utime(const char *path, const struct utimbuf *times)
{
    if (times == NULL) {
        return utimensat(AT_FDCWD, path, NULL, 0);
    }
    struct timespec ts[2] = {{times->actime, 0}, {times->modtime, 0}};
    return utimensat(AT_FDCWD, path, ts, 0);
}
