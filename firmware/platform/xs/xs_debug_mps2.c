/*
 * The engine's debugger connection on qemu-mps2 debug images (linked only by a debug build,
 * tools/debug-build.ts): xsDebug.c (mxDebug) speaks the xsbug XML protocol over the board's third
 * UART, CMSDK UART2 at 0x40006000, which QEMU attaches to a socket chardev (the third -serial;
 * launch/qemu.ts, debug/). Polled, no interrupt: the engine reads only when it asks
 * (fxIsReadable at each line, fxReceive while stopped).
 *
 * A UART cannot tell whether anyone is at the other end, so the debugger says hello: on
 * connection the adapter sends CR LF; fxConnect enables the UART and waits up to
 * XS_DEBUG_HELLO_MS of board time for a byte. None (a debug image run without the debugger):
 * the machine runs undebugged. Why a UART and not a reserved rpmsg endpoint: the engine stops
 * inside the bytecode loop (a breakpoint) and must then read commands without running JS, and
 * the rpmsg stack is JS (firmware/runtime/); a UART is a byte pipe C can poll, and it keeps
 * working whatever state the vrings and the host are in (docs/DEBUGGING.md).
 */
#include "xsAll.h"
#include "xs.h"
#include "xs_debug.h"
#include "xs_board.h"

/* CMSDK APB UART registers (the layout qemu-mps2/mps2.h describes for UART0/1; this file stays
   in the core's folder, selected by the build for qemu-mps2 debug images, so it names them itself). */
typedef struct {
	volatile uint32_t DATA;
	volatile uint32_t STATE;     /* bit0 TX full, bit1 RX full */
	volatile uint32_t CTRL;      /* bit0 TX enable, bit1 RX enable */
	volatile uint32_t INTSTATUS;
	volatile uint32_t BAUDDIV;
} xs_debug_uart;
#define XS_DEBUG_UART ((xs_debug_uart*)0x40006000u)
#define XS_DEBUG_TX_FULL 1u
#define XS_DEBUG_RX_FULL 2u
#define XS_DEBUG_ENABLE 3u
#define XS_DEBUG_HELLO_MS 500

static int xs_debug_connected;

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
	xs_debug_uart* uart = XS_DEBUG_UART;
	uart->BAUDDIV = 16;
	uart->CTRL = XS_DEBUG_ENABLE;
	double deadline = xs_board_now() + XS_DEBUG_HELLO_MS;
	while (!(uart->STATE & XS_DEBUG_RX_FULL)) {
		if (xs_board_now() >= deadline)
			return;
	}
	/* the hello (CR LF) is also valid protocol text: leave it for fxReceive */
	xs_debug_connected = 1;
}

void fxDisconnect(txMachine* the)
{
	xs_debug_connected = 0;
}

txBoolean fxIsConnected(txMachine* the)
{
	return xs_debug_connected;
}

txBoolean fxIsReadable(txMachine* the)
{
	return xs_debug_connected && (XS_DEBUG_UART->STATE & XS_DEBUG_RX_FULL);
}

void fxReceive(txMachine* the)
{
	xs_debug_uart* uart = XS_DEBUG_UART;
	txSize count = 0;
	the->debugOffset = 0;
	if (!xs_debug_connected)
		return;
	while (!(uart->STATE & XS_DEBUG_RX_FULL))
		;
	/* what has arrived, up to the buffer: a byte, then any that follow within a short spin */
	while (count < (txSize)sizeof(the->debugBuffer) - 1) {
		int spins = 2000;
		while (!(uart->STATE & XS_DEBUG_RX_FULL) && --spins)
			;
		if (!spins)
			break;
		the->debugBuffer[count++] = (char)uart->DATA;
	}
	the->debugBuffer[count] = 0;
	the->debugOffset = count;
}

void fxSend(txMachine* the, txBoolean more)
{
	xs_debug_uart* uart = XS_DEBUG_UART;
	txSize index;
	if (!xs_debug_connected)
		return;
	for (index = 0; index < the->echoOffset; index++) {
		while (uart->STATE & XS_DEBUG_TX_FULL)
			;
		uart->DATA = (uint8_t)the->echoBuffer[index];
	}
}
