/* LD_PRELOAD shim: a process that binds a socket to "any address" (0.0.0.0 or ::) binds it
 * to the loopback address instead. roscpp's XML-RPC server (rosout, rosbag record) always
 * binds to INADDR_ANY, whatever ROS_HOSTNAME/ROS_IP say, so on a loopback-only set-up those
 * two listened on every interface. scripts/env.sh preloads this only while ROS_HOSTNAME /
 * ROS_IP name the loopback (the default); set them to a network address to use a network.
 * Only the programs named in SBI_LOOPBACK_PROGRAMS (default "rosout,record,play": roscpp's
 * own tools) are changed: everything else (torch's gloo, the user's servers) binds as asked. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

static int applies(void) {
  static int cached = -1;
  if (cached >= 0) return cached;
  const char *list = getenv("SBI_LOOPBACK_PROGRAMS");
  if (!list || !*list) list = "rosout,record,play";
  const char *me = program_invocation_short_name;
  size_t n = strlen(me);
  cached = 0;
  for (const char *p = list; *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && strncmp(p, me, n) == 0) { cached = 1; break; }
    if (!end) break;
    p = end + 1;
  }
  return cached;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  static bind_fn real_bind = 0;
  if (!real_bind) real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
  if (!applies()) return real_bind(fd, addr, len);
  if (addr && addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
    if (in->sin_addr.s_addr == htonl(INADDR_ANY)) {
      struct sockaddr_in lo;
      memcpy(&lo, in, sizeof lo);
      lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      return real_bind(fd, (const struct sockaddr *)&lo, sizeof lo);
    }
  }
  if (addr && addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
    if (memcmp(&in6->sin6_addr, &in6addr_any, sizeof in6addr_any) == 0) {
      struct sockaddr_in6 lo;
      memcpy(&lo, in6, sizeof lo);
      lo.sin6_addr = in6addr_loopback;
      return real_bind(fd, (const struct sockaddr *)&lo, sizeof lo);
    }
  }
  return real_bind(fd, addr, len);
}
