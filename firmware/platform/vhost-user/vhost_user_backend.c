/*
 * vhost-user backend for one virtio-rpmsg device (see vhost_user_backend.h). Message set and
 * layouts follow the vhost-user protocol as UML 6.1 speaks it (arch/um/drivers/vhost_user.h,
 * virtio_uml.c); docs/LINUX.md lists what UML sends and in which order.
 */
#define _GNU_SOURCE
#include "vhost_user_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* Request codes (frontend -> backend), enum vhost_user_request. */
enum {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SET_SLAVE_REQ_FD = 21,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
};

/* Header flags: version in bits 0..1, REPLY = bit 2, NEED_REPLY = bit 3. */
#define VHOST_USER_VERSION 1u
#define VHOST_USER_VERSION_MASK 3u
#define VHOST_USER_FLAG_REPLY (1u << 2)
#define VHOST_USER_FLAG_NEED_REPLY (1u << 3)

/* Protocol features offered: REPLY_ACK (3) and SLAVE_REQ (5). Not INBAND_NOTIFICATIONS (14):
   with it UML stops using per-vring call fds. Without SLAVE_REQ UML 6.1 leaves the device
   irq at 0, which collides with the timer irq and the probe fails with -EBUSY. */
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3
#define VHOST_USER_PROTOCOL_F_SLAVE_REQ 5
#define OFFERED_PROTOCOL_FEATURES \
	((1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | (1ull << VHOST_USER_PROTOCOL_F_SLAVE_REQ))

/* Payload of SET_VRING_KICK/CALL/ERR: vring index in bits 0..7, bit 8 = no fd attached. */
#define VRING_FD_INDEX_MASK 0xffull
#define VRING_FD_NO_FD (1ull << 8)

#define MAX_REGIONS 8
#define MAX_FDS 8
#define MAX_PAYLOAD 4096
#define MAX_VRING_NUM 32768u

/* struct vhost_user_header */
typedef struct __attribute__((packed)) {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} message_header;

/* struct vhost_user_vring_state */
typedef struct __attribute__((packed)) {
	uint32_t index;
	uint32_t num;
} vring_state;

/* struct vhost_user_vring_addr */
typedef struct __attribute__((packed)) {
	uint32_t index;
	uint32_t flags;
	uint64_t desc, used, avail, log;
} vring_addresses;

/* struct vhost_user_mem_region */
typedef struct __attribute__((packed)) {
	uint64_t guest_addr;
	uint64_t size;
	uint64_t user_addr;
	uint64_t mmap_offset;
} memory_region_message;

/* struct vhost_user_config (header of its payload) */
typedef struct __attribute__((packed)) {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
} config_header;

/* struct vhost_user_msg: packed, so the payload follows the 12-byte header directly. */
typedef struct __attribute__((packed)) {
	message_header header;
	union __attribute__((packed)) {
		uint64_t integer;
		vring_state state;
		vring_addresses addresses;
		uint8_t bytes[MAX_PAYLOAD];
	} payload;
} message;

/** One region of the frontend's memory, mapped here. */
typedef struct {
	uint64_t guest_addr;
	uint64_t user_addr;
	uint64_t size;
	uint8_t *mapping;     /* what mmap returned (page aligned) */
	size_t mapping_size;
	uint8_t *start;       /* byte at guest_addr */
} memory_region;

/* A range that held frontend memory, now anonymous zero pages (see unmap_memory). */
typedef struct {
	void *mapping;
	size_t size;
} retired_range;

#define RETIRED_KEEP 16

typedef struct {
	unsigned num;
	unsigned base;
	int has_addresses;
	uint64_t desc, avail, used; /* GPAs */
	int kick_fd, call_fd, err_fd;
	int enabled;
} vring_setup;

struct vhost_user_backend {
	vhost_user_callbacks callbacks;
	uint64_t offered_features; /* GET_FEATURES answer (VHOST_USER_RPMSG_FEATURES unless set) */
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	int connection_fd;
	int slave_request_fd; /* held open: closing it makes UML drop the device */
	uint64_t acked_features;
	uint64_t protocol_features;
	unsigned region_count;
	memory_region regions[MAX_REGIONS];
	vring_setup vrings[VHOST_USER_RPMSG_VRINGS];
	retired_range retired[RETIRED_KEEP];
	unsigned retired_next;
	int live;
	int trace; /* XSR_VHOST_USER_TRACE=1: log every request */
	vhost_user_device device;
};

static void say(vhost_user_backend *backend, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

static void say(vhost_user_backend *backend, const char *format, ...)
{
	char line[512];
	va_list arguments;

	va_start(arguments, format);
	vsnprintf(line, sizeof(line), format, arguments);
	va_end(arguments);
	if (backend->callbacks.on_log)
		backend->callbacks.on_log(backend->callbacks.context, line);
	else
		fprintf(stderr, "vhost-user: %s\n", line);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static const char *request_name(uint32_t request)
{
	switch (request) {
	case VHOST_USER_GET_FEATURES: return "GET_FEATURES";
	case VHOST_USER_SET_FEATURES: return "SET_FEATURES";
	case VHOST_USER_SET_OWNER: return "SET_OWNER";
	case VHOST_USER_RESET_OWNER: return "RESET_OWNER";
	case VHOST_USER_SET_MEM_TABLE: return "SET_MEM_TABLE";
	case VHOST_USER_SET_LOG_BASE: return "SET_LOG_BASE";
	case VHOST_USER_SET_LOG_FD: return "SET_LOG_FD";
	case VHOST_USER_SET_VRING_NUM: return "SET_VRING_NUM";
	case VHOST_USER_SET_VRING_ADDR: return "SET_VRING_ADDR";
	case VHOST_USER_SET_VRING_BASE: return "SET_VRING_BASE";
	case VHOST_USER_GET_VRING_BASE: return "GET_VRING_BASE";
	case VHOST_USER_SET_VRING_KICK: return "SET_VRING_KICK";
	case VHOST_USER_SET_VRING_CALL: return "SET_VRING_CALL";
	case VHOST_USER_SET_VRING_ERR: return "SET_VRING_ERR";
	case VHOST_USER_GET_PROTOCOL_FEATURES: return "GET_PROTOCOL_FEATURES";
	case VHOST_USER_SET_PROTOCOL_FEATURES: return "SET_PROTOCOL_FEATURES";
	case VHOST_USER_GET_QUEUE_NUM: return "GET_QUEUE_NUM";
	case VHOST_USER_SET_VRING_ENABLE: return "SET_VRING_ENABLE";
	case VHOST_USER_SET_SLAVE_REQ_FD: return "SET_SLAVE_REQ_FD";
	case VHOST_USER_GET_CONFIG: return "GET_CONFIG";
	case VHOST_USER_SET_CONFIG: return "SET_CONFIG";
	default: return "unknown";
	}
}

/* ---- memory ------------------------------------------------------------------------------ */

/*
 * Drops the frontend's memory. The runtime may still hold a view of it for a moment (the
 * reset reaches JS through the event loop), so each range is first replaced by anonymous
 * zero pages: a late access reads zeros instead of faulting. Those stand-ins are unmapped
 * only after RETIRED_KEEP further resets, or at destroy.
 */
static void unmap_memory(vhost_user_backend *backend)
{
	unsigned i;

	for (i = 0; i < backend->region_count; i++) {
		memory_region *region = &backend->regions[i];
		retired_range *slot = &backend->retired[backend->retired_next];

		if (slot->mapping)
			munmap(slot->mapping, slot->size);
		if (mmap(region->mapping, region->mapping_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED) {
			munmap(region->mapping, region->mapping_size);
			slot->mapping = NULL;
		} else {
			slot->mapping = region->mapping;
			slot->size = region->mapping_size;
		}
		backend->retired_next = (backend->retired_next + 1) % RETIRED_KEEP;
	}
	backend->region_count = 0;
}

static void release_retired(vhost_user_backend *backend)
{
	unsigned i;

	for (i = 0; i < RETIRED_KEEP; i++) {
		if (backend->retired[i].mapping)
			munmap(backend->retired[i].mapping, backend->retired[i].size);
		backend->retired[i].mapping = NULL;
	}
}

static const memory_region *region_of_guest_range(const vhost_user_backend *backend,
						  uint64_t address, uint64_t length)
{
	unsigned i;

	for (i = 0; i < backend->region_count; i++) {
		const memory_region *region = &backend->regions[i];

		if (address >= region->guest_addr && length <= region->size &&
		    address - region->guest_addr <= region->size - length)
			return region;
	}
	return NULL;
}

void *vhost_user_backend_translate(const vhost_user_backend *backend, uint64_t address, uint64_t length)
{
	const memory_region *region = region_of_guest_range(backend, address, length);

	return region ? region->start + (address - region->guest_addr) : NULL;
}

/* Ring addresses arrive as frontend user addresses; UML passes user_addr == guest_addr. */
static int user_to_guest(const vhost_user_backend *backend, uint64_t user_address, uint64_t *guest)
{
	unsigned i;

	for (i = 0; i < backend->region_count; i++) {
		const memory_region *region = &backend->regions[i];

		if (user_address >= region->user_addr && user_address - region->user_addr < region->size) {
			*guest = region->guest_addr + (user_address - region->user_addr);
			return 0;
		}
	}
	return -1;
}

/* ---- device state ------------------------------------------------------------------------ */

static void go_down(vhost_user_backend *backend, const char *reason)
{
	if (!backend->live)
		return;
	backend->live = 0;
	say(backend, "device reset: %s", reason);
	if (backend->callbacks.on_reset)
		backend->callbacks.on_reset(backend->callbacks.context, reason);
}

static void forget_vrings(vhost_user_backend *backend)
{
	unsigned i;

	for (i = 0; i < VHOST_USER_RPMSG_VRINGS; i++) {
		vring_setup *vring = &backend->vrings[i];

		close_fd(&vring->kick_fd);
		close_fd(&vring->call_fd);
		close_fd(&vring->err_fd);
		memset(vring, 0, sizeof(*vring));
		vring->kick_fd = vring->call_fd = vring->err_fd = -1;
	}
}

/* Bytes a split vring's parts span (WIRE.md "Virtqueues"), event fields included. */
static uint64_t desc_bytes(unsigned num) { return 16ull * num; }
static uint64_t avail_bytes(unsigned num) { return 6ull + 2ull * num; }
static uint64_t used_bytes(unsigned num) { return 6ull + 8ull * num; }

/* Everything the device needs is in place (the frontend's first kick then makes it live). */
static int armed(const vhost_user_backend *backend)
{
	unsigned i;

	if (backend->region_count == 0)
		return 0;
	for (i = 0; i < VHOST_USER_RPMSG_VRINGS; i++) {
		const vring_setup *vring = &backend->vrings[i];

		if (!vring->num || !vring->has_addresses || vring->kick_fd < 0 || vring->call_fd < 0 ||
		    !vring->enabled)
			return 0;
	}
	return 1;
}

/* Builds the device description: one region must hold every vring part. */
static int describe_device(vhost_user_backend *backend)
{
	const memory_region *region = region_of_guest_range(backend, backend->vrings[0].desc, 1);
	vhost_user_device *device = &backend->device;
	unsigned i;

	if (!region) {
		say(backend, "EFAULT: vring 0 descriptors at GPA 0x%llx lie in no shared region",
		    (unsigned long long)backend->vrings[0].desc);
		return -1;
	}
	for (i = 0; i < VHOST_USER_RPMSG_VRINGS; i++) {
		const vring_setup *vring = &backend->vrings[i];

		if (region_of_guest_range(backend, vring->desc, desc_bytes(vring->num)) != region ||
		    region_of_guest_range(backend, vring->avail, avail_bytes(vring->num)) != region ||
		    region_of_guest_range(backend, vring->used, used_bytes(vring->num)) != region) {
			say(backend, "EFAULT: vring %u (desc 0x%llx avail 0x%llx used 0x%llx, num %u) is not "
				     "inside the one shared region 0x%llx+0x%llx the runtime can be given",
			    i, (unsigned long long)vring->desc, (unsigned long long)vring->avail,
			    (unsigned long long)vring->used, vring->num,
			    (unsigned long long)region->guest_addr, (unsigned long long)region->size);
			return -1;
		}
		device->vrings[i].index = i;
		device->vrings[i].num = vring->num;
		device->vrings[i].desc = vring->desc;
		device->vrings[i].avail = vring->avail;
		device->vrings[i].used = vring->used;
		device->vrings[i].base = vring->base;
	}
	if (backend->region_count > 1)
		say(backend, "frontend shared %u regions; the runtime sees only the one holding the vrings "
			     "(GPA 0x%llx+0x%llx): descriptors outside it will be refused",
		    backend->region_count, (unsigned long long)region->guest_addr,
		    (unsigned long long)region->size);
	device->features = backend->acked_features;
	device->memory = region->start;
	device->memory_size = region->size;
	device->memory_base = region->guest_addr;
	device->vring_count = VHOST_USER_RPMSG_VRINGS;
	return 0;
}

static void go_live(vhost_user_backend *backend)
{
	if (describe_device(backend) < 0)
		return;
	backend->live = 1;
	say(backend, "device live: features 0x%llx, memory GPA 0x%llx+0x%llx", (unsigned long long)backend->device.features,
	    (unsigned long long)backend->device.memory_base, (unsigned long long)backend->device.memory_size);
	for (unsigned i = 0; i < VHOST_USER_RPMSG_VRINGS; i++)
		say(backend, "vring %u: num %u desc 0x%llx avail 0x%llx used 0x%llx base %u", i, backend->device.vrings[i].num,
		    (unsigned long long)backend->device.vrings[i].desc, (unsigned long long)backend->device.vrings[i].avail,
		    (unsigned long long)backend->device.vrings[i].used, backend->device.vrings[i].base);
	if (backend->callbacks.on_ready)
		backend->callbacks.on_ready(backend->callbacks.context, &backend->device);
}

static void disconnect(vhost_user_backend *backend, const char *reason)
{
	go_down(backend, reason);
	say(backend, "frontend disconnected (%s); listening again", reason);
	forget_vrings(backend);
	unmap_memory(backend);
	close_fd(&backend->slave_request_fd);
	close_fd(&backend->connection_fd);
	backend->acked_features = 0;
	backend->protocol_features = 0;
}

/* ---- socket I/O -------------------------------------------------------------------------- */

static int read_fully(int fd, void *buffer, size_t length)
{
	uint8_t *bytes = buffer;

	while (length) {
		ssize_t n = read(fd, bytes, length);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		bytes += n;
		length -= (size_t)n;
	}
	return 0;
}

/* Reads one message; fds attached to it land in fds[] (count in *fd_count). 0 ok, -1 EOF/error. */
static int receive_message(vhost_user_backend *backend, message *msg, int *fds, int *fd_count)
{
	char control[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	struct iovec iov = { .iov_base = &msg->header, .iov_len = sizeof(msg->header) };
	struct msghdr header = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg;
	ssize_t n;

	*fd_count = 0;
	do {
		n = recvmsg(backend->connection_fd, &header, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	for (cmsg = CMSG_FIRSTHDR(&header); cmsg; cmsg = CMSG_NXTHDR(&header, cmsg)) {
		if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
			int count = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			memcpy(fds + *fd_count, CMSG_DATA(cmsg), sizeof(int) * (size_t)count);
			*fd_count += count;
		}
	}
	if (n < (ssize_t)sizeof(msg->header) &&
	    read_fully(backend->connection_fd, (uint8_t *)&msg->header + n, sizeof(msg->header) - (size_t)n))
		return -1;
	if (msg->header.size > MAX_PAYLOAD) {
		say(backend, "EPROTO: %s carries %u payload bytes, more than %u", request_name(msg->header.request),
		    msg->header.size, MAX_PAYLOAD);
		return -1;
	}
	return read_fully(backend->connection_fd, &msg->payload, msg->header.size);
}

static int send_reply(vhost_user_backend *backend, const message *request, const void *payload, uint32_t size)
{
	message reply;
	size_t total = sizeof(reply.header) + size;
	const uint8_t *bytes = (const uint8_t *)&reply;

	reply.header.request = request->header.request;
	reply.header.flags = VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY;
	reply.header.size = size;
	memcpy(&reply.payload, payload, size);
	while (total) {
		ssize_t n = send(backend->connection_fd, bytes, total, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		bytes += n;
		total -= (size_t)n;
	}
	return 0;
}

static int send_u64(vhost_user_backend *backend, const message *request, uint64_t value)
{
	return send_reply(backend, request, &value, sizeof(value));
}

/* ---- message handlers -------------------------------------------------------------------- */

/* Takes the single fd a message must carry; -1 (and an error) if it carries none. */
static int take_fd(int *fds, int *fd_count)
{
	int fd;

	if (*fd_count < 1)
		return -1;
	fd = fds[0];
	memmove(fds, fds + 1, sizeof(int) * (size_t)(*fd_count - 1));
	(*fd_count)--;
	return fd;
}

static int set_mem_table(vhost_user_backend *backend, const message *msg, int *fds, int *fd_count)
{
	uint32_t count;
	const memory_region_message *regions;
	long page = sysconf(_SC_PAGESIZE);
	unsigned i;

	if (msg->header.size < 8) {
		say(backend, "EPROTO: SET_MEM_TABLE too short (%u bytes)", msg->header.size);
		return -1;
	}
	memcpy(&count, msg->payload.bytes, sizeof(count));
	if (count == 0 || count > MAX_REGIONS || msg->header.size < 8 + count * sizeof(memory_region_message) ||
	    (int)count != *fd_count) {
		say(backend, "EPROTO: SET_MEM_TABLE with %u regions, %u bytes and %d fds", count, msg->header.size,
		    *fd_count);
		return -1;
	}
	go_down(backend, "memory table replaced");
	unmap_memory(backend);
	regions = (const memory_region_message *)(msg->payload.bytes + 8);
	for (i = 0; i < count; i++) {
		memory_region_message region;
		memory_region *mapped = &backend->regions[i];
		uint64_t aligned, slack;
		void *mapping;
		int fd = take_fd(fds, fd_count);

		memcpy(&region, &regions[i], sizeof(region));
		aligned = region.mmap_offset & ~(uint64_t)(page - 1);
		slack = region.mmap_offset - aligned;
		if (region.size == 0 || region.size > (uint64_t)SIZE_MAX - slack) {
			say(backend, "EINVAL: SET_MEM_TABLE region %u has size 0x%llx", i, (unsigned long long)region.size);
			close(fd);
			return -1;
		}
		mapping = mmap(NULL, region.size + slack, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)aligned);
		close(fd);
		if (mapping == MAP_FAILED) {
			say(backend, "ENOMEM: mmap of region %u (0x%llx bytes at file offset 0x%llx) failed: %s", i,
			    (unsigned long long)region.size, (unsigned long long)region.mmap_offset, strerror(errno));
			return -1;
		}
		mapped->guest_addr = region.guest_addr;
		mapped->user_addr = region.user_addr;
		mapped->size = region.size;
		mapped->mapping = mapping;
		mapped->mapping_size = region.size + slack;
		mapped->start = (uint8_t *)mapping + slack;
		backend->region_count = i + 1;
		say(backend, "memory region %u: GPA 0x%llx size 0x%llx (%llu MiB) user 0x%llx file offset 0x%llx", i,
		    (unsigned long long)region.guest_addr, (unsigned long long)region.size,
		    (unsigned long long)(region.size >> 20), (unsigned long long)region.user_addr,
		    (unsigned long long)region.mmap_offset);
	}
	return 0;
}

static vring_setup *vring_at(vhost_user_backend *backend, uint64_t index, const char *request)
{
	if (index >= VHOST_USER_RPMSG_VRINGS) {
		say(backend, "EINVAL: %s for vring %llu; virtio-rpmsg has vrings 0 and 1", request,
		    (unsigned long long)index);
		return NULL;
	}
	return &backend->vrings[index];
}

static int set_vring_addresses(vhost_user_backend *backend, const message *msg)
{
	vring_addresses addresses;
	vring_setup *vring;

	if (msg->header.size < sizeof(addresses))
		return -1;
	memcpy(&addresses, &msg->payload, sizeof(addresses));
	vring = vring_at(backend, addresses.index, "SET_VRING_ADDR");
	if (!vring)
		return -1;
	if (!vring->num) {
		say(backend, "EINVAL: SET_VRING_ADDR for vring %u before SET_VRING_NUM", addresses.index);
		return -1;
	}
	if (user_to_guest(backend, addresses.desc, &vring->desc) ||
	    user_to_guest(backend, addresses.avail, &vring->avail) ||
	    user_to_guest(backend, addresses.used, &vring->used) ||
	    !vhost_user_backend_translate(backend, vring->desc, desc_bytes(vring->num)) ||
	    !vhost_user_backend_translate(backend, vring->avail, avail_bytes(vring->num)) ||
	    !vhost_user_backend_translate(backend, vring->used, used_bytes(vring->num))) {
		say(backend, "EFAULT: vring %u addresses (desc 0x%llx avail 0x%llx used 0x%llx, num %u) fall "
			     "outside the memory table; refused",
		    addresses.index, (unsigned long long)addresses.desc, (unsigned long long)addresses.avail,
		    (unsigned long long)addresses.used, vring->num);
		vring->has_addresses = 0;
		return -1;
	}
	vring->has_addresses = 1;
	return 0;
}

static int set_vring_fd(vhost_user_backend *backend, const message *msg, int *fds, int *fd_count)
{
	const char *name = request_name(msg->header.request);
	vring_setup *vring;
	int *slot;
	int fd = -1;

	if (msg->header.size < sizeof(uint64_t))
		return -1;
	vring = vring_at(backend, msg->payload.integer & VRING_FD_INDEX_MASK, name);
	if (!vring)
		return -1;
	if (!(msg->payload.integer & VRING_FD_NO_FD)) {
		fd = take_fd(fds, fd_count);
		if (fd < 0) {
			say(backend, "EINVAL: %s without an fd", name);
			return -1;
		}
	}
	slot = msg->header.request == VHOST_USER_SET_VRING_KICK ? &vring->kick_fd
	     : msg->header.request == VHOST_USER_SET_VRING_CALL ? &vring->call_fd
							     : &vring->err_fd;
	if (slot == &vring->call_fd && fd >= 0) /* our end of UML's pipe: a full pipe must not block us */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (slot != &vring->err_fd && fd < 0)
		say(backend, "%s for vring %llu asks for polling mode (no fd); not supported", name,
		    (unsigned long long)(msg->payload.integer & VRING_FD_INDEX_MASK));
	if (slot == &vring->kick_fd)
		go_down(backend, "kick fd replaced");
	close_fd(slot);
	*slot = fd;
	return 0;
}

/* Handles one request; returns 0 ok, 1 failed but connection stays, -1 drop the connection. */
static int handle_message(vhost_user_backend *backend, message *msg, int *fds, int *fd_count)
{
	uint32_t request = msg->header.request;
	vring_setup *vring;
	int replied = 0, failed = 0;

	if ((msg->header.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION) {
		say(backend, "EPROTO: %s with version %u; only version 1 is spoken", request_name(request),
		    msg->header.flags & VHOST_USER_VERSION_MASK);
		return -1;
	}
	switch (request) {
	case VHOST_USER_GET_FEATURES:
		if (send_u64(backend, msg, backend->offered_features))
			return -1;
		replied = 1;
		break;
	case VHOST_USER_SET_FEATURES:
		backend->acked_features = msg->payload.integer;
		if (backend->acked_features & ~backend->offered_features)
			say(backend, "frontend acked features 0x%llx beyond those offered (0x%llx)",
			    (unsigned long long)backend->acked_features,
			    (unsigned long long)backend->offered_features);
		break;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		if (send_u64(backend, msg, OFFERED_PROTOCOL_FEATURES))
			return -1;
		replied = 1;
		break;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		backend->protocol_features = msg->payload.integer & OFFERED_PROTOCOL_FEATURES;
		break;
	case VHOST_USER_SET_OWNER:
		break;
	case VHOST_USER_RESET_OWNER:
		go_down(backend, "RESET_OWNER");
		forget_vrings(backend);
		break;
	case VHOST_USER_SET_MEM_TABLE:
		failed = set_mem_table(backend, msg, fds, fd_count) != 0;
		break;
	case VHOST_USER_SET_VRING_NUM:
		vring = vring_at(backend, msg->payload.state.index, "SET_VRING_NUM");
		if (!vring || msg->payload.state.num == 0 || msg->payload.state.num > MAX_VRING_NUM ||
		    (msg->payload.state.num & (msg->payload.state.num - 1))) {
			if (vring)
				say(backend, "EINVAL: vring num %u is not a power of two <= %u", msg->payload.state.num,
				    MAX_VRING_NUM);
			failed = 1;
			break;
		}
		go_down(backend, "vring resized");
		vring->num = msg->payload.state.num;
		vring->has_addresses = 0;
		break;
	case VHOST_USER_SET_VRING_ADDR:
		go_down(backend, "vring moved");
		failed = set_vring_addresses(backend, msg) != 0;
		break;
	case VHOST_USER_SET_VRING_BASE:
		vring = vring_at(backend, msg->payload.state.index, "SET_VRING_BASE");
		if (!vring) {
			failed = 1;
			break;
		}
		vring->base = msg->payload.state.num;
		break;
	case VHOST_USER_GET_VRING_BASE: {
		/* Stops the vring. The runtime owns the avail index; report the base we were given. */
		vring_state state = { msg->payload.state.index, 0 };

		vring = vring_at(backend, msg->payload.state.index, "GET_VRING_BASE");
		if (vring) {
			go_down(backend, "vring stopped (GET_VRING_BASE)");
			state.num = vring->base;
			vring->enabled = 0;
			close_fd(&vring->kick_fd);
		}
		if (send_reply(backend, msg, &state, sizeof(state)))
			return -1;
		replied = 1;
		break;
	}
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		failed = set_vring_fd(backend, msg, fds, fd_count) != 0;
		break;
	case VHOST_USER_GET_QUEUE_NUM:
		if (send_u64(backend, msg, VHOST_USER_RPMSG_VRINGS))
			return -1;
		replied = 1;
		break;
	case VHOST_USER_SET_VRING_ENABLE:
		vring = vring_at(backend, msg->payload.state.index, "SET_VRING_ENABLE");
		if (!vring) {
			failed = 1;
			break;
		}
		vring->enabled = msg->payload.state.num != 0;
		if (!vring->enabled)
			go_down(backend, "vring disabled (driver removed or device reset)");
		break;
	case VHOST_USER_SET_SLAVE_REQ_FD:
		close_fd(&backend->slave_request_fd);
		backend->slave_request_fd = take_fd(fds, fd_count);
		failed = backend->slave_request_fd < 0;
		break;
	case VHOST_USER_GET_CONFIG: {
		/* virtio-rpmsg has no config space: answer with zeros of the size asked. */
		config_header config;
		uint8_t reply[sizeof(config_header) + 256];

		memset(reply, 0, sizeof(reply));
		memcpy(&config, msg->payload.bytes, sizeof(config));
		if (msg->header.size < sizeof(config) || config.size > 256)
			config.size = 0;
		memcpy(reply, &config, sizeof(config));
		if (send_reply(backend, msg, reply, (uint32_t)sizeof(config) + config.size))
			return -1;
		replied = 1;
		break;
	}
	case VHOST_USER_SET_CONFIG:
		break;
	default:
		say(backend, "ENOSYS: request %u (%s) is not handled", request, request_name(request));
		failed = 1;
		break;
	}
	if (!replied && (msg->header.flags & VHOST_USER_FLAG_NEED_REPLY) &&
	    (backend->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK))) {
		if (send_u64(backend, msg, failed ? 1 : 0))
			return -1;
	}
	return failed;
}

static void service_connection(vhost_user_backend *backend)
{
	message msg;
	int fds[MAX_FDS];
	int fd_count = 0, i, result;

	if (receive_message(backend, &msg, fds, &fd_count)) {
		for (i = 0; i < fd_count; i++)
			close(fds[i]);
		disconnect(backend, "connection closed");
		return;
	}
	if (backend->trace)
		say(backend, "<- %s (%u) flags 0x%x size %u fds %d payload 0x%llx", request_name(msg.header.request),
		    msg.header.request, msg.header.flags, msg.header.size, fd_count,
		    msg.header.size >= 8 ? (unsigned long long)msg.payload.integer : 0ull);
	result = handle_message(backend, &msg, fds, &fd_count);
	for (i = 0; i < fd_count; i++) /* fds the request did not use */
		close(fds[i]);
	if (result < 0)
		disconnect(backend, "protocol error");
	else if (result > 0)
		say(backend, "%s refused", request_name(msg.header.request));
}

static void accept_connection(vhost_user_backend *backend)
{
	struct timeval timeout = { .tv_sec = 5 };
	int fd = accept4(backend->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	/* A frontend sends each message whole; never hang on one that stops half way. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	backend->connection_fd = fd;
	say(backend, "frontend connected");
}

/* ---- public API -------------------------------------------------------------------------- */

vhost_user_backend *vhost_user_backend_create(const char *socket_path, const vhost_user_callbacks *callbacks,
					      char *error, size_t error_size)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	vhost_user_backend *backend;
	struct stat status;

	if (strlen(socket_path) >= sizeof(address.sun_path)) {
		snprintf(error, error_size, "ENAMETOOLONG: socket path %s is longer than %zu bytes", socket_path,
			 sizeof(address.sun_path) - 1);
		return NULL;
	}
	backend = calloc(1, sizeof(*backend));
	if (!backend) {
		snprintf(error, error_size, "ENOMEM: no memory for the vhost-user backend");
		return NULL;
	}
	backend->callbacks = *callbacks;
	backend->offered_features = VHOST_USER_RPMSG_FEATURES;
	backend->trace = getenv("XSR_VHOST_USER_TRACE") && strcmp(getenv("XSR_VHOST_USER_TRACE"), "0");
	backend->connection_fd = backend->slave_request_fd = -1;
	forget_vrings(backend);
	strcpy(backend->socket_path, socket_path);
	strcpy(address.sun_path, socket_path);
	if (stat(socket_path, &status) == 0 && S_ISSOCK(status.st_mode))
		unlink(socket_path);
	backend->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (backend->listen_fd < 0 || bind(backend->listen_fd, (struct sockaddr *)&address, sizeof(address)) < 0 ||
	    listen(backend->listen_fd, 1) < 0) {
		snprintf(error, error_size, "%s: cannot listen on %s: %s", errno == EADDRINUSE ? "EADDRINUSE" : "EIO",
			 socket_path, strerror(errno));
		if (backend->listen_fd >= 0)
			close(backend->listen_fd);
		free(backend);
		return NULL;
	}
	return backend;
}

int vhost_user_backend_pollfds(vhost_user_backend *backend, struct pollfd *fds, int max)
{
	int count = 0;
	unsigned i;

	if (max < 1)
		return 0;
	fds[count].fd = backend->connection_fd >= 0 ? backend->connection_fd : backend->listen_fd;
	fds[count].events = POLLIN;
	fds[count++].revents = 0;
	if (!armed(backend))
		return count;
	for (i = 0; i < VHOST_USER_RPMSG_VRINGS && count < max; i++) {
		fds[count].fd = backend->vrings[i].kick_fd;
		fds[count].events = POLLIN;
		fds[count++].revents = 0;
	}
	return count;
}

int vhost_user_backend_handle(vhost_user_backend *backend, const struct pollfd *fds, int count)
{
	int kicks = 0, i;
	unsigned vring;

	for (i = 0; i < count; i++) {
		if (!fds[i].revents)
			continue;
		if (fds[i].fd == backend->listen_fd && backend->connection_fd < 0) {
			accept_connection(backend);
			continue;
		}
		if (fds[i].fd == backend->connection_fd) {
			service_connection(backend);
			continue;
		}
		for (vring = 0; vring < VHOST_USER_RPMSG_VRINGS; vring++) {
			uint64_t value;

			/* The control message above may have replaced or closed this fd. */
			if (fds[i].fd != backend->vrings[vring].kick_fd || !armed(backend))
				continue;
			if (read(fds[i].fd, &value, sizeof(value)) != sizeof(value))
				continue;
			if (!backend->live)
				go_live(backend);
			if (!backend->live)
				continue;
			kicks++;
			if (backend->callbacks.on_kick)
				backend->callbacks.on_kick(backend->callbacks.context, vring);
		}
	}
	return kicks;
}

int vhost_user_backend_wait(vhost_user_backend *backend, int timeout_ms)
{
	struct pollfd fds[VHOST_USER_BACKEND_MAX_POLLFDS];
	int count = vhost_user_backend_pollfds(backend, fds, VHOST_USER_BACKEND_MAX_POLLFDS);
	int ready;

	do {
		ready = poll(fds, (nfds_t)count, timeout_ms);
	} while (ready < 0 && errno == EINTR && timeout_ms < 0);
	if (ready < 0)
		return errno == EINTR ? 0 : -1;
	return ready ? vhost_user_backend_handle(backend, fds, count) : 0;
}

int vhost_user_backend_notify(vhost_user_backend *backend, unsigned vring_index)
{
	const uint64_t one = 1;
	ssize_t n;

	if (!backend->live || vring_index >= VHOST_USER_RPMSG_VRINGS || backend->vrings[vring_index].call_fd < 0)
		return -1;
	do {
		n = write(backend->vrings[vring_index].call_fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
	/* EAGAIN: the pipe is full of unread calls, so the frontend is being interrupted anyway. */
	return n == sizeof(one) || (n < 0 && errno == EAGAIN) ? 0 : -1;
}

int vhost_user_backend_live(const vhost_user_backend *backend)
{
	return backend->live;
}

void vhost_user_backend_destroy(vhost_user_backend *backend)
{
	if (!backend)
		return;
	if (backend->connection_fd >= 0)
		disconnect(backend, "backend shutting down");
	close_fd(&backend->listen_fd);
	unlink(backend->socket_path);
	release_retired(backend);
	free(backend);
}

void vhost_user_backend_offer_features(vhost_user_backend *backend, uint64_t features)
{
	backend->offered_features = features;
}
