/*
 * The posix target: the XS remote as a native Linux process, following OpenAMP's Linux
 * userspace port convention (shared/design/WIRE.md "Reference peers"): the shared window is
 * a /dev/shm file (addresses are file offsets, memoryBase 0), the resource table is written
 * at offset 0 before listening, and the doorbell is a UNIX stream socket this process
 * serves (one byte per kick; EOF = the host is gone).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "xs_board.h"

extern uint8_t __resource_table_start[], __resource_table_end[];
/* Generated resource_table.c (resource-table/c-source.ts, always emitted): stores 64-bit addresses the linker could not. */
extern void resource_table_fixup(void);

static xs_board_window window;
static int doorbell = -1;
static char shm_path[256];
static char socket_path[sizeof(((struct sockaddr_un*)0)->sun_path)];
static int delete_shm_on_exit = 0;
static int socket_created = 0;
static char* stack_limit = NULL;
static struct timespec boot_time;

/* ------------------------------------------------------------------ console */

void xs_board_console_write(const char* text, size_t length)
{
	while (length > 0) {
		ssize_t written = write(STDOUT_FILENO, text, length);
		if (written < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		text += written;
		length -= (size_t)written;
	}
}

static void console_text(const char* text)
{
	xs_board_console_write(text, strlen(text));
}

/* vhost-user mode (--vhost-user PATH): the board functions below delegate to the backend,
   and the platform hooks to its JS side. */
#include "vhost_user_board.h"
#include "xs_vhost_user.h"

/* ------------------------------------------------------------------ stop */

static void cleanup(void)
{
	if (vhost_user_board_active())
		vhost_user_board_stop();
	if (socket_created)
		unlink(socket_path);
	if (delete_shm_on_exit && shm_path[0])
		unlink(shm_path);
}

void xs_board_exit(int status)
{
	cleanup();
	_exit(status);
}

static void on_signal(int signal_number)
{
	cleanup();
	_exit(128 + signal_number);
}

static void peer_gone(void)
{
	console_text("posix: the host closed the doorbell socket (EOF): peer gone, exiting\n");
	xs_board_exit(0);
}

/* ------------------------------------------------------------------ doorbell */

void xs_board_notify(uint32_t notify_id)
{
	if (vhost_user_board_active()) {
		vhost_user_board_notify(notify_id);
		return;
	}
	uint8_t byte = (uint8_t)notify_id;
	for (;;) {
		ssize_t written = send(doorbell, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (written == 1)
			return;
		if ((written < 0) && (errno == EINTR))
			continue;
		if ((written < 0) && ((errno == EAGAIN) || (errno == EWOULDBLOCK))) {
			struct pollfd entry = { doorbell, POLLOUT, 0 };
			poll(&entry, 1, -1);
			continue;
		}
		peer_gone();
	}
}

static int pending_kick = 0;
/* A kick was just taken and nothing but its pass ran since (nothing asked the time): the loop's
   next take_kick needs no look at the socket, the wait that follows reads it (issue 11) */
static int pass_running = 0;

/* One read of the doorbell: `flags` MSG_DONTWAIT (a look) or 0 (sleep until a kick; the socket is
   blocking). A read that fills the buffer is followed by another (more may wait): a short one took
   every byte there was (a stream socket's recv returns what is queued), so no read ends in EAGAIN
   after data (issue 11: three empty reads per round trip before). EOF ends the process. */
static void read_doorbell(int flags)
{
	uint8_t buffer[64];
	for (;;) {
		ssize_t count = recv(doorbell, buffer, sizeof(buffer), flags);
		if (count > 0) {
			pending_kick = 1;
			if ((size_t)count < sizeof(buffer))
				return;
			flags = MSG_DONTWAIT;
			continue;
		}
		if (count == 0)
			peer_gone();
		if (errno == EINTR)
			continue;
		if ((errno == EAGAIN) || (errno == EWOULDBLOCK))
			return;
		peer_gone();
	}
}

bool xs_board_take_kick(void)
{
	if (vhost_user_board_active())
		return vhost_user_board_take_kick();
	/* Right after the pass of a kick, the event loop waits next and the wait reads the socket: no
	   look here (it found nothing but EAGAIN once per round trip). Anything that asked the time
	   meanwhile (waitForNotify inside a pass, a timer's check) clears pass_running: then we look. */
	if (!pending_kick && !pass_running)
		read_doorbell(MSG_DONTWAIT);
	pass_running = pending_kick;
	pending_kick = 0;
	return pass_running;
}

/* ------------------------------------------------------------------ clock and idle */

double xs_board_now(void)
{
	struct timespec now;
	pass_running = 0; /* whoever asks the time may wait next: take_kick looks again (see there) */
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - boot_time.tv_sec) * 1000.0 + (double)(now.tv_nsec - boot_time.tv_nsec) / 1e6;
}

/* The longest a blocking read of the doorbell sleeps (SO_RCVTIMEO, set once): it then returns EAGAIN
   and the event loop comes back to wait (an idle remote wakes once a second). */
#define DOORBELL_READ_TIMEOUT_MS 1000

/* Sleeps until a kick or the deadline. A deadline at least DOORBELL_READ_TIMEOUT_MS away (or none):
   one blocking read, which sleeps in the kernel and returns the kicks, one system call per wakeup;
   a nearer one: poll with the timeout, then one read only when poll says there is something (data,
   hang-up, error). */
void xs_board_wait(double deadline)
{
	if (vhost_user_board_active()) {
		vhost_user_board_wait(deadline, xs_board_now());
		return;
	}
	if (pending_kick)
		return;
	double remaining = deadline - xs_board_now();
	if (remaining >= DOORBELL_READ_TIMEOUT_MS) {
		read_doorbell(0);
		return;
	}
	if (remaining <= 0)
		return;
	struct pollfd entry = { doorbell, POLLIN, 0 };
	int ready = poll(&entry, 1, (int)ceil(remaining));
	if ((ready > 0) && (entry.revents & (POLLIN | POLLHUP | POLLERR)))
		read_doorbell(MSG_DONTWAIT);
}

/* ------------------------------------------------------------------ platform hooks */

/* With --vhost-user: platform.transport, onDeviceReady/onDeviceReset and a copy() over the
   device's region; with the shm window nothing beyond what the core defines. */
void xs_board_extend_platform(struct sxMachine* the, struct sxSlot* platform)
{
	if (vhost_user_board_active())
		xs_vhost_user_install(the, platform);
}

/* With --vhost-user: the device's ready/reset events; the shm window has none. */
bool xs_board_deliver_event(struct sxMachine* machine, struct sxSlot* platform)
{
	return vhost_user_board_active() && xs_vhost_user_deliver(machine, platform);
}

/* With --vhost-user: a queued device reset, delivered while a send blocks; the shm window has none. */
bool xs_board_deliver_reset(struct sxMachine* machine, struct sxSlot* platform)
{
	return vhost_user_board_active() && xs_vhost_user_deliver_reset(machine, platform);
}

/* ------------------------------------------------------------------ footprint: the host's allocator and stack, not ours to measure */

size_t xs_board_malloc_high_water(void)
{
	return XS_BOARD_FIGURE_UNKNOWN;
}

size_t xs_board_stack_high_water(void)
{
	return XS_BOARD_FIGURE_UNKNOWN;
}

size_t xs_board_stack_size(void)
{
	return XS_BOARD_FIGURE_UNKNOWN;
}

/* ------------------------------------------------------------------ memory */

char* xs_board_c_stack_limit(void)
{
	return stack_limit;
}

const xs_board_window* xs_board_get_window(void)
{
	return &window;
}

/* The C stack of the main thread grows down from about here; leave 256 KB of margin. */
static void compute_stack_limit(char* stack_top)
{
	struct rlimit limit;
	size_t size = 8u << 20;
	if ((getrlimit(RLIMIT_STACK, &limit) == 0) && (limit.rlim_cur != RLIM_INFINITY) && (limit.rlim_cur < size))
		size = limit.rlim_cur;
	stack_limit = stack_top - size + (256u << 10);
}

/* ------------------------------------------------------------------ start-up */

static void usage(const char* program, int status)
{
	fprintf(status ? stderr : stdout,
		"usage: %s [--shm NAME|PATH] [--shm-size BYTES] [--socket PATH] [--delete-shm] | --vhost-user PATH\n"
		"  --shm        shared memory file, /dev/shm/NAME or an absolute path (default openamp.shm)\n"
		"  --shm-size   bytes of the window (default 0x80000); the file is created/grown, never shrunk\n"
		"  --socket     UNIX stream socket this remote serves as the doorbell (default /tmp/openamp.event.0)\n"
		"  --delete-shm unlink the shared file when the firmware stops (default: keep it)\n"
		"  --vhost-user serve PATH as a vhost-user backend (User-Mode Linux connects); no shm file, no doorbell socket\n", program);
	exit(status);
}

static void die(const char* what)
{
	fprintf(stderr, "posix: %s: %s\n", what, strerror(errno));
	cleanup();
	exit(1);
}

int main(int argc, char** argv)
{
	char stack_top;
	const char* shm_name = "openamp.shm";
	unsigned long shm_size = 0x80000;
	const char* socket_name = "/tmp/openamp.event.0";
	const char* vhost_user_path = NULL;
	int index;
	for (index = 1; index < argc; index++) {
		const char* argument = argv[index];
		if (!strcmp(argument, "--help") || !strcmp(argument, "-h"))
			usage(argv[0], 0);
		else if (!strcmp(argument, "--delete-shm"))
			delete_shm_on_exit = 1;
		else if ((index + 1 < argc) && !strcmp(argument, "--shm"))
			shm_name = argv[++index];
		else if ((index + 1 < argc) && !strcmp(argument, "--shm-size"))
			shm_size = strtoul(argv[++index], NULL, 0);
		else if ((index + 1 < argc) && !strcmp(argument, "--socket"))
			socket_name = argv[++index];
		else if ((index + 1 < argc) && !strcmp(argument, "--vhost-user"))
			vhost_user_path = argv[++index];
		else {
			fprintf(stderr, "posix: unknown argument %s\n", argument);
			usage(argv[0], 2);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &boot_time);
	compute_stack_limit(&stack_top);
	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);

	if (vhost_user_path) {
		/* The kernel's virtio driver owns memory and rings; they arrive per device (docs/LINUX.md). */
		char error[256];
		if (vhost_user_board_start(vhost_user_path, error, sizeof(error)) < 0) {
			fprintf(stderr, "posix: %s\n", error);
			return 1;
		}
		xs_platform_main();
	}

	size_t table_size = (size_t)(__resource_table_end - __resource_table_start);
	if ((shm_size < XS_CRASH_RECORD_OFFSET + XS_CRASH_RECORD_SIZE) || (shm_size > 0x40000000ul)) {
		fprintf(stderr, "posix: --shm-size %lu must be between 0x%x and 1 GB\n", shm_size, XS_CRASH_RECORD_OFFSET + XS_CRASH_RECORD_SIZE);
		return 2;
	}
	if (strlen(socket_name) >= sizeof(socket_path)) {
		fprintf(stderr, "posix: --socket path is longer than %zu bytes\n", sizeof(socket_path) - 1);
		return 2;
	}
	snprintf(shm_path, sizeof(shm_path), "%s%s", (shm_name[0] == '/') ? "" : "/dev/shm/", shm_name);
	strcpy(socket_path, socket_name);

	/* 1. the shared window: whoever opens first ftruncates; nobody deletes it (unless asked) */
	int fd = open(shm_path, O_RDWR | O_CREAT, 0666);
	if (fd < 0)
		die(shm_path);
	struct stat info;
	if (fstat(fd, &info) < 0)
		die(shm_path);
	if ((unsigned long)info.st_size < shm_size && ftruncate(fd, (off_t)shm_size) < 0)
		die(shm_path);
	uint8_t* memory = mmap(NULL, shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (memory == MAP_FAILED)
		die("mmap");
	close(fd);
	window.memory = memory;
	window.memory_size = (uint32_t)shm_size;
	window.memory_base = 0;
	window.resource_table_offset = 0;

	/* 2. the resource table at offset 0, before listening (OpenAMP: the socket server does it) */
	resource_table_fixup();
	if (table_size == 0 || table_size > XS_CRASH_RECORD_OFFSET) {
		fprintf(stderr, "posix: resource table of %zu bytes does not fit below the crash record at 0x%x\n", table_size, XS_CRASH_RECORD_OFFSET);
		return 1;
	}
	memcpy(memory, __resource_table_start, table_size);
	__sync_synchronize();

	/* 3. the doorbell: serve one host connection */
	int listener = socket(AF_UNIX, SOCK_STREAM, 0);
	if (listener < 0)
		die("socket");
	struct sockaddr_un address;
	memset(&address, 0, sizeof(address));
	address.sun_family = AF_UNIX;
	strcpy(address.sun_path, socket_path);
	unlink(socket_path);
	if (bind(listener, (struct sockaddr*)&address, sizeof(address)) < 0)
		die(socket_path);
	socket_created = 1;
	if (listen(listener, 1) < 0)
		die("listen");
	fprintf(stdout, "posix: resource table (%zu bytes) written to %s (0x%lx bytes); waiting for the host on %s\n",
		table_size, shm_path, shm_size, socket_path);
	do
		doorbell = accept(listener, NULL, NULL);
	while ((doorbell < 0) && (errno == EINTR));
	if (doorbell < 0)
		die("accept");
	close(listener);
	/* blocking, with a timeout: the idle wait sleeps in recv (xs_board_wait); every other call passes MSG_DONTWAIT */
	struct timeval read_timeout = { DOORBELL_READ_TIMEOUT_MS / 1000, (DOORBELL_READ_TIMEOUT_MS % 1000) * 1000 };
	if (setsockopt(doorbell, SOL_SOCKET, SO_RCVTIMEO, &read_timeout, sizeof(read_timeout)) < 0)
		die("setsockopt SO_RCVTIMEO");
	fprintf(stdout, "posix: host connected\n");

	xs_platform_main();
}
