// An LD_PRELOAD library that injects faults at the k-th write a process makes to files
// under one directory, for tests/tasks:fault_injection_test. It wraps write, pwrite,
// pwrite64, writev and pwritev (what libc, libstdc++'s streams and our WriteFileAtomic
// call); other files (stderr's log, the test's own files) pass untouched and uncounted.
//
//   GS_FAULT_DIR     only writes to files under this absolute directory count
//   GS_FAULT_PROGRAM only in processes whose executable has this name (children that
//                    inherit the library are left alone)
//   GS_FAULT_LOG     each counted write appends "<k> <bytes> <seconds> <path>" to this
//                    file (seconds on CLOCK_MONOTONIC, as std::chrono::steady_clock's)
//   GS_FAULT_AT      the 1-based number of the write that faults (unset or 0: none)
//   GS_FAULT_ACTION  enospc       the disk fills at write k: it writes half its bytes
//                                 (a short write, as a real disk gives), and every write
//                                 after fails with ENOSPC
//                    enospc_once  the same, but only the next write fails; then there is
//                                 space again (as when the writer removes its temporary file)
//                    kill         SIGKILL before write k writes anything
//                    kill_torn    SIGKILL after write k has written half its bytes
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

typedef ssize_t (*write_fn)(int, const void*, size_t);
typedef ssize_t (*pwrite_fn)(int, const void*, size_t, off_t);
typedef ssize_t (*pwrite64_fn)(int, const void*, size_t, off64_t);
typedef ssize_t (*writev_fn)(int, const struct iovec*, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec*, int, off_t);

enum Action { kNone, kEnospc, kEnospcOnce, kKill, kKillTorn };

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static write_fn real_write;
static pwrite_fn real_pwrite;
static pwrite64_fn real_pwrite64;
static writev_fn real_writev;
static pwritev_fn real_pwritev;
static char g_dir[4096];
static size_t g_dir_len;
static int g_log_fd = -1;
static long g_at;
static enum Action g_action = kNone;
static long g_count;
static int g_full;  // writes fail with ENOSPC: 1 until the next one fails, 2 for good

static void Init(void) {
  real_write = (write_fn)dlsym(RTLD_NEXT, "write");
  real_pwrite = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite");
  real_pwrite64 = (pwrite64_fn)dlsym(RTLD_NEXT, "pwrite64");
  real_writev = (writev_fn)dlsym(RTLD_NEXT, "writev");
  real_pwritev = (pwritev_fn)dlsym(RTLD_NEXT, "pwritev");
  const char* dir = getenv("GS_FAULT_DIR");
  if (dir != NULL && dir[0] == '/' && strlen(dir) + 2 < sizeof g_dir) {
    strcpy(g_dir, dir);
    g_dir_len = strlen(g_dir);
    while (g_dir_len > 1 && g_dir[g_dir_len - 1] == '/') g_dir[--g_dir_len] = '\0';
    g_dir[g_dir_len++] = '/';
    g_dir[g_dir_len] = '\0';
  }
  const char* program = getenv("GS_FAULT_PROGRAM");
  if (program != NULL && program[0] != '\0') {
    char exe[4096];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    const char* base = strrchr(exe, '/');
    if (strcmp(base != NULL ? base + 1 : exe, program) != 0) g_dir_len = 0;
  }
  const char* log = getenv("GS_FAULT_LOG");
  if (log != NULL && log[0] != '\0') {
    g_log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  }
  const char* at = getenv("GS_FAULT_AT");
  g_at = at != NULL ? strtol(at, NULL, 10) : 0;
  const char* action = getenv("GS_FAULT_ACTION");
  if (action != NULL && g_at > 0) {
    if (strcmp(action, "enospc") == 0) g_action = kEnospc;
    if (strcmp(action, "enospc_once") == 0) g_action = kEnospcOnce;
    if (strcmp(action, "kill") == 0) g_action = kKill;
    if (strcmp(action, "kill_torn") == 0) g_action = kKillTorn;
  }
}

// Whether `fd` is a file under GS_FAULT_DIR; its path into `path`.
static int Watched(int fd, char* path, size_t size) {
  if (g_dir_len == 0) return 0;
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, path, size - 1);
  if (n <= 0) return 0;
  path[n] = '\0';
  return strncmp(path, g_dir, g_dir_len) == 0;
}

// What happens to a write of `bytes` to `fd`.
struct Verdict {
  ssize_t allow;  // bytes to let through (at most `bytes`); -1: fail with ENOSPC
  int kill;       // SIGKILL after letting `allow` bytes through
};

static struct Verdict Decide(int fd, size_t bytes) {
  pthread_once(&g_once, Init);
  struct Verdict v = {(ssize_t)bytes, 0};
  char path[4096];
  if (!Watched(fd, path, sizeof path)) return v;
  pthread_mutex_lock(&g_mutex);
  const long k = ++g_count;
  if (g_log_fd >= 0) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    char line[4200];
    const int n = snprintf(line, sizeof line, "%ld %zu %ld.%09ld %s\n", k, bytes, (long)now.tv_sec,
                           now.tv_nsec, path);
    if (n > 0) (void)!real_write(g_log_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
  }
  if (g_full > 0) {
    if (g_full == 1) g_full = 0;
    v.allow = -1;
  } else if (k == g_at) {
    switch (g_action) {
      case kKill:
        kill(getpid(), SIGKILL);
        break;
      case kKillTorn:
        v.allow = (ssize_t)(bytes / 2);
        v.kill = 1;
        break;
      case kEnospc:
      case kEnospcOnce:
        if (bytes < 2) {
          // Nothing to cut short: this write fails, and so do the later ones for good.
          g_full = g_action == kEnospc ? 2 : 0;
          v.allow = -1;
        } else {
          g_full = g_action == kEnospc ? 2 : 1;
          v.allow = (ssize_t)(bytes / 2);
        }
        break;
      case kNone:
        break;
    }
  }
  pthread_mutex_unlock(&g_mutex);
  return v;
}

// The vector forms: a short write lets the leading bytes through as plain writes.
static size_t Total(const struct iovec* iov, int n) {
  size_t total = 0;
  for (int i = 0; i < n; ++i) total += iov[i].iov_len;
  return total;
}

static ssize_t WritePrefix(int fd, const struct iovec* iov, int n, size_t bytes, off_t offset,
                           int positioned) {
  size_t done = 0;
  for (int i = 0; i < n && done < bytes; ++i) {
    size_t part = iov[i].iov_len;
    if (part > bytes - done) part = bytes - done;
    const ssize_t w = positioned ? real_pwrite(fd, iov[i].iov_base, part, offset + (off_t)done)
                                 : real_write(fd, iov[i].iov_base, part);
    if (w < 0) return done > 0 ? (ssize_t)done : -1;
    done += (size_t)w;
    if ((size_t)w < part) break;
  }
  return (ssize_t)done;
}

// After a write that a verdict let through: a torn kill comes now.
static ssize_t Done(struct Verdict v, ssize_t done) {
  if (v.kill) kill(getpid(), SIGKILL);
  return done;
}

ssize_t write(int fd, const void* buf, size_t count) {
  const struct Verdict v = Decide(fd, count);
  if (v.allow < 0) return errno = ENOSPC, -1;
  return Done(v, real_write(fd, buf, (size_t)v.allow));
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  const struct Verdict v = Decide(fd, count);
  if (v.allow < 0) return errno = ENOSPC, -1;
  return Done(v, real_pwrite(fd, buf, (size_t)v.allow, offset));
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off64_t offset) {
  const struct Verdict v = Decide(fd, count);
  if (v.allow < 0) return errno = ENOSPC, -1;
  return Done(v, real_pwrite64(fd, buf, (size_t)v.allow, offset));
}

ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  const size_t count = Total(iov, iovcnt);
  const struct Verdict v = Decide(fd, count);
  if (v.allow < 0) return errno = ENOSPC, -1;
  return Done(v, (size_t)v.allow == count ? real_writev(fd, iov, iovcnt)
                                          : WritePrefix(fd, iov, iovcnt, (size_t)v.allow, 0, 0));
}

ssize_t pwritev(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  const size_t count = Total(iov, iovcnt);
  const struct Verdict v = Decide(fd, count);
  if (v.allow < 0) return errno = ENOSPC, -1;
  return Done(v, (size_t)v.allow == count
                     ? real_pwritev(fd, iov, iovcnt, offset)
                     : WritePrefix(fd, iov, iovcnt, (size_t)v.allow, offset, 1));
}
