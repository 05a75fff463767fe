/*
 * netstack_tap: a Linux TAP device for netstack, as a small Node-API addon.
 *
 * open(name, vnetHdrSize)        -> { fd, name }: /dev/net/tun, TUNSETIFF with
 *                                   IFF_TAP | IFF_NO_PI (| IFF_VNET_HDR), then
 *                                   TUNSETVNETHDRSZ (Documentation/networking/tuntap.rst).
 * setOffload(fd, flags)          -> TUNSETOFFLOAD (TUN_F_CSUM, TUN_F_TSO4, ...).
 * setUp(name, up)                -> SIOCGIFFLAGS / SIOCSIFFLAGS (IFF_UP).
 * start(fd, readBuffer, lengths, status, onFrames, onWritable, onError, maxFrames)
 *                                -> handle: polls the fd with libuv (uv_poll on the
 *                                   loop of napi_get_uv_event_loop). When readable it
 *                                   reads frames back to back into readBuffer until
 *                                   EAGAIN, maxFrames, or too little room for one more,
 *                                   records their lengths, and calls onFrames(count)
 *                                   once per batch. No thread, no copy into JS.
 * write(handle, headers, frames, count, headerSize)
 *                                -> frames consumed: writes frame i as writev(header i,
 *                                   frame i) until EAGAIN, then polls for writable and
 *                                   calls onWritable() when the fd can take more. A
 *                                   frame the kernel refuses (not EAGAIN) is consumed
 *                                   and counted in status[0], its errno in status[1].
 * close(handle)                  -> stops polling and closes the fd.
 *
 * Errors are thrown as Error objects with `code` (e.g. "EPERM") and `errno`.
 */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* The largest frame the kernel hands over: a 64 KiB super-packet, its link header and the vnet header. */
#define MAX_READ (65536 + 256)

typedef struct {
  napi_env env;
  int fd;
  int closed;
  int failed;
  int want_writable;
  uv_poll_t poll;
  uint8_t* read_buffer;
  size_t read_capacity;
  uint32_t* lengths;
  size_t max_frames;
  int32_t* status;
  napi_ref read_buffer_ref;
  napi_ref lengths_ref;
  napi_ref status_ref;
  napi_ref on_frames;
  napi_ref on_writable;
  napi_ref on_error;
  napi_async_context async_context;
} tap_handle;

static const char* errno_code(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case ENODEV: return "ENODEV";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case EBADFD: return "EBADFD";
    case EIO: return "EIO";
    case ENOMEM: return "ENOMEM";
    case ENOBUFS: return "ENOBUFS";
    case EEXIST: return "EEXIST";
    case EFAULT: return "EFAULT";
    case EMSGSIZE: return "EMSGSIZE";
    case ENXIO: return "ENXIO";
    default: return "EUNKNOWN";
  }
}

/* Throws an Error whose message names the call, with `code` and `errno`. */
static napi_value throw_errno(napi_env env, const char* what, int e) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(e));
  napi_value msg, code, err, num;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, errno_code(e), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &err);
  napi_set_named_property(env, err, "code", code);
  napi_create_int32(env, e, &num);
  napi_set_named_property(env, err, "errno", num);
  napi_throw(env, err);
  return NULL;
}

static napi_value throw_type(napi_env env, const char* message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

#define CHECK(call) \
  do { \
    if ((call) != napi_ok) return throw_type(env, "netstack_tap: bad arguments to " #call); \
  } while (0)

static napi_value open_tap(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return throw_type(env, "open(name, vnetHdrSize)");
  char name[IFNAMSIZ];
  size_t len = 0;
  CHECK(napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len));
  int32_t vnet = 0;
  CHECK(napi_get_value_int32(env, argv[1], &vnet));

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, "open /dev/net/tun", errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet > 0 ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, len < IFNAMSIZ ? len : IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "TUNSETIFF", e);
  }
  if (vnet > 0 && ioctl(fd, TUNSETVNETHDRSZ, &vnet) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "TUNSETVNETHDRSZ", e);
  }
  napi_value result, jfd, jname;
  napi_create_object(env, &result);
  napi_create_int32(env, fd, &jfd);
  napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &jname);
  napi_set_named_property(env, result, "fd", jfd);
  napi_set_named_property(env, result, "name", jname);
  return result;
}

static napi_value set_offload(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  uint32_t flags = 0;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_uint32(env, argv[1], &flags));
  if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) < 0) return throw_errno(env, "TUNSETOFFLOAD", errno);
  return NULL;
}

static napi_value set_up(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ];
  size_t len = 0;
  bool up = false;
  CHECK(napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len));
  CHECK(napi_get_value_bool(env, argv[1], &up));
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return throw_errno(env, "socket", errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, len < IFNAMSIZ ? len : IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
    int e = errno;
    close(s);
    return throw_errno(env, "SIOCGIFFLAGS", e);
  }
  if (up) ifr.ifr_flags |= IFF_UP;
  else ifr.ifr_flags &= ~IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
    int e = errno;
    close(s);
    return throw_errno(env, "SIOCSIFFLAGS", e);
  }
  close(s);
  return NULL;
}

/* Calls `fn` as Node calls I/O callbacks (async context, then microtasks and nextTicks). */
static void call_js(tap_handle* h, napi_ref fn, size_t argc, napi_value* argv) {
  napi_env env = h->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, recv, result;
  if (napi_get_reference_value(env, fn, &callback) == napi_ok && callback != NULL) {
    napi_get_global(env, &recv); /* napi_make_callback needs an object receiver */
    if (napi_make_callback(env, h->async_context, recv, callback, argc, argv, &result) == napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void report_error(tap_handle* h, const char* what, int e) {
  napi_env env = h->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[2];
  napi_create_string_utf8(env, errno_code(e), NAPI_AUTO_LENGTH, &argv[0]);
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(e));
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &argv[1]);
  call_js(h, h->on_error, 2, argv);
  napi_close_handle_scope(env, scope);
}

static void poll_events(tap_handle* h) {
  if (h->failed || h->closed) return; /* a failed poll stays stopped: the error was reported once */
  int events = UV_READABLE | (h->want_writable ? UV_WRITABLE : 0);
  uv_poll_start(&h->poll, events, NULL);
}

/*
 * Reads frames back to back into the shared buffer until EAGAIN, maxFrames, or
 * too little room for one more, then calls onFrames(count) once. The poll is
 * level-triggered, so frames left behind by a full batch wake it again on the
 * next loop iteration, after other work had its turn.
 */
static void read_batch(tap_handle* h) {
  size_t count = 0;
  size_t used = 0;
  while (count < h->max_frames && h->read_capacity - used >= MAX_READ) {
    ssize_t n = read(h->fd, h->read_buffer + used, MAX_READ);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      int e = errno;
      if (count > 0) break; /* deliver what was read; the error comes back on the next read */
      h->failed = 1;
      uv_poll_stop(&h->poll);
      report_error(h, "read", e);
      return;
    }
    if (n == 0) break;
    h->lengths[count++] = (uint32_t)n;
    used += (size_t)n;
  }
  if (count == 0) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(h->env, &scope) != napi_ok) return;
  napi_value argv[1];
  napi_create_uint32(h->env, (uint32_t)count, &argv[0]);
  call_js(h, h->on_frames, 1, argv);
  napi_close_handle_scope(h->env, scope);
}

static void on_poll(uv_poll_t* poll, int status, int events) {
  tap_handle* h = (tap_handle*)poll->data;
  if (h == NULL || h->closed) return;
  if (status < 0) {
    h->failed = 1;
    uv_poll_stop(&h->poll);
    report_error(h, "poll", -status);
    return;
  }
  if (events & UV_WRITABLE) {
    h->want_writable = 0;
    poll_events(h);
    call_js(h, h->on_writable, 0, NULL);
    if (h->closed) return;
  }
  if (events & UV_READABLE) read_batch(h);
}

static void free_handle(uv_handle_t* handle) {
  tap_handle* h = (tap_handle*)handle->data;
  free(h);
}

static void release_refs(tap_handle* h) {
  napi_env env = h->env;
  napi_delete_reference(env, h->read_buffer_ref);
  napi_delete_reference(env, h->lengths_ref);
  napi_delete_reference(env, h->status_ref);
  napi_delete_reference(env, h->on_frames);
  napi_delete_reference(env, h->on_writable);
  napi_delete_reference(env, h->on_error);
  napi_async_destroy(env, h->async_context);
}

static void close_handle(tap_handle* h) {
  if (h->closed) return;
  h->closed = 1;
  uv_poll_stop(&h->poll);
  close(h->fd);
  h->fd = -1;
  release_refs(h);
  uv_close((uv_handle_t*)&h->poll, free_handle);
}

static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8) return throw_type(env, "start(fd, readBuffer, lengths, status, onFrames, onWritable, onError, maxFrames)");
  int32_t fd = -1;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  void* read_data = NULL;
  size_t read_length = 0;
  CHECK(napi_get_arraybuffer_info(env, argv[1], &read_data, &read_length));
  napi_typedarray_type type;
  size_t lengths_count = 0;
  void* lengths_data = NULL;
  napi_value lengths_buffer;
  size_t lengths_offset = 0;
  CHECK(napi_get_typedarray_info(env, argv[2], &type, &lengths_count, &lengths_data, &lengths_buffer, &lengths_offset));
  if (type != napi_uint32_array) return throw_type(env, "lengths must be a Uint32Array");
  size_t status_count = 0;
  void* status_data = NULL;
  napi_value status_buffer;
  size_t status_offset = 0;
  CHECK(napi_get_typedarray_info(env, argv[3], &type, &status_count, &status_data, &status_buffer, &status_offset));
  if (type != napi_int32_array || status_count < 2) return throw_type(env, "status must be an Int32Array of 2");
  uint32_t max_frames = 0;
  CHECK(napi_get_value_uint32(env, argv[7], &max_frames));
  if (max_frames == 0 || max_frames > lengths_count) return throw_type(env, "maxFrames must be 1..lengths.length");
  if (read_length < MAX_READ) return throw_type(env, "readBuffer must hold at least one 64 KiB frame");

  tap_handle* h = (tap_handle*)calloc(1, sizeof(tap_handle));
  if (h == NULL) return throw_errno(env, "calloc", ENOMEM);
  h->env = env;
  h->fd = fd;
  h->read_buffer = (uint8_t*)read_data;
  h->read_capacity = read_length;
  h->lengths = (uint32_t*)lengths_data;
  h->max_frames = max_frames;
  h->status = (int32_t*)status_data;
  napi_create_reference(env, argv[1], 1, &h->read_buffer_ref);
  napi_create_reference(env, argv[2], 1, &h->lengths_ref);
  napi_create_reference(env, argv[3], 1, &h->status_ref);
  napi_create_reference(env, argv[4], 1, &h->on_frames);
  napi_create_reference(env, argv[5], 1, &h->on_writable);
  napi_create_reference(env, argv[6], 1, &h->on_error);
  napi_value resource, resource_name;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "netstack:tap", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, resource, resource_name, &h->async_context);

  struct uv_loop_s* loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == NULL) {
    release_refs(h);
    free(h);
    return throw_type(env, "no event loop");
  }
  int r = uv_poll_init(loop, &h->poll, fd);
  if (r < 0) {
    release_refs(h);
    free(h);
    return throw_errno(env, "uv_poll_init", -r);
  }
  h->poll.data = h;
  r = uv_poll_start(&h->poll, UV_READABLE, on_poll);
  if (r < 0) {
    h->closed = 1;
    release_refs(h);
    uv_close((uv_handle_t*)&h->poll, free_handle);
    return throw_errno(env, "uv_poll_start", -r);
  }
  napi_value external;
  napi_create_external(env, h, NULL, NULL, &external);
  return external;
}

static tap_handle* handle_of(napi_env env, napi_value value) {
  void* data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok) return NULL;
  return (tap_handle*)data;
}

static napi_value write_frames(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return throw_type(env, "write(handle, headers, frames, count, headerSize)");
  tap_handle* h = handle_of(env, argv[0]);
  if (h == NULL) return throw_type(env, "not a TAP handle");
  napi_value zero;
  napi_create_uint32(env, 0, &zero);
  if (h->closed) return zero;
  void* headers = NULL;
  size_t headers_length = 0;
  napi_typedarray_type type;
  napi_value ignored;
  size_t offset = 0;
  CHECK(napi_get_typedarray_info(env, argv[1], &type, &headers_length, &headers, &ignored, &offset));
  if (type != napi_uint8_array) return throw_type(env, "headers must be a Uint8Array");
  uint32_t count = 0;
  uint32_t header_size = 0;
  CHECK(napi_get_value_uint32(env, argv[3], &count));
  CHECK(napi_get_value_uint32(env, argv[4], &header_size));
  if ((size_t)count * header_size > headers_length) return throw_type(env, "headers too short for count");
  uint32_t consumed = 0;
  for (; consumed < count; consumed++) {
    napi_value element;
    CHECK(napi_get_element(env, argv[2], consumed, &element));
    void* frame = NULL;
    size_t frame_length = 0;
    CHECK(napi_get_typedarray_info(env, element, &type, &frame_length, &frame, &ignored, &offset));
    struct iovec iov[2];
    iov[0].iov_base = (uint8_t*)headers + (size_t)consumed * header_size;
    iov[0].iov_len = header_size;
    iov[1].iov_base = frame;
    iov[1].iov_len = frame_length;
    ssize_t n;
    do {
      n = writev(h->fd, header_size > 0 ? iov : iov + 1, header_size > 0 ? 2 : 1);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        h->want_writable = 1;
        poll_events(h);
        break;
      }
      h->status[0]++;
      h->status[1] = errno;
    }
  }
  napi_value result;
  napi_create_uint32(env, consumed, &result);
  return result;
}

static napi_value close_tap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tap_handle* h = handle_of(env, argv[0]);
  if (h == NULL) return throw_type(env, "not a TAP handle");
  close_handle(h);
  return NULL;
}

/* Closes an fd from `open` that was never started (setup failed half way). */
static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (fd >= 0) close(fd);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"open", NULL, open_tap, NULL, NULL, NULL, napi_default, NULL},
    {"setOffload", NULL, set_offload, NULL, NULL, NULL, napi_default, NULL},
    {"setUp", NULL, set_up, NULL, NULL, NULL, napi_default, NULL},
    {"start", NULL, start, NULL, NULL, NULL, napi_default, NULL},
    {"write", NULL, write_frames, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, close_tap, NULL, NULL, NULL, napi_default, NULL},
    {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
