/* The userland bridge's system calls, which Node does not offer: UNIX SOCK_SEQPACKET sockets
 * (one message per packet), pseudo-terminals (posix_openpt), and readiness callbacks for
 * their file descriptors on Node's own event loop (uv_poll). N-API, no dependencies.
 * Errors are thrown with the errno name as `code` and strerror as the message. */
#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static const char *errno_name(int e) {
  switch (e) {
    case EAGAIN: return "EAGAIN";
    case EPIPE: return "EPIPE";
    case ECONNRESET: return "ECONNRESET";
    case ENOENT: return "ENOENT";
    case EADDRINUSE: return "EADDRINUSE";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case EMSGSIZE: return "EMSGSIZE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOTCONN: return "ENOTCONN";
    case EMFILE: return "EMFILE";
    case ENOMEM: return "ENOMEM";
    case ENOBUFS: return "ENOBUFS";
    default: return "EIO";
  }
}

static napi_value throw_errno(napi_env env, const char *what) {
  char message[512];
  int e = errno;
  snprintf(message, sizeof message, "%s: %s", what, strerror(e));
  napi_throw_error(env, errno_name(e), message);
  return NULL;
}

static napi_value throw_invalid(napi_env env, const char *message) {
  napi_throw_error(env, "EINVAL", message);
  return NULL;
}

static bool get_int(napi_env env, napi_value value, int *out) {
  return napi_get_value_int32(env, value, out) == napi_ok;
}

static napi_value number(napi_env env, double value) {
  napi_value result;
  napi_create_double(env, value, &result);
  return result;
}

/* seqpacketListen(path): fd of a non-blocking listening SOCK_SEQPACKET socket bound at path. */
static napi_value seqpacket_listen(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct sockaddr_un address;
  size_t length = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  memset(&address, 0, sizeof address);
  address.sun_family = AF_UNIX;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], address.sun_path, sizeof address.sun_path, &length) != napi_ok) return throw_invalid(env, "seqpacketListen(path) needs a path");
  if (length >= sizeof address.sun_path - 1) {
    errno = ENAMETOOLONG;
    return throw_errno(env, "socket path");
  }
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket(AF_UNIX, SOCK_SEQPACKET)");
  if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return throw_errno(env, address.sun_path);
  }
  if (listen(fd, 16) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return throw_errno(env, "listen");
  }
  return number(env, fd);
}

/* accept(fd): a non-blocking connected fd, or -1 when none is waiting. */
static napi_value accept_connection(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_int(env, argv[0], &fd)) return throw_invalid(env, "accept(fd) needs a file descriptor");
  int client = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (client < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED) return number(env, -1);
    return throw_errno(env, "accept");
  }
  return number(env, client);
}

/* read(fd, max): one packet (socket) or what is available (pty) as a Buffer; null when nothing
 * is waiting (EAGAIN); false at end of file (the peer closed; a pty whose other side is gone: EIO). */
static napi_value read_fd(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int fd, max;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &max) || max <= 0 || max > 65536) return throw_invalid(env, "read(fd, max) needs a file descriptor and 1..65536");
  char buffer[65536];
  ssize_t got = read(fd, buffer, (size_t)max);
  napi_value result;
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      napi_get_null(env, &result);
      return result;
    }
    if (errno == EIO || errno == ECONNRESET) {
      napi_get_boolean(env, false, &result);
      return result;
    }
    return throw_errno(env, "read");
  }
  if (got == 0) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  void *data;
  napi_create_buffer_copy(env, (size_t)got, buffer, &data, &result);
  return result;
}

/* write(fd, bytes, isSocket): bytes written; a socket write is one packet (MSG_NOSIGNAL: EPIPE, no signal). */
static napi_value write_fd(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int fd;
  bool is_socket = false;
  void *data;
  size_t length;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || !get_int(env, argv[0], &fd)) return throw_invalid(env, "write(fd, bytes) needs a file descriptor");
  if (napi_get_buffer_info(env, argv[1], &data, &length) != napi_ok) {
    bool typed = false;
    napi_is_typedarray(env, argv[1], &typed);
    if (!typed) return throw_invalid(env, "write(fd, bytes): bytes must be a Buffer or Uint8Array");
    napi_typedarray_type type;
    napi_value arraybuffer;
    size_t offset;
    napi_get_typedarray_info(env, argv[1], &type, &length, &data, &arraybuffer, &offset);
  }
  if (argc > 2) napi_get_value_bool(env, argv[2], &is_socket);
  ssize_t put = is_socket ? send(fd, data, length, MSG_NOSIGNAL | MSG_DONTWAIT) : write(fd, data, length);
  if (put < 0) return throw_errno(env, is_socket ? "send" : "write");
  return number(env, (double)put);
}

static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_int(env, argv[0], &fd)) return throw_invalid(env, "close(fd) needs a file descriptor");
  if (close(fd) != 0 && errno != EINTR) return throw_errno(env, "close");
  return NULL;
}

/* shutdown(fd): SHUT_RDWR, so that the peer reads end of file and its writes fail with EPIPE. */
static napi_value shutdown_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_int(env, argv[0], &fd)) return throw_invalid(env, "shutdown(fd) needs a file descriptor");
  shutdown(fd, SHUT_RDWR);
  return NULL;
}

/* openpty(): { master, slave, path }; the terminal is raw (no echo, no line editing, no CR/LF
 * mapping) so that bytes pass unchanged; both fds non-blocking. We keep the slave open so the
 * master does not see EIO between programs that open and close the terminal. */
static napi_value open_pty(napi_env env, napi_callback_info info) {
  (void)info;
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (master < 0) return throw_errno(env, "posix_openpt");
  char path[128];
  if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, path, sizeof path) != 0) {
    int e = errno;
    close(master);
    errno = e;
    return throw_errno(env, "grantpt/unlockpt/ptsname");
  }
  int slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (slave < 0) {
    int e = errno;
    close(master);
    errno = e;
    return throw_errno(env, path);
  }
  struct termios attributes;
  if (tcgetattr(slave, &attributes) == 0) {
    cfmakeraw(&attributes);
    tcsetattr(slave, TCSANOW, &attributes);
  }
  napi_value result, value;
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "master", number(env, master));
  napi_set_named_property(env, result, "slave", number(env, slave));
  napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, result, "path", value);
  return result;
}

/* Readiness callbacks on Node's loop. */
typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  bool stopped;
} Poller;

static void poller_closed(uv_handle_t *handle) {
  free(handle->data);
}

static void poller_event(uv_poll_t *handle, int status, int events) {
  Poller *poller = handle->data;
  if (poller->stopped) return;
  napi_env env = poller->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value callback, receiver, argv[1];
  napi_get_reference_value(env, poller->callback, &callback);
  napi_get_global(env, &receiver);
  /* 1 readable, 2 writable, 4 disconnect; -1 on a poll error (the fd is unusable). */
  int flags = status < 0 ? -1 : ((events & UV_READABLE) ? 1 : 0) | ((events & UV_WRITABLE) ? 2 : 0) | ((events & UV_DISCONNECT) ? 4 : 0);
  napi_create_int32(env, flags, &argv[0]);
  napi_make_callback(env, poller->context, receiver, callback, 1, argv, NULL);
  napi_close_handle_scope(env, scope);
}

static int uv_events(int flags) {
  return ((flags & 1) ? UV_READABLE : 0) | ((flags & 2) ? UV_WRITABLE : 0) | ((flags & 4) ? UV_DISCONNECT : 0);
}

/* poll(fd, flags, callback(flags)): an external handle; flags 1 readable | 2 writable | 4 disconnect. */
static napi_value poll_start(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int fd, flags;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3 || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &flags)) return throw_invalid(env, "poll(fd, flags, callback)");
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return throw_invalid(env, "no event loop");
  Poller *poller = calloc(1, sizeof *poller);
  if (!poller) return throw_invalid(env, "out of memory");
  poller->env = env;
  if (uv_poll_init(loop, &poller->poll, fd) != 0) {
    free(poller);
    errno = EBADF;
    return throw_errno(env, "uv_poll_init");
  }
  poller->poll.data = poller;
  napi_create_reference(env, argv[2], 1, &poller->callback);
  napi_value name;
  napi_create_string_utf8(env, "xs-rpmsg-bridge", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &poller->context);
  uv_poll_start(&poller->poll, uv_events(flags), poller_event);
  napi_value handle;
  napi_create_external(env, poller, NULL, NULL, &handle);
  return handle;
}

static Poller *get_poller(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok) return NULL;
  return data;
}

/* pollUpdate(handle, flags). */
static napi_value poll_update(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int flags;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Poller *poller = argc >= 2 ? get_poller(env, argv[0]) : NULL;
  if (!poller || !get_int(env, argv[1], &flags)) return throw_invalid(env, "pollUpdate(handle, flags)");
  if (!poller->stopped) uv_poll_start(&poller->poll, uv_events(flags), poller_event);
  return NULL;
}

/* pollStop(handle): before closing the fd. Idempotent. */
static napi_value poll_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Poller *poller = argc >= 1 ? get_poller(env, argv[0]) : NULL;
  if (!poller) return throw_invalid(env, "pollStop(handle)");
  if (poller->stopped) return NULL;
  poller->stopped = true;
  uv_poll_stop(&poller->poll);
  napi_delete_reference(env, poller->callback);
  napi_async_destroy(env, poller->context);
  uv_close((uv_handle_t *)&poller->poll, poller_closed);
  return NULL;
}

static void export_function(napi_env env, napi_value exports, const char *name, napi_callback callback) {
  napi_value function;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, NULL, &function);
  napi_set_named_property(env, exports, name, function);
}

static napi_value init(napi_env env, napi_value exports) {
  export_function(env, exports, "seqpacketListen", seqpacket_listen);
  export_function(env, exports, "accept", accept_connection);
  export_function(env, exports, "read", read_fd);
  export_function(env, exports, "write", write_fd);
  export_function(env, exports, "close", close_fd);
  export_function(env, exports, "shutdown", shutdown_fd);
  export_function(env, exports, "openpty", open_pty);
  export_function(env, exports, "poll", poll_start);
  export_function(env, exports, "pollUpdate", poll_update);
  export_function(env, exports, "pollStop", poll_stop);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
