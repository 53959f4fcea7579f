/* LD_PRELOAD shim: a process that binds a socket to "any address" (0.0.0.0 or ::) binds it
 * to the loopback address instead. roscpp's XML-RPC server (rosout, rosbag record) always
 * binds to INADDR_ANY, whatever ROS_HOSTNAME/ROS_IP say, so on a loopback-only set-up those
 * two listened on every interface. scripts/env.sh preloads this only while ROS_HOSTNAME /
 * ROS_IP name the loopback (the default); set them to a network address to use a network. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  static bind_fn real_bind = 0;
  if (!real_bind) real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
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
