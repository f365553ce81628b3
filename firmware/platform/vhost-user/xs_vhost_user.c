/*
 * The JS side of the vhost-user mode (docs/LINUX.md "Seam"): marks the `platform` global as a
 * vhost-user transport and turns device events of vhost_user_board.c into calls of
 * platform.onDeviceReady(info) / platform.onDeviceReset(reason). Compiled with the XS
 * platform layer's flags; called by the posix board's platform hooks (xs_vhost_user.h), and
 * calls nothing of the platform layer: its console lines go straight to xs_board_console_write.
 */
#include "xsAll.h"
#include "xs.h"
#include "xs_board.h"
#include "vhost_user_board.h"
#include "xs_vhost_user.h"

/* Console text formatted here (at most 255 bytes; longer text is cut), no newline added. */
static void console_printf(const char* format, ...)
{
	char line[256];
	va_list arguments;
	va_start(arguments, format);
	int length = vsnprintf(line, sizeof(line), format, arguments);
	va_end(arguments);
	if (length < 0)
		return;
	xs_board_console_write(line, ((size_t)length < sizeof(line)) ? (size_t)length : sizeof(line) - 1);
}

/* The region of the device JS currently holds (from the ready it was given to the reset it was given). */
static uint8_t* device_memory = NULL;
static uint64_t device_memory_size = 0;

/*
 * platform.copy(toShared, sharedOffset, bytes, bytesOffset, length) over the current device's
 * region: the board window is empty on this target, the shared memory arrives per device.
 * Same contract and checks as the window version in xs_platform.c.
 */
static void fx_vhost_user_copy(txMachine* the)
{
	if (mxArgc < 5)
		mxTypeError("copy: expected (toShared, sharedOffset, bytes, bytesOffset, length)");
	txBoolean to_shared = fxToBoolean(the, mxArgv(0));
	double shared_offset = fxToNumber(the, mxArgv(1));
	double bytes_offset = fxToNumber(the, mxArgv(3));
	double length = fxToNumber(the, mxArgv(4));
	if (!(length >= 0) || !(shared_offset >= 0) || !(bytes_offset >= 0) || (shared_offset + length > (double)device_memory_size))
		mxRangeError("copy: %g bytes at offset %g fall outside the %g-byte region of the vhost-user device", length, shared_offset, (double)device_memory_size);
	xsVars(1);
	xsVar(0) = xsGet(xsArg(2), xsID("buffer"));
	if (!xsIsInstanceOf(xsVar(0), xsArrayBufferPrototype))
		mxTypeError("copy: bytes must be a typed array over an ArrayBuffer");
	double view_offset = xsToNumber(xsGet(xsArg(2), xsID("byteOffset")));
	double view_length = xsToNumber(xsGet(xsArg(2), xsID("byteLength")));
	if (bytes_offset + length > view_length)
		mxRangeError("copy: %g bytes at offset %g do not fit the %g-byte array", length, bytes_offset, view_length);
	uint8_t* shared = device_memory + (size_t)shared_offset;
	if (to_shared)
		xsGetArrayBufferData(xsVar(0), (xsIntegerValue)(view_offset + bytes_offset), shared, (xsIntegerValue)length);
	else
		xsSetArrayBufferData(xsVar(0), (xsIntegerValue)(view_offset + bytes_offset), shared, (xsIntegerValue)length);
}

/* platform.transport = "vhost-user"; the two callbacks start out undefined (the runtime sets
   them); platform.copy works on the device's region instead of the (empty) board window. */
void xs_vhost_user_install(txMachine* the, txSlot* platform)
{
	xsDefine(*platform, xsID("transport"), xsString("vhost-user"), xsDontSet | xsDontDelete);
	xsDefine(*platform, xsID("onDeviceReady"), xsUndefined, xsDefault);
	xsDefine(*platform, xsID("onDeviceReset"), xsUndefined, xsDefault);
	xsDefine(*platform, xsID("copy"), xsNewHostFunction(fx_vhost_user_copy, 5), xsDontEnum);
}

/* { features, memory, memoryBase, vrings: [{ index, notifyId, num, desc, avail, used }] } */
static void build_ready_info(txMachine* the, const vhost_user_device* device)
{
	unsigned index;

	xsVar(1) = xsNewHostObject(C_NULL);
	xsSetHostBuffer(xsVar(1), device->memory, (xsIntegerValue)device->memory_size);
	xsDefine(xsVar(1), xsID("byteLength"), xsInteger((xsIntegerValue)device->memory_size), xsDontSet | xsDontDelete);
	xsVar(0) = xsNewObject();
	xsSet(xsVar(0), xsID("features"), xsNumber((double)device->features));
	xsSet(xsVar(0), xsID("memory"), xsVar(1));
	xsSet(xsVar(0), xsID("memoryBase"), xsNumber((double)device->memory_base));
	xsVar(1) = xsNewArray(0);
	for (index = 0; index < device->vring_count; index++) {
		const vhost_user_vring* vring = &device->vrings[index];

		xsVar(2) = xsNewObject();
		xsSet(xsVar(2), xsID("index"), xsInteger((xsIntegerValue)vring->index));
		xsSet(xsVar(2), xsID("notifyId"), xsInteger((xsIntegerValue)vring->index));
		xsSet(xsVar(2), xsID("num"), xsInteger((xsIntegerValue)vring->num));
		xsSet(xsVar(2), xsID("desc"), xsNumber((double)vring->desc));
		xsSet(xsVar(2), xsID("avail"), xsNumber((double)vring->avail));
		xsSet(xsVar(2), xsID("used"), xsNumber((double)vring->used));
		xsSetAt(xsVar(1), xsInteger((xsIntegerValue)index), xsVar(2));
	}
	xsSet(xsVar(0), xsID("vrings"), xsVar(1));
}

/*
 * Delivers the oldest pending device event to JS, from the event loop only (never re-entered).
 * Returns true if one was delivered. Call it before delivering kicks: the first kick of a device
 * comes right behind its ready event.
 */
bool xs_vhost_user_deliver(txMachine* the_machine, txSlot* platform)
{
	vhost_user_board_event event;

	if (!vhost_user_board_take_event(&event))
		return false;
	xsBeginHost(the_machine);
	{
		xsVars(4);
		if (event.kind == VHOST_USER_BOARD_READY) {
			if (event.device.memory_size > 0x7fffffffu) {
				console_printf("vhost-user: the shared region is 0x%llx bytes, more than an XS host buffer holds (2 GB): boot UML with a smaller mem=\n",
					(unsigned long long)event.device.memory_size);
			}
			else {
				device_memory = event.device.memory;
				device_memory_size = event.device.memory_size;
				build_ready_info(the, &event.device);
				xsVar(3) = xsGet(*platform, xsID("onDeviceReady"));
				if (xsIsInstanceOf(xsVar(3), xsFunctionPrototype))
					(void)xsCallFunction1(xsVar(3), *platform, xsVar(0));
				else
					console_printf("vhost-user: device ready but platform.onDeviceReady is not set: the runtime does not speak vhost-user\n");
			}
		}
		else {
			device_memory = NULL;
			device_memory_size = 0;
			xsVar(3) = xsGet(*platform, xsID("onDeviceReset"));
			if (xsIsInstanceOf(xsVar(3), xsFunctionPrototype))
				(void)xsCallFunction1(xsVar(3), *platform, xsString(event.reason));
		}
	}
	xsEndHost(the_machine);
	return true;
}

/*
 * Called by platform.waitForNotify (a send blocked for a TX buffer): if a device event is pending,
 * the device the runtime holds is gone. A reset is delivered now (onDeviceReset: the runtime
 * detaches, the send fails with EPIPE); a ready for a new device is left for the event loop, but
 * onDeviceReset is called first so the runtime lets go of the old one. Returns 1 if it called JS.
 */
bool xs_vhost_user_deliver_reset(txMachine* the_machine, txSlot* platform)
{
	int kind = vhost_user_board_peek_event();

	if (kind == VHOST_USER_BOARD_RESET)
		return xs_vhost_user_deliver(the_machine, platform);
	if (kind != VHOST_USER_BOARD_READY)
		return 0;
	xsBeginHost(the_machine);
	{
		xsVars(1);
		xsVar(0) = xsGet(*platform, xsID("onDeviceReset"));
		if (xsIsInstanceOf(xsVar(0), xsFunctionPrototype))
			(void)xsCallFunction1(xsVar(0), *platform, xsString("a new device is waiting"));
	}
	xsEndHost(the_machine);
	return 1;
}
