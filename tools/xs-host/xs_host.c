/*
 * xs-host: the XS engine on the build machine, built from the same pinned LGPL sources (and
 * our patches) as the firmware. Two commands:
 *
 *   xs-host run FILE.js [--strip A,B]      parse and run a classic script (print() to stdout);
 *                                          the engine-patch semantics tests use it
 *   xs-host share [FILE.js] [--strip A,B]   builds the machine (and runs FILE.js's top level), then
 *                                          fxShareMachine: what a preloaded machine would hold (JSON)
 *   xs-host compile FILE.js OUTDIR [--strip A,B]
 *                                          the precompiler: parse + generate code on the host
 *                                          (txScript, as fxParseScript gives it to fxRunScript),
 *                                          then write what the firmware runs without a parser
 *
 * compile writes into OUTDIR:
 *   code.bin     the script's byte code, its IDs already the IDs the device assigns (the device
 *                registers the same names in the same order right after creating its machine and
 *                checks each one), and every nested function's XS_CODE_CODE_n turned into
 *                XS_CODE_CODE_ARCHIVE_n, so that functions run from the image in place instead of
 *                being copied into the chunk heap;
 *   symbols.bin  the names, NUL-terminated, in ID order (symbol 1 first);
 *   ids.bin      the ID of each name (little-endian u16, as txID is on every XS build of ours);
 *   info.json    sizes, the names, and the engine features the byte code needs (async,
 *                generators, regexp literals, bigint literals, direct eval, import()).
 * A syntax or early error goes to stderr as "error: LINE:COLUMN: message" (generated-file
 * line and column; tools/precompile.ts maps them through the bundler's source map), exit 2.
 *
 * The byte code layout does not depend on the host: txID is 16-bit, integers and doubles are
 * written byte by byte little-endian, no pointer is ever written into code. xs-host refuses to
 * run on a big-endian host. --strip names the built-ins the image does not build (same names as
 * manifest.json "strip"): the machine must be created exactly as the device creates it, since
 * the IDs of the script's names come after the keys the machine made.
 */
#include "xsAll.h"
#include "xsScript.h"
#include "xs.h"
#include "xs_build_keys.h" /* the same predefined keys as the firmware (firmware/platform/xs) */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xsRun.c (not in a header) */
extern void fxRemapIDs(txMachine* the, txByte* codeBuffer, txSize codeSize, txID* theIDs);

/* ------------------------------------------------------------------ built-ins (patch 0001) */

static const char* const builtin_names[] = {
	"Global", "Object", "Function", "Generator", "Arguments", "Array", "String", "Boolean", "Number",
	"BigInt", "Date", "Math", "RegExp", "Error", "JSON", "DataView", "Atomics", "Promise", "Symbol",
	"Proxy", "MapSet", "Module",
};
#define BUILTIN_COUNT (sizeof(builtin_names) / sizeof(builtin_names[0]))
static int builtin_stripped[BUILTIN_COUNT];

#ifdef XS_HOST_IMAGE_CONFIG
/* The image's preload generator (tools/build-firmware.ts, "preload"): the image's own
   xs_build_config.c is linked in (gxBuiltinBuilders, gxCallbackTable, the feature tables and
   xs_build_creation), so this machine is built exactly as the device's. */
extern const xsCreation xs_build_creation;
#undef mxBuiltinBuilders
#endif

#define HOST_BUILDER(INDEX, NAME) \
	static void host_build_##NAME(txMachine* the) { if (!builtin_stripped[INDEX]) fxBuild##NAME(the); }
HOST_BUILDER(0, Global) HOST_BUILDER(1, Object) HOST_BUILDER(2, Function) HOST_BUILDER(3, Generator)
HOST_BUILDER(4, Arguments) HOST_BUILDER(5, Array) HOST_BUILDER(6, String) HOST_BUILDER(7, Boolean)
HOST_BUILDER(8, Number) HOST_BUILDER(9, BigInt) HOST_BUILDER(10, Date) HOST_BUILDER(11, Math)
HOST_BUILDER(12, RegExp) HOST_BUILDER(13, Error) HOST_BUILDER(14, JSON) HOST_BUILDER(15, DataView)
HOST_BUILDER(16, Atomics) HOST_BUILDER(17, Promise) HOST_BUILDER(18, Symbol) HOST_BUILDER(19, Proxy)
HOST_BUILDER(20, MapSet) HOST_BUILDER(21, Module)

#ifdef mxBuiltinBuilders
void (*const gxBuiltinBuilders[])(txMachine* the) = {
	host_build_Global, host_build_Object, host_build_Function, host_build_Generator, host_build_Arguments,
	host_build_Array, host_build_String, host_build_Boolean, host_build_Number, host_build_BigInt,
	host_build_Date, host_build_Math, host_build_RegExp, host_build_Error, host_build_JSON,
	host_build_DataView, host_build_Atomics, host_build_Promise, host_build_Symbol, host_build_Proxy,
	host_build_MapSet, host_build_Module, C_NULL,
};
#endif

static void parse_strip(const char* list)
{
	char copy[512];
	snprintf(copy, sizeof(copy), "%s", list);
	for (char* name = strtok(copy, ","); name; name = strtok(C_NULL, ",")) {
		size_t i;
		for (i = 0; i < BUILTIN_COUNT; i++)
			if (!strcmp(builtin_names[i], name))
				break;
		if (i == BUILTIN_COUNT) {
			fprintf(stderr, "xs-host: --strip: unknown built-in \"%s\"\n", name);
			exit(64);
		}
#ifndef mxBuiltinBuilders
		fprintf(stderr, "xs-host: --strip needs the engine with patch 0001 (built without it)\n");
		exit(64);
#endif
		builtin_stripped[i] = 1;
	}
}

/* ------------------------------------------------------------------ platform hooks */

int xs_platform_vprintf(const char* format, va_list arguments) { return vfprintf(stdout, format, arguments); }
int xs_platform_printf(const char* format, ...)
{
	va_list arguments;
	va_start(arguments, format);
	int length = vfprintf(stdout, format, arguments);
	va_end(arguments);
	return length;
}

static char* stack_limit;
char* fxCStackLimit() { return stack_limit; }
void fxQueuePromiseJobs(txMachine* the) { the->promiseJobs = 1; }
void* fxAllocateChunks(txMachine* the, txSize size) { return c_malloc(size); }
void fxFreeChunks(txMachine* the, void* chunks) { c_free(chunks); }
txSlot* fxAllocateSlots(txMachine* the, txSize count) { return (txSlot*)c_malloc(count * sizeof(txSlot)); }
void fxFreeSlots(txMachine* the, void* slots) { c_free(slots); }

void fxAbort(txMachine* the, int status)
{
	const char* why = (status == XS_STACK_OVERFLOW_EXIT) ? "stack overflow" : (status == XS_NOT_ENOUGH_MEMORY_EXIT) ? "memory full"
		: (status == XS_UNHANDLED_EXCEPTION_EXIT) ? "unhandled exception" : (status == XS_UNHANDLED_REJECTION_EXIT) ? "unhandled rejection" : "abort";
	if ((status == XS_UNHANDLED_EXCEPTION_EXIT) || (status == XS_UNHANDLED_REJECTION_EXIT)) {
		txSlot exception = mxException;
		mxException = mxUndefined;
		mxTry(the) {
			mxPushSlot(&exception);
			printf("uncaught: %s\n", fxToString(the, the->stack));
			mxPop();
		}
		mxCatch(the) {
		}
	}
	printf("xs-host: %s\n", why);
	fflush(stdout);
	exit(3);
}

/* ------------------------------------------------------------------ parsing */

typedef struct {
	txStringCStream stream;
	int error_count;
	txInteger error_line;
	txSize error_offset;
	char error_text[512];
} host_stream;

static host_stream* current_stream;
/* --debug: the parser keeps line tables (XS_CODE_FILE / XS_CODE_LINE records, mxDebugFlag) for debug images */
static int keep_lines;

static int host_getter(void* it)
{
	return fxStringCGetter(it);
}

static void report(void* console, txString path, txInteger line, txString format, c_va_list arguments, const char* kind)
{
	host_stream* stream = current_stream;
	char text[400];
	vsnprintf(text, sizeof(text), format, arguments);
	if (!strcmp(kind, "error")) {
		if (stream->error_count++ == 0) {
			stream->error_line = line;
			stream->error_offset = stream->stream.offset;
			snprintf(stream->error_text, sizeof(stream->error_text), "%s", text);
		}
	}
	/* the column: where the lexer stood (it reads one token ahead) when the error was found; if it
	   had already read past the end of the reported line, the end of that line */
	txSize offset = stream->stream.offset, cursor = 0, size = stream->stream.size;
	if (offset > size)
		offset = size;
	txInteger current = 1;
	while ((current < line) && (cursor < size)) {
		if (stream->stream.buffer[cursor++] == '\n')
			current++;
	}
	txSize end = cursor;
	while ((end < size) && (stream->stream.buffer[end] != '\n'))
		end++;
	int column = (int)(((offset >= cursor) && (offset <= end)) ? (offset - cursor) : (end - cursor));
	if (column > 0)
		column--; /* the last character read is the lookahead */
	fprintf(stderr, "%s: %d:%d: %s\n", kind, (int)line, column, text);
}

static void report_error(void* console, txString path, txInteger line, txString format, c_va_list arguments) { report(console, path, line, format, arguments, "error"); }
static void report_warning(void* console, txString path, txInteger line, txString format, c_va_list arguments) { report(console, path, line, format, arguments, "warning"); }

txScript* fxParseScript(txMachine* the, void* stream, txGetter getter, txUnsigned flags)
{
	txParser _parser;
	txParser* parser = &_parser;
	txParserJump jump;
	txScript* script = NULL;
	fxInitializeParser(parser, the, the->parserBufferSize, the->parserTableModulo);
	parser->reportError = report_error;
	parser->reportWarning = report_warning;
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

static char* read_file(const char* path, size_t* size)
{
	FILE* file = fopen(path, "rb");
	if (!file) {
		fprintf(stderr, "xs-host: cannot open %s\n", path);
		exit(66);
	}
	fseek(file, 0, SEEK_END);
	long length = ftell(file);
	fseek(file, 0, SEEK_SET);
	char* text = malloc((size_t)length + 1);
	if (fread(text, 1, (size_t)length, file) != (size_t)length) {
		fprintf(stderr, "xs-host: cannot read %s\n", path);
		exit(66);
	}
	text[length] = 0;
	fclose(file);
	*size = (size_t)length;
	return text;
}

static txScript* parse(txMachine* the, host_stream* stream, const char* text, size_t size)
{
	stream->stream.buffer = (txString)text;
	stream->stream.offset = 0;
	stream->stream.size = (txSize)size;
	stream->error_count = 0;
	current_stream = stream;
	txScript* script = fxParseScript(the, &stream->stream, host_getter, mxProgramFlag | (keep_lines ? mxDebugFlag : 0));
	if (stream->error_count)
		return C_NULL;
	return script;
}

/* ------------------------------------------------------------------ machine */

/* Creation sizes of the host machine: roomy; they do not change the byte code. The device's
   own sizes come from manifest.json. */
static xsCreation host_creation = {
	256 * 1024, 64 * 1024, 16384, 4096, 4096, 4096, 1024, 1993, 127, 256 * 1024, 1993, 0,
};

static void fx_print(txMachine* the)
{
	txInteger count = mxArgc, index;
	for (index = 0; index < count; index++) {
		if (index)
			fputc(' ', stdout);
		fputs(fxToString(the, mxArgv(index)), stdout);
	}
	fputc('\n', stdout);
}

/* slots(), chunks(): the live slot count and chunk bytes after a collection (footprint measurements, run only) */
static void fx_slots(txMachine* the)
{
	fxCollectGarbage(the);
	mxResult->kind = XS_INTEGER_KIND;
	mxResult->value.integer = (txInteger)the->currentHeapCount;
}

static void fx_chunks(txMachine* the)
{
	fxCollectGarbage(the);
	mxResult->kind = XS_INTEGER_KIND;
	mxResult->value.integer = (txInteger)the->currentChunksSize;
}

/* reserved(): the slots the heap holds now, live or free, without a collection (patch 0116's test) */
static void fx_reserved(txMachine* the)
{
	mxResult->kind = XS_INTEGER_KIND;
	mxResult->value.integer = (txInteger)the->maximumHeapCount;
}

static void drain(txMachine* the)
{
	while (the->promiseJobs) {
		the->promiseJobs = 0;
		fxRunPromiseJobs(the);
	}
}

/* Parses and runs a script's text in the program's realm, then its promise jobs; called between
   xsBeginHost and xsEndHost. 0, or 2 after a syntax error, or 1 after an uncaught exception (each printed). */
static int run_text(txMachine* the, const char* text, size_t size)
{
	host_stream stream;
	txScript* script = parse(the, &stream, text, size);
	if (!script) {
		printf("SyntaxError: %d: %s\n", (int)stream.error_line, stream.error_text);
		return 2;
	}
	int status = 0;
	xsTry {
		txSlot* realm = mxProgram.value.reference->next->value.module.realm;
		fxRunScript(the, script, mxRealmGlobal(realm), C_NULL, mxRealmClosures(realm)->value.reference, C_NULL, mxProgram.value.reference);
		mxPop();
		drain(the);
	}
	xsCatch {
		printf("uncaught: %s\n", xsToString(xsException));
		status = 1;
	}
	return status;
}

static int command_run(const char* path)
{
	size_t size;
	char* text = read_file(path, &size);
	txMachine* the = xsCreateMachine(&host_creation, "xs-host", C_NULL);
	if (!the) {
		fprintf(stderr, "xs-host: cannot create the machine\n");
		return 70;
	}
	the->promiseJobs = 0;
	int status = 0;
	xsBeginHost(the);
	{
		xsVars(1);
		xsVar(0) = xsNewHostFunction(fx_print, 1);
		xsDefine(xsGlobal, xsID("print"), xsVar(0), xsDontEnum);
		xsVar(0) = xsNewHostFunction(fx_slots, 0);
		xsDefine(xsGlobal, xsID("slots"), xsVar(0), xsDontEnum);
		xsVar(0) = xsNewHostFunction(fx_chunks, 0);
		xsDefine(xsGlobal, xsID("chunks"), xsVar(0), xsDontEnum);
		xsVar(0) = xsNewHostFunction(fx_reserved, 0);
		xsDefine(xsGlobal, xsID("reserved"), xsVar(0), xsDontEnum);
		status = run_text(the, text, size);
	}
	xsEndHost(the);
	fflush(stdout);
	xsDeleteMachine(the);
	free(text);
	return status;
}

/* ------------------------------------------------------------------ compile */

enum { FEATURE_ASYNC, FEATURE_GENERATOR, FEATURE_AWAIT, FEATURE_REGEXP, FEATURE_BIGINT, FEATURE_EVAL, FEATURE_IMPORT, FEATURE_FOR_AWAIT, FEATURE_COUNT };
static const char* const feature_names[FEATURE_COUNT] = { "async", "generator", "await", "regexp-literal", "bigint-literal", "direct-eval", "import", "for-await" };

/* Walks the byte code as fxRemapIDs does; notes the features and turns CODE_n into CODE_ARCHIVE_n. */
static void walk_code(txByte* code, txSize size, int* features, int* archived)
{
	const txS1* sizes = gxCodeSizes;
	txByte* p = code;
	txByte* q = code + size;
	while (p < q) {
		txU1 op = *((txU1*)p);
		switch (op) {
		case XS_CODE_ASYNC_FUNCTION: features[FEATURE_ASYNC] = 1; break;
		case XS_CODE_ASYNC_GENERATOR_FUNCTION: features[FEATURE_ASYNC] = features[FEATURE_GENERATOR] = 1; break;
		case XS_CODE_GENERATOR_FUNCTION: features[FEATURE_GENERATOR] = 1; break;
		case XS_CODE_AWAIT: features[FEATURE_AWAIT] = 1; break;
		case XS_CODE_REGEXP: features[FEATURE_REGEXP] = 1; break;
		case XS_CODE_BIGINT_1: case XS_CODE_BIGINT_2: features[FEATURE_BIGINT] = 1; break;
		case XS_CODE_EVAL: case XS_CODE_EVAL_TAIL: features[FEATURE_EVAL] = 1; break;
		case XS_CODE_IMPORT: features[FEATURE_IMPORT] = 1; break;
		case XS_CODE_FOR_AWAIT_OF: features[FEATURE_FOR_AWAIT] = 1; break;
		case XS_CODE_CODE_1: *p = XS_CODE_CODE_ARCHIVE_1; (*archived)++; break;
		case XS_CODE_CODE_2: *p = XS_CODE_CODE_ARCHIVE_2; (*archived)++; break;
		case XS_CODE_CODE_4: *p = XS_CODE_CODE_ARCHIVE_4; (*archived)++; break;
		default: break;
		}
		/* CODE_n / CODE_ARCHIVE_n (same size): opcode + offset; the function's own code follows
		   inline, so the walk goes on into it */
		txS1 offset = (txS1)c_read8(sizes + op);
		if (0 < offset)
			p += offset;
		else if (0 == offset)
			p += 1 + sizeof(txID);
		else if (-1 == offset) {
			txU1 index = *((txU1*)(p + 1));
			p += 2 + index;
		}
		else if (-2 == offset) {
			txU2 index;
			p++;
			mxDecode2(p, index);
			p += index;
		}
		else if (-4 == offset) {
			txS4 index;
			p++;
			mxDecode4(p, index);
			p += index;
		}
	}
}

static void write_file(const char* dir, const char* name, const void* data, size_t size)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE* file = fopen(path, "wb");
	if (!file || (fwrite(data, 1, size, file) != size) || fclose(file)) {
		fprintf(stderr, "xs-host: cannot write %s\n", path);
		exit(73);
	}
}

static void json_string(FILE* file, const char* text)
{
	fputc('"', file);
	for (const unsigned char* p = (const unsigned char*)text; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(file, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(file, "\\u%04x", *p);
		else
			fputc(*p, file);
	}
	fputc('"', file);
}

static int command_compile(const char* path, const char* out)
{
	size_t size;
	char* text = read_file(path, &size);
	txMachine* the = xsCreateMachine(&host_creation, "xs-host", C_NULL);
	if (!the) {
		fprintf(stderr, "xs-host: cannot create the machine\n");
		return 70;
	}
	txID first_free_id = the->keyIndex;
	host_stream stream;
	txScript* script = C_NULL;
	xsBeginHost(the);
	{
		script = parse(the, &stream, text, size);
	}
	xsEndHost(the);
	if (!script)
		return 2;
	if (script->hostsBuffer) {
		fprintf(stderr, "error: 1:0: the script declares host functions (@ syntax), which the firmware cannot bind\n");
		return 2;
	}

	/* Names in symbol order, and the IDs the device gives them: it registers them in this order
	   right after creating its machine, which has made the same keys as this one. */
	txByte* p = script->symbolsBuffer;
	txID count, index;
	mxDecodeID(p, count);
	txID* ids = calloc(count ? count : 1, sizeof(txID));
	uint8_t* id_bytes = calloc(count ? count : 1, 2);
	char* names = (char*)p;
	size_t names_size = 0;
	ids[0] = XS_NO_ID;
	for (index = 1; index < count; index++) {
		txID id = fxNewNameC(the, (txString)p);
		ids[index] = id;
		id_bytes[2 * (index - 1)] = (uint8_t)(id & 0xFF);
		id_bytes[2 * (index - 1) + 1] = (uint8_t)(id >> 8);
		size_t length = strlen((char*)p) + 1;
		p += length;
		names_size += length;
	}
	fxRemapIDs(the, script->codeBuffer, script->codeSize, ids);
	int features[FEATURE_COUNT] = { 0 };
	int archived = 0;
	walk_code(script->codeBuffer, script->codeSize, features, &archived);

	write_file(out, "code.bin", script->codeBuffer, (size_t)script->codeSize);
	write_file(out, "symbols.bin", names, names_size);
	write_file(out, "ids.bin", id_bytes, 2 * (size_t)(count ? count - 1 : 0));

	char info_path[4096];
	snprintf(info_path, sizeof(info_path), "%s/info.json", out);
	FILE* info = fopen(info_path, "w");
	if (!info) {
		fprintf(stderr, "xs-host: cannot write %s\n", info_path);
		return 73;
	}
	/* keyCount: the keys the device's machine holds once it has registered the program's names (its key array's size at least) */
	fprintf(info, "{\n  \"codeSize\": %ld,\n  \"symbolsSize\": %ld,\n  \"symbolCount\": %d,\n  \"firstFreeId\": %d,\n  \"keyCount\": %d,\n  \"functionsInPlace\": %d,\n  \"xsVersion\": \"%d.%d.%d\",\n  \"features\": [",
		(long)script->codeSize, (long)names_size, (int)(count ? count - 1 : 0), (int)first_free_id, (int)the->keyIndex, archived, XS_MAJOR_VERSION, XS_MINOR_VERSION, XS_PATCH_VERSION);
	int first = 1;
	for (int i = 0; i < FEATURE_COUNT; i++) {
		if (!features[i])
			continue;
		fprintf(info, "%s\"%s\"", first ? "" : ", ", feature_names[i]);
		first = 0;
	}
	fprintf(info, "],\n  \"names\": [");
	p = (txByte*)names;
	for (index = 1; index < count; index++) {
		fprintf(info, "%s", (index > 1) ? ", " : "");
		json_string(info, (char*)p);
		p += strlen((char*)p) + 1;
	}
	fprintf(info, "]\n}\n");
	fclose(info);
	fxDeleteScript(script);
	xsDeleteMachine(the);
	free(ids);
	free(id_bytes);
	free(text);
	return 0;
}


/* ------------------------------------------------------------------ share (a measurement for the preloaded machine) */

/* Counts the live slots of every heap block by kind: what a preloaded machine would hold. */
static void count_heap(txMachine* the, long* total, long* byKind, int kinds)
{
	*total = 0;
	for (int i = 0; i < kinds; i++)
		byKind[i] = 0;
	txSlot* heap = the->firstHeap;
	while (heap) {
		txSlot* slot = heap + 1;
		txSlot* limit = heap->value.reference;
		while (slot < limit) {
			if (slot->kind != XS_UNDEFINED_KIND) {
				(*total)++;
				int k = (int)slot->kind + 1;
				if ((k >= 0) && (k < kinds))
					byKind[k]++;
			}
			slot++;
		}
		heap = heap->next;
	}
}

/* xs-host share [FILE.js] [--strip A,B]: builds the machine as the device does (the built-ins; with
   FILE.js, also its top level, as a classic script), collects, then calls the engine's own
   fxShareMachine and reports what a preloaded machine (fxPrepareMachine) would hold: slots by
   kind, chunk bytes, instances that stay frozen (no alias) and those that get an alias (copied to
   RAM on their first write). Slot counts do not depend on the host; bytes are printed for the
   device's 16-byte slot. */
static int command_share(const char* path)
{
	txMachine* the = xsCreateMachine(&host_creation, "xs-host", C_NULL);
	if (!the) {
		fprintf(stderr, "xs-host: cannot create the machine\n");
		return 70;
	}
	int status = 0;
	if (path) {
		size_t size;
		char* text = read_file(path, &size);
		xsBeginHost(the);
		{
			status = run_text(the, text, size);
		}
		xsEndHost(the);
		free(text);
		if (status)
			return status;
	}
	enum { KINDS = 64 };
	long total, byKind[KINDS];
	fxCollectGarbage(the);
	long chunks = (long)the->currentChunksSize;
	fxShareMachine(the);
	count_heap(the, &total, byKind, KINDS);
	/* free slots are undefined too: the live count is the engine's own */
	total = (long)the->currentHeapCount;
	byKind[XS_UNDEFINED_KIND + 1] = 0;
	long instances = byKind[XS_INSTANCE_KIND + 1], aliased = 0, closures = 0;
	txSlot* heap = the->firstHeap;
	while (heap) {
		for (txSlot* slot = heap + 1; slot < heap->value.reference; slot++) {
			if ((slot->kind == XS_INSTANCE_KIND) && (slot->ID != XS_NO_ID))
				aliased++;
			if (slot->kind == XS_CLOSURE_KIND)
				closures++;
		}
		heap = heap->next;
	}
	printf("{\n  \"slots\": %ld,\n  \"slotBytesOnDevice\": %ld,\n  \"chunkBytesOnHost\": %ld,\n  \"keys\": %d,\n  \"instances\": %ld,\n  \"instancesFrozen\": %ld,\n  \"aliases\": %d,\n  \"aliasedInstances\": %ld,\n  \"closureSlots\": %ld,\n  \"byKind\": {",
		total, total * 16, chunks, (int)the->keyIndex, instances, instances - aliased, (int)the->aliasCount, aliased, closures);
	static const char* const names[] = { "uninitialized", "undefined", "null", "boolean", "integer", "number", "string", "stringX", "symbol", "bigint", "bigintX", "reference", "closure", "frame", "instance",
		"argumentsSloppy", "argumentsStrict", "array", "arrayBuffer", "callback", "code", "codeX", "date", "dataView", "finalizationCell", "finalizationRegistry", "global", "host", "map", "module", "program",
		"promise", "proxy", "regexp", "set", "typedArray", "weakMap", "weakRef", "weakSet", "accessor", "at", "entry", "error", "home", "key", "keyX", "list", "private", "stack", "var", "callbackX",
		"hostFunction", "hostInspector", "instanceInspector", "export", "weakEntry", "bufferInfo", "moduleSource", "ids" };
	int first = 1;
	for (int k = 0; k < KINDS; k++) {
		if (!byKind[k])
			continue;
		printf("%s\n    \"%s\": %ld", first ? "" : ",", (k < (int)(sizeof(names) / sizeof(names[0]))) ? names[k] : "?", byKind[k]);
		first = 0;
	}
	printf("\n  }\n}\n");
	fflush(stdout);
	return 0;
}

#include "xs_preload.c"

int main(int argc, char** argv)
{
	uint16_t probe = 1;
	if (*(uint8_t*)&probe != 1) {
		fprintf(stderr, "xs-host: this host is big-endian; the firmware's byte code is little-endian\n");
		return 64;
	}
	char here;
	stack_limit = (char*)((uintptr_t)&here - (2u << 20)); /* well inside the usual 8 MB main stack */
	const char* strip = C_NULL;
	const char* positional[3] = { C_NULL, C_NULL, C_NULL };
	int positionals = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--strip") && (i + 1 < argc))
			strip = argv[++i];
		else if (!strcmp(argv[i], "--debug"))
			keep_lines = 1;
		else if (positionals < 3)
			positional[positionals++] = argv[i];
	}
	if (strip && *strip)
		parse_strip(strip);
	if ((positionals == 2) && !strcmp(positional[0], "run"))
		return command_run(positional[1]);
	if ((positionals >= 1) && (positionals <= 2) && !strcmp(positional[0], "share"))
		return command_share(positionals == 2 ? positional[1] : C_NULL);
	if ((positionals == 2) && !strcmp(positional[0], "preload"))
		return command_preload(positional[1], C_NULL);
	if ((positionals == 3) && !strcmp(positional[0], "preload"))
		return command_preload(positional[1], positional[2]);
	if ((positionals == 3) && !strcmp(positional[0], "compile"))
		return command_compile(positional[1], positional[2]);
	fprintf(stderr, "usage: xs-host run FILE.js [--strip A,B] | xs-host share [FILE.js] [--strip A,B] | xs-host compile FILE.js OUTDIR [--strip A,B] [--debug]\n");
	return 64;
}
