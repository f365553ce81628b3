/*
 * The program of a source image: the bundled JS, embedded as a NUL-terminated string
 * (xs_app_script.S), parsed at boot with the engine's parser; parse errors go to the console as
 * "app.js:LINE: error: message".
 */
#include "xsAll.h"
#include "xsScript.h"
#include "xs.h"
#include "xs_board.h"
#include "xs_program.h"

const char xs_program_kind[] = "script";

size_t xs_program_size(void)
{
	return strlen(xs_app_script);
}

void xs_program_prepare(txMachine* the)
{
}

/* Parser errors and warnings: "app.js:LINE: error: message" on the console. */
static void report_parser_message(void* console, txString path, txInteger line, txString format, c_va_list arguments, const char* kind)
{
	xs_platform_printf("%s:%d: %s: ", path ? path : "app.js", (int)line, kind);
	xs_platform_vprintf(format, arguments);
	xs_platform_printf("\n");
}

static void report_parser_error(void* console, txString path, txInteger line, txString format, c_va_list arguments)
{
	report_parser_message(console, path, line, format, arguments, "error");
}

static void report_parser_warning(void* console, txString path, txInteger line, txString format, c_va_list arguments)
{
	report_parser_message(console, path, line, format, arguments, "warning");
}

/* The engine's default fxParseScript, with the parser's reports sent to the console. */
txScript* fxParseScript(txMachine* the, void* stream, txGetter getter, txUnsigned flags)
{
	txParser _parser;
	txParser* parser = &_parser;
	txParserJump jump;
	txScript* script = NULL;
	fxInitializeParser(parser, the, the->parserBufferSize, the->parserTableModulo);
	parser->reportError = report_parser_error;
	parser->reportWarning = report_parser_warning;
	parser->firstJump = &jump;
	if (c_setjmp(jump.jmp_buf) == 0) {
		fxParserTree(parser, stream, getter, flags, NULL);
		fxParserHoist(parser);
		fxParserBind(parser);
		script = fxParserCode(parser);
	}
	fxTerminateParser(parser);
	return script;
}

void xs_program_run(txMachine* the)
{
	txStringCStream stream;
	stream.buffer = (txString)xs_app_script;
	stream.offset = 0;
	stream.size = (txSize)strlen(xs_app_script);
	txSlot* realm = mxProgram.value.reference->next->value.module.realm;
	txScript* script = fxParseScript(the, &stream, fxStringCGetter, mxProgramFlag);
	if (!script)
		xs_platform_crash(XS_CRASH_EXIT_BASE + XS_UNHANDLED_EXCEPTION_EXIT, "the bundled script could not be parsed (out of parser memory?)");
	fxRunScript(the, script, mxRealmGlobal(realm), C_NULL, mxRealmClosures(realm)->value.reference, C_NULL, mxProgram.value.reference);
	mxPullSlot(mxResult);
}
