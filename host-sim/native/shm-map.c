/* Maps a shared-memory file into an ArrayBuffer for the host simulator (zero copy, coherent
 * with QEMU's or the posix remote's mapping of the same file). N-API, no dependencies. */
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void unmap(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

static napi_value fail(napi_env env, const char *code, const char *message) {
  napi_throw_error(env, code, message);
  return NULL;
}

/* map(path: string, size: number, create: boolean): ArrayBuffer */
static napi_value map_file(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char path[4096];
  size_t path_length = 0;
  double size_number = 0;
  bool create = false;
  char message[4300];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return fail(env, "EINVAL", "map(path, size, create) needs a path and a size");
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &path_length) != napi_ok) return fail(env, "EINVAL", "path must be a string");
  if (napi_get_value_double(env, argv[1], &size_number) != napi_ok || size_number <= 0) return fail(env, "EINVAL", "size must be a positive number");
  if (argc > 2) napi_get_value_bool(env, argv[2], &create);
  size_t size = (size_t)size_number;
  int fd = open(path, O_RDWR | (create ? O_CREAT : 0), 0600);
  if (fd < 0) {
    snprintf(message, sizeof message, "cannot open %s: %s", path, strerror(errno));
    return fail(env, errno == ENOENT ? "ENOENT" : "EIO", message);
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && (size_t)st.st_size < size) {
    if (!create || ftruncate(fd, (off_t)size) != 0) {
      snprintf(message, sizeof message, "%s is %lld bytes, smaller than the %zu bytes to map", path, (long long)st.st_size, size);
      close(fd);
      return fail(env, "EINVAL", message);
    }
  }
  void *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (memory == MAP_FAILED) {
    snprintf(message, sizeof message, "cannot map %s: %s", path, strerror(errno));
    return fail(env, "EIO", message);
  }
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, memory, size, unmap, (void *)(uintptr_t)size, &buffer) != napi_ok) {
    munmap(memory, size);
    return fail(env, "ENOMEM", "cannot create an ArrayBuffer over the mapping");
  }
  return buffer;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value function;
  napi_create_function(env, "map", NAPI_AUTO_LENGTH, map_file, NULL, &function);
  napi_set_named_property(env, exports, "map", function);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
