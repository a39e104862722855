/*
 * originalDst(fd): where a connection redirected by iptables (nat REDIRECT) was going, read from
 * conntrack with getsockopt(SO_ORIGINAL_DST), which Node does not expose. Returns
 * { address, port }, or undefined when the socket has no such record (not redirected, no
 * conntrack). Node-API only, so one build serves every Node version of that ABI.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <node_api.h>

/* linux/netfilter_ipv4.h and linux/netfilter_ipv6/ip6_tables.h; their headers clash with libc's. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

/* Reads the original destination of `fd` into `text` and `port`; 0 on success. */
static int original_dst(int fd, char *text, size_t size, uint16_t *port) {
  struct sockaddr_storage local;
  socklen_t len = sizeof(local);
  if (getsockname(fd, (struct sockaddr *)&local, &len) != 0) return -1;
  if (local.ss_family == AF_INET6 &&
      !IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&local)->sin6_addr)) {
    struct sockaddr_in6 dst;
    len = sizeof(dst);
    if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &dst, &len) != 0) return -1;
    *port = ntohs(dst.sin6_port);
    return inet_ntop(AF_INET6, &dst.sin6_addr, text, size) ? 0 : -1;
  }
  /* IPv4, also on a dual-stack socket: the connection's conntrack record is IPv4. */
  struct sockaddr_in dst;
  len = sizeof(dst);
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &len) != 0) return -1;
  *port = ntohs(dst.sin_port);
  return inet_ntop(AF_INET, &dst.sin_addr, text, size) ? 0 : -1;
}

static napi_value OriginalDst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "originalDst(fd): fd must be a non-negative integer");
    return NULL;
  }
  char text[INET6_ADDRSTRLEN];
  uint16_t port;
  napi_value result;
  if (original_dst(fd, text, sizeof(text), &port) != 0) {
    napi_get_undefined(env, &result);
    return result;
  }
  napi_value address, port_value;
  napi_create_object(env, &result);
  napi_create_string_latin1(env, text, NAPI_AUTO_LENGTH, &address);
  napi_create_uint32(env, port, &port_value);
  napi_set_named_property(env, result, "address", address);
  napi_set_named_property(env, result, "port", port_value);
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "originalDst", NAPI_AUTO_LENGTH, OriginalDst, NULL, &fn) != napi_ok)
    return NULL;
  napi_set_named_property(env, exports, "originalDst", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
