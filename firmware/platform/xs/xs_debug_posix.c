/*
 * The engine's debugger connection on posix debug images (linked only by a debug build,
 * tools/debug-build.ts): xsDebug.c (mxDebug) speaks the xsbug XML protocol through these six
 * functions. The firmware is the client, as an XS machine is of xsbug: at machine creation
 * (fxLogin) it connects to the UNIX stream socket named by the environment variable
 * XS_RPMSG_XSBUG, which the debug adapter (debug/) listens on and removes when it ends. Without
 * the variable, or when nobody listens, the machine runs undebugged.
 *
 * While the engine is stopped (a breakpoint, a step) it blocks in fxReceive: the firmware does not
 * service its doorbell or vrings until the debugger lets it go (docs/DEBUGGING.md).
 */
#include "xsAll.h"
#include "xs.h"
#include "xs_debug.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int xs_debug_fd = -1;

/* set by xs_debug_login: the engine's own early fxLogin (in xsCreateMachine) must not connect (xs_debug.h) */
static int xs_debug_ready;

void xs_debug_login(txMachine* the)
{
	xs_debug_ready = 1;
	fxLogin(the);
}

void fxConnect(txMachine* the)
{
	if (!xs_debug_ready)
		return;
	const char* path = getenv("XS_RPMSG_XSBUG");
	struct sockaddr_un address;
	if (!path || !*path || (strlen(path) >= sizeof(address.sun_path)))
		return;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	memset(&address, 0, sizeof(address));
	address.sun_family = AF_UNIX;
	strcpy(address.sun_path, path);
	if (connect(fd, (struct sockaddr*)&address, sizeof(address)) < 0) {
		xs_platform_printf("xsbug: cannot connect to %s (%s): running without the debugger\n", path, strerror(errno));
		close(fd);
		return;
	}
	xs_debug_fd = fd;
}

void fxDisconnect(txMachine* the)
{
	if (xs_debug_fd >= 0) {
		close(xs_debug_fd);
		xs_debug_fd = -1;
	}
}

txBoolean fxIsConnected(txMachine* the)
{
	return xs_debug_fd >= 0;
}

txBoolean fxIsReadable(txMachine* the)
{
	if (xs_debug_fd < 0)
		return 0;
	struct pollfd poller = { .fd = xs_debug_fd, .events = POLLIN };
	if (poll(&poller, 1, 0) <= 0)
		return 0;
	if ((poller.revents & (POLLHUP | POLLERR)) && !(poller.revents & POLLIN)) {
		fxDisconnect(the);
		return 0;
	}
	return (poller.revents & POLLIN) ? 1 : 0;
}

void fxReceive(txMachine* the)
{
	the->debugOffset = 0;
	if (xs_debug_fd < 0)
		return;
	for (;;) {
		ssize_t count = read(xs_debug_fd, the->debugBuffer, sizeof(the->debugBuffer) - 1);
		if (count > 0) {
			the->debugOffset = (txSize)count;
			the->debugBuffer[count] = 0;
			return;
		}
		if ((count < 0) && (errno == EINTR))
			continue;
		/* the debugger went away: run on without it */
		fxDisconnect(the);
		return;
	}
}

void fxSend(txMachine* the, txBoolean more)
{
	const char* data = the->echoBuffer;
	size_t left = (size_t)the->echoOffset;
	while ((xs_debug_fd >= 0) && left) {
		ssize_t count = send(xs_debug_fd, data, left, MSG_NOSIGNAL);
		if (count > 0) {
			data += count;
			left -= (size_t)count;
		}
		else if ((count < 0) && (errno == EINTR))
			continue;
		else
			fxDisconnect(the);
	}
}
