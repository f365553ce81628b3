/* The host end of a socket doorbell without Node's stream machinery (issue 11, posix round trips):
 * a uv_poll watcher on a dup of the connected socket's descriptor reads every byte there is
 * (kicks merge) and calls back JS once per wakeup with a 256-bit set of the byte values seen;
 * kick() sends one byte with a plain send(2). Per round trip this replaces a Buffer, a stream
 * 'data' event and a WriteWrap. N-API and libuv (Node's own), no dependencies. Nothing busy-waits:
 * the watcher sleeps in the event loop's epoll like the socket it replaces. */
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  napi_env env;
  uv_poll_t poll;
  int fd;
  int polling;
  napi_ref callback;
  napi_async_context context;
  napi_ref seen_ref;     /* a Uint32Array(8): bit b set when byte b arrived in this wakeup */
  uint32_t *seen;
  int handle_closed;     /* libuv closed the poll handle (the descriptor is closed) */
  int finalized;         /* the JS handle was collected: free when both */
  int in_callback;       /* inside the JS callback: a close then releases after it returns */
  int release_pending;
} doorbell_t;

static napi_value fail(napi_env env, const char *code, const char *message) {
  napi_throw_error(env, code, message);
  return NULL;
}

static void closed_cb(uv_handle_t *handle) {
  doorbell_t *bell = (doorbell_t *)handle->data;
  close(bell->fd);
  bell->handle_closed = 1;
  if (bell->finalized) free(bell);
}

/* The JS handle was collected: stop watching if nobody closed it (no N-API calls here), free once libuv is done. */
static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  doorbell_t *bell = (doorbell_t *)data;
  bell->finalized = 1;
  if (bell->polling) {
    bell->polling = 0;
    uv_poll_stop(&bell->poll);
    uv_close((uv_handle_t *)&bell->poll, closed_cb);
    return;
  }
  if (bell->handle_closed) free(bell);
}

/* Release the JS references and close the handle (the struct goes when libuv has closed it and the JS handle is collected). */
static void release(doorbell_t *bell) {
  napi_delete_reference(bell->env, bell->callback);
  napi_delete_reference(bell->env, bell->seen_ref);
  napi_async_destroy(bell->env, bell->context);
  uv_close((uv_handle_t *)&bell->poll, closed_cb);
}

/* Stop watching (idempotent); from inside the callback the release waits until it returns. */
static void shut(doorbell_t *bell) {
  if (!bell->polling) return;
  bell->polling = 0;
  uv_poll_stop(&bell->poll);
  if (bell->in_callback) bell->release_pending = 1;
  else release(bell);
}

static void readable_cb(uv_poll_t *poll, int status, int events) {
  doorbell_t *bell = (doorbell_t *)poll->data;
  (void)events;
  if (!bell->polling) return;
  int eof = status < 0;
  int any = 0;
  memset(bell->seen, 0, 32);
  uint8_t bytes[64];
  while (!eof) {
    ssize_t count = recv(bell->fd, bytes, sizeof bytes, MSG_DONTWAIT);
    if (count > 0) {
      any = 1;
      for (ssize_t i = 0; i < count; i++) bell->seen[bytes[i] >> 5] |= 1u << (bytes[i] & 31);
      /* A short read took every byte queued (a stream socket's recv returns what there is): no
         second read to see EAGAIN (issue 11). The watcher is level-triggered: more later wakes it again. */
      if ((size_t)count < sizeof bytes) break;
      continue;
    }
    if (count == 0) eof = 1;
    else if (errno == EINTR) continue;
    else if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    else eof = 1;
  }
  if (!any && !eof) return;
  napi_env env = bell->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value callback, global, argv[1], result;
  napi_get_reference_value(env, bell->callback, &callback);
  napi_get_global(env, &global);
  napi_get_boolean(env, eof, &argv[0]);
  if (eof) uv_poll_stop(&bell->poll); /* no more events; the release follows the call */
  /* make_callback: process.nextTick and promise jobs run after it, as after a stream event */
  bell->in_callback = 1;
  napi_status status_of_call = napi_make_callback(env, bell->context, global, callback, 1, argv, &result);
  bell->in_callback = 0;
  if (status_of_call == napi_pending_exception) {
    /* The callback threw: hand it to Node's uncaught-exception handling, as a stream listener's would be. */
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
  if (eof) shut(bell);
  if (bell->release_pending) {
    bell->release_pending = 0;
    release(bell);
  }
  napi_close_handle_scope(env, scope);
}

/* open(fd, seen: Uint32Array(8), onKick(eof: boolean)): handle. Watches a dup of fd; the original stays the caller's. */
static napi_value open_bell(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return fail(env, "EINVAL", "open(fd, seen, onKick) needs three arguments");
  int32_t fd = -1;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return fail(env, "EINVAL", "fd must be a descriptor");
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint32_array || length < 8)
    return fail(env, "EINVAL", "seen must be a Uint32Array of 8");
  doorbell_t *bell = calloc(1, sizeof *bell);
  if (!bell) return fail(env, "ENOMEM", "no memory for the doorbell");
  bell->env = env;
  bell->seen = (uint32_t *)data;
  bell->fd = dup(fd);
  if (bell->fd < 0) {
    free(bell);
    return fail(env, "EIO", strerror(errno));
  }
  uv_loop_t *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  if (uv_poll_init(loop, &bell->poll, bell->fd) != 0) {
    close(bell->fd);
    free(bell);
    return fail(env, "EIO", "uv_poll_init failed on the doorbell socket");
  }
  bell->poll.data = bell;
  napi_create_reference(env, argv[2], 1, &bell->callback);
  napi_create_reference(env, argv[1], 1, &bell->seen_ref);
  napi_value name;
  napi_create_string_utf8(env, "xs-rpmsg:doorbell", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &bell->context);
  bell->polling = 1;
  uv_poll_start(&bell->poll, UV_READABLE | UV_DISCONNECT, readable_cb);
  napi_value handle;
  napi_create_external(env, bell, finalize, NULL, &handle);
  return handle;
}

static doorbell_t *bell_of(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok) return NULL;
  return (doorbell_t *)data;
}

/* kick(handle, byte): 1 when sent, 0 when the socket is full (the caller falls back), -errno when it failed. */
static napi_value kick(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  doorbell_t *bell = argc > 0 ? bell_of(env, argv[0]) : NULL;
  int32_t value = 0;
  if (argc > 1) napi_get_value_int32(env, argv[1], &value);
  int32_t outcome;
  if (!bell || !bell->polling) outcome = -EPIPE;
  else {
    uint8_t byte = (uint8_t)value;
    for (;;) {
      ssize_t written = send(bell->fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (written == 1) { outcome = 1; break; }
      if (written < 0 && errno == EINTR) continue;
      outcome = (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ? 0 : -(errno ? errno : EIO);
      break;
    }
  }
  napi_value result;
  napi_create_int32(env, outcome, &result);
  return result;
}

/* close(handle): stop watching (idempotent). */
static napi_value close_bell(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  doorbell_t *bell = argc > 0 ? bell_of(env, argv[0]) : NULL;
  if (bell) shut(bell);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
    { "open", NULL, open_bell, NULL, NULL, NULL, napi_default, NULL },
    { "kick", NULL, kick, NULL, NULL, NULL, napi_default, NULL },
    { "close", NULL, close_bell, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, 3, properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
