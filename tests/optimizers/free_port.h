// A loopback port for a test's rendezvous store.
#ifndef GS_TESTS_OPTIMIZERS_FREE_PORT_H_
#define GS_TESTS_OPTIMIZERS_FREE_PORT_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace gs::testing {

// A port nothing listens on now (the kernel's choice for an ephemeral bind).
inline int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace gs::testing

#endif  // GS_TESTS_OPTIMIZERS_FREE_PORT_H_
