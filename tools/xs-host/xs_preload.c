/*
 * xs-host preload OUT.c: the preloaded machine's generator (ours; issue 10's "big step").
 * Included by xs_host.c. It builds the machine exactly as the device does (the image's own
 * gxBuiltinBuilders, gxCallbackTable and feature tables are linked into this xs-host: see
 * tools/build-firmware.ts, "preload"), collects, calls the engine's fxShareMachine (every
 * instance that can be written gets an alias index, every slot the mark flag), then writes C
 * source of a txPreparation for the target compiler, which the firmware hands to
 * fxPrepareMachine (firmware/platform/xs/xs_platform.c, XS_RPMSG_PRELOAD):
 *
 *   - the live heap slots, renumbered without the free ones, as initializers of one const array
 *     (xs_preload_heap); every slot pointer (next, references, prototypes, accessors, homes,
 *     closures) becomes &xs_preload_heap[n] (or &xs_preload_stack[n]);
 *   - the machine's stack (the roots and the prototypes) as xs_preload_stack;
 *   - chunk-allocated strings and keys as C string literals (XS_STRING_X / XS_KEY_X: constant,
 *     never marked nor freed); constant strings likewise (the linker merges equal literals);
 *   - array item tables and the global's intrinsics table as static arrays behind a txChunk
 *     header (the engine reads an array's length from it and copies it into an alias);
 *   - host functions by name (looked up in the image's gxCallbackTable, patch 0002; the
 *     stripped methods' fxStrippedCallback too), typed-array dispatches as &gxTypeDispatches[i],
 *     &gxTypeAtomics[i], the engine's empty code as gxNoCode;
 *   - the key array, the name and symbol hash tables (the same moduli as the device's creation).
 *
 * The layout of a slot is the target's (16 bytes on the Cortex-M, 32 here): the source carries
 * values and references, never host addresses. Anything else (a slot kind or a pointer the
 * generator does not know) stops it with a message naming the slot: nothing is guessed.
 */

#include <stdint.h>

typedef struct {
	txSlot* start;
	txSlot* limit;
	int32_t* index; /* per slot of the block: its index in xs_preload_heap, -1 when free, -2 the header */
} preload_block;

static preload_block* preload_blocks;
static int preload_block_count;
static int32_t preload_heap_count; /* including xs_preload_heap[0], the heap header */
static txSlot* preload_stack_bottom;
static txSlot* preload_stack_top;
static int preload_array_count;
static FILE* preload_out;
static txMachine* preload_machine;
/* --program DIR: the precompiler's output, run here as the device would run it; code and names
   the heap points into are written as offsets into the image's xs_app_code and xs_app_symbols */
static txByte* preload_code;
static size_t preload_code_size;
static char* preload_symbols;
static size_t preload_symbols_size;

/* Host functions by name: every one of xsCallbacks.h (patch 0002), plus the stripped methods' one. */
#ifdef mxCallbackTable
#define XS_CALLBACK(NAME) extern void NAME(txMachine* the) __attribute__((weak));
#include "xsCallbacks.h"
#undef XS_CALLBACK
extern void fxStrippedCallback(txMachine* the) __attribute__((weak));
static const struct { const char* name; txCallback address; } preload_callbacks[] = {
#define XS_CALLBACK(NAME) { #NAME, NAME },
#include "xsCallbacks.h"
#undef XS_CALLBACK
	{ "fxStrippedCallback", fxStrippedCallback },
};
#define PRELOAD_CALLBACK_COUNT (sizeof(preload_callbacks) / sizeof(preload_callbacks[0]))
#endif

static void preload_fail(const char* what, txSlot* slot)
{
	fprintf(stderr, "xs-host preload: %s (slot kind %d, flag 0x%x, ID %d)\n", what, slot ? (int)slot->kind : -1, slot ? (unsigned)slot->flag : 0, slot ? (int)slot->ID : 0);
	exit(70);
}

static int32_t preload_heap_index(txSlot* slot)
{
	for (int b = 0; b < preload_block_count; b++) {
		preload_block* block = &preload_blocks[b];
		if ((block->start <= slot) && (slot < block->limit))
			return block->index[slot - block->start];
	}
	return -3;
}

/* A slot pointer as a C constant expression. */
static void preload_pointer(txSlot* slot, txSlot* owner, const char* field)
{
	if (!slot) {
		fputs("C_NULL", preload_out);
		return;
	}
	int32_t index = preload_heap_index(slot);
	if (index >= 0) {
		fprintf(preload_out, "&xs_preload_heap[%ld]", (long)index);
		return;
	}
	if ((preload_stack_bottom <= slot) && (slot < preload_stack_top)) {
		fprintf(preload_out, "&xs_preload_stack[%ld]", (long)(slot - preload_stack_bottom));
		return;
	}
	char what[160];
	snprintf(what, sizeof(what), "%s points %s", field, (index == -1) ? "at a free slot" : (index == -2) ? "at a heap header" : "outside the heap and the stack");
	preload_fail(what, owner);
}

/* A constant array of slot pointers into the preload (keys, name and symbol tables); an empty one
   holds a single C_NULL, as C has no empty arrays. */
static void preload_table(FILE* out, const char* name, txSlot** table, long count, const char* what)
{
	fprintf(out, "static txSlot* const %s[%ld] = {\n", name, count ? count : 1);
	for (long i = 0; i < count; i++) {
		fputs("\t(txSlot*)", out);
		preload_pointer(table[i], C_NULL, what);
		fputs(",\n", out);
	}
	if (!count)
		fputs("\tC_NULL,\n", out);
	fputs("};\n\n", out);
}

static void preload_string(const char* text)
{
	fputc('"', preload_out);
	for (const unsigned char* p = (const unsigned char*)text; *p; p++) {
		if ((*p == '"') || (*p == '\\') || (*p == '?'))
			fprintf(preload_out, "\\%03o", *p);
		else if ((*p < 0x20) || (*p >= 0x7F))
			fprintf(preload_out, "\\%03o", *p);
		else
			fputc(*p, preload_out);
	}
	fputc('"', preload_out);
}

/* A constant string: inside the program's code or names, an offset into the image's copy; else a literal. */
static void preload_text(const char* text)
{
	if (preload_symbols && (text >= preload_symbols) && (text < preload_symbols + preload_symbols_size))
		fprintf(preload_out, "(txString)(xs_app_symbols + %ld)", (long)(text - preload_symbols));
	else if (preload_code && ((const txByte*)text >= preload_code) && ((const txByte*)text < preload_code + preload_code_size))
		fprintf(preload_out, "(txString)(xs_app_code + %ld)", (long)((const txByte*)text - preload_code));
	else {
		fputs("(txString)", preload_out);
		preload_string(text);
	}
}

static void preload_number(double number)
{
	if (number != number)
		fputs("__builtin_nan(\"\")", preload_out);
	else if (number == INFINITY)
		fputs("__builtin_inf()", preload_out);
	else if (number == -INFINITY)
		fputs("(-__builtin_inf())", preload_out);
	else
		fprintf(preload_out, "%a", number);
}

/* Arrays and tables are written before the heap (they only reference it). */
typedef struct { txSlot* owner; int number; } preload_array;
static preload_array* preload_arrays;
static int preload_array_capacity;

static int preload_array_number(txSlot* owner)
{
	for (int i = 0; i < preload_array_count; i++)
		if (preload_arrays[i].owner == owner)
			return preload_arrays[i].number;
	preload_fail("an array the generator did not list", owner);
	return -1;
}

static void preload_value(txSlot* slot, int in_array);

static void preload_flags(txSlot* slot, int in_heap)
{
	txKind kind = slot->kind;
	if (kind == XS_STRING_KIND)
		kind = XS_STRING_X_KIND;
	else if (kind == XS_KEY_KIND)
		kind = XS_KEY_X_KIND;
	fputs("{ .next = ", preload_out);
	if (in_heap)
		preload_pointer(slot->next, slot, "next");
	else
		fputs("C_NULL", preload_out);
	/* heap slots keep fxShare's mark flag: the clone's collector never walks into them */
	fprintf(preload_out, ", .ID = %d, .flag = 0x%x, .kind = %d", (int)slot->ID, (unsigned)(in_heap ? (slot->flag | XS_MARK_FLAG) : slot->flag), (int)kind);
	preload_value(slot, in_heap == 0 ? 1 : 0);
	fputs(" }", preload_out);
}

static void preload_value(txSlot* slot, int in_array)
{
	FILE* out = preload_out;
	switch (slot->kind) {
	case XS_UNINITIALIZED_KIND:
	case XS_UNDEFINED_KIND:
	case XS_NULL_KIND:
		break;
	case XS_BOOLEAN_KIND:
		fprintf(out, ", .value.boolean = %d", (int)slot->value.boolean);
		break;
	case XS_INTEGER_KIND:
		fprintf(out, ", .value.integer = %ld", (long)slot->value.integer);
		break;
	case XS_NUMBER_KIND:
		fputs(", .value.number = ", out);
		preload_number(slot->value.number);
		break;
	case XS_STRING_KIND:
	case XS_STRING_X_KIND:
		fputs(", .value.string = ", out);
		preload_text(slot->value.string);
		break;
	case XS_SYMBOL_KIND:
		fprintf(out, ", .value.symbol = %ld", (long)slot->value.symbol);
		break;
	case XS_REFERENCE_KIND:
		fputs(", .value.reference = ", out);
		preload_pointer(slot->value.reference, slot, "reference");
		break;
	case XS_CLOSURE_KIND:
		fputs(", .value.closure = ", out);
		preload_pointer(slot->value.closure, slot, "closure");
		break;
	case XS_INSTANCE_KIND:
		if (slot->value.instance.garbage)
			preload_fail("an instance with garbage", slot);
		fputs(", .value.instance = { .garbage = C_NULL, .prototype = ", out);
		preload_pointer(slot->value.instance.prototype, slot, "prototype");
		fputs(" }", out);
		break;
	case XS_ARRAY_KIND:
		if (in_array)
			preload_fail("an array inside an array", slot);
		if (slot->value.array.address)
			fprintf(out, ", .value.array = { .address = (txSlot*)xs_preload_array_%d.items, .length = %lu }", preload_array_number(slot), (unsigned long)slot->value.array.length);
		else
			fprintf(out, ", .value.array = { .address = C_NULL, .length = %lu }", (unsigned long)slot->value.array.length);
		break;
	case XS_GLOBAL_KIND:
		fprintf(out, ", .value.table = { .address = (txSlot**)xs_preload_array_%d.items, .length = %lu }", preload_array_number(slot), (unsigned long)slot->value.table.length);
		break;
	case XS_CALLBACK_KIND: {
#ifdef mxCallbackTable
		size_t i;
		for (i = 0; i < PRELOAD_CALLBACK_COUNT; i++)
			if (preload_callbacks[i].address && (preload_callbacks[i].address == slot->value.callback.address))
				break;
		if (i == PRELOAD_CALLBACK_COUNT)
			preload_fail("a host function that is not in the callback table (xsCallbacks.h)", slot);
		fprintf(out, ", .value.callback = { .address = %s, .closures = ", preload_callbacks[i].name);
		preload_pointer(slot->value.callback.closures, slot, "callback closures");
		fputs(" }", out);
#else
		preload_fail("host functions need the engine with patch 0002 (mxCallbackTable)", slot);
#endif
		} break;
	case XS_CODE_X_KIND:
		if (slot->value.code.address == (txByte*)gxNoCode)
			fputs(", .value.code = { .address = (txByte*)gxNoCode, .closures = ", out);
		else if (preload_code && (slot->value.code.address >= preload_code) && (slot->value.code.address < preload_code + preload_code_size))
			fprintf(out, ", .value.code = { .address = (txByte*)(xs_app_code + %ld), .closures = ", (long)(slot->value.code.address - preload_code));
		else
			preload_fail("code in place outside the program's byte code", slot);
		preload_pointer(slot->value.code.closures, slot, "code closures");
		fputs(" }", out);
		break;
	case XS_TYPED_ARRAY_KIND: {
		long dispatch = (long)(slot->value.typedArray.dispatch - (txTypeDispatch*)&gxTypeDispatches[0]);
		long atomics = (long)(slot->value.typedArray.atomics - (txTypeAtomics*)&gxTypeAtomics[0]);
		if ((dispatch < 0) || (dispatch >= mxTypeArrayCount) || (atomics < 0) || (atomics >= mxTypeArrayCount))
			preload_fail("a typed array dispatch outside gxTypeDispatches", slot);
		fprintf(out, ", .value.typedArray = { .dispatch = (txTypeDispatch*)&gxTypeDispatches[%ld], .atomics = (txTypeAtomics*)&gxTypeAtomics[%ld] }", dispatch, atomics);
		} break;
	case XS_ACCESSOR_KIND:
		fputs(", .value.accessor = { .getter = ", out);
		preload_pointer(slot->value.accessor.getter, slot, "getter");
		fputs(", .setter = ", out);
		preload_pointer(slot->value.accessor.setter, slot, "setter");
		fputs(" }", out);
		break;
	case XS_HOME_KIND:
		fputs(", .value.home = { .object = ", out);
		preload_pointer(slot->value.home.object, slot, "home object");
		fputs(", .module = ", out);
		preload_pointer(slot->value.home.module, slot, "home module");
		fputs(" }", out);
		break;
	case XS_KEY_KIND:
	case XS_KEY_X_KIND:
		fputs(", .value.key = { .string = ", out);
		preload_text(slot->value.key.string);
		fprintf(out, ", .sum = %luu }", (unsigned long)slot->value.key.sum);
		break;
	case XS_MODULE_KIND:
	case XS_PROGRAM_KIND:
		fputs(", .value.module = { .realm = ", out);
		preload_pointer(slot->value.module.realm, slot, "module realm");
		fprintf(out, ", .id = %ld }", (long)slot->value.module.id);
		break;
	default:
		preload_fail("a slot kind the generator does not write", slot);
	}
}

static void preload_note_array(txSlot* slot)
{
	if ((slot->kind == XS_ARRAY_KIND && slot->value.array.address) || (slot->kind == XS_GLOBAL_KIND)) {
		if (preload_array_count == preload_array_capacity) {
			preload_array_capacity = preload_array_capacity ? 2 * preload_array_capacity : 16;
			preload_arrays = realloc(preload_arrays, preload_array_capacity * sizeof(preload_array));
		}
		preload_arrays[preload_array_count].owner = slot;
		preload_arrays[preload_array_count].number = preload_array_count;
		preload_array_count++;
	}
}

static void preload_write_array(preload_array* array)
{
	txSlot* slot = array->owner;
	FILE* out = preload_out;
	if (slot->kind == XS_GLOBAL_KIND) {
		txSize length = (txSize)slot->value.table.length;
		fprintf(out, "static const struct { txChunk chunk; txSlot* items[%ld]; } xs_preload_array_%d = { { .size = %ld * sizeof(txSlot*), .temporary = C_NULL }, {\n", (long)length, array->number, (long)length);
		for (txSize i = 0; i < length; i++) {
			fputs("\t", out);
			preload_pointer(slot->value.table.address[i], slot, "intrinsics table entry");
			fputs(",\n", out);
		}
		fputs("} };\n", out);
		return;
	}
	txSlot* items = slot->value.array.address;
	txSize size = ((txChunk*)(((txByte*)items) - sizeof(txChunk)))->size;
	txSize count = size / (txSize)sizeof(txSlot);
	fprintf(out, "static const struct { txChunk chunk; txSlot items[%ld]; } xs_preload_array_%d = { { .size = %ld * sizeof(txSlot), .temporary = C_NULL }, {\n", (long)count, array->number, (long)count);
	for (txSize i = 0; i < count; i++) {
		fputs("\t", out);
		preload_flags(&items[i], 0);
		fputs(",\n", out);
	}
	fputs("} };\n", out);
}

static int command_preload_write(txMachine* the, const char* path)
{
	preload_machine = the;
	/* The global object's intrinsics table (XS_GLOBAL_KIND) is a cache its behavior fills on lookups:
	   it would write into flash. The shared global becomes an ordinary object (the clone's own
	   global, an ordinary object too, has it as its prototype; patch 0101 caches those lookups). */
	txSlot* global = mxGlobal.value.reference;
	if (global->next && (global->next->kind == XS_GLOBAL_KIND)) {
		global->next = global->next->next;
		global->flag &= ~XS_EXOTIC_FLAG;
	}
	fxCollectGarbage(the);
	fxShareMachine(the);

	/* the free slots: the sweep's free list */
	int blocks = 0;
	for (txSlot* heap = the->firstHeap; heap; heap = heap->next)
		blocks++;
	preload_blocks = calloc(blocks, sizeof(preload_block));
	preload_block_count = blocks;
	int b = 0;
	for (txSlot* heap = the->firstHeap; heap; heap = heap->next, b++) {
		preload_blocks[b].start = heap;
		preload_blocks[b].limit = heap->value.reference;
		preload_blocks[b].index = calloc(heap->value.reference - heap, sizeof(int32_t));
		preload_blocks[b].index[0] = -2;
	}
	for (txSlot* free_slot = the->freeHeap; free_slot; free_slot = free_slot->next) {
		for (b = 0; b < blocks; b++)
			if ((preload_blocks[b].start < free_slot) && (free_slot < preload_blocks[b].limit))
				preload_blocks[b].index[free_slot - preload_blocks[b].start] = -1;
	}
	preload_heap_count = 1;
	for (b = 0; b < blocks; b++) {
		preload_block* block = &preload_blocks[b];
		for (txSlot* slot = block->start + 1; slot < block->limit; slot++) {
			if (block->index[slot - block->start] == -1)
				continue;
			block->index[slot - block->start] = preload_heap_count++;
			preload_note_array(slot);
		}
	}
	preload_stack_bottom = the->stack;
	preload_stack_top = the->stackTop;
	for (txSlot* slot = the->stack; slot < the->stackTop; slot++)
		preload_note_array(slot);

	preload_out = fopen(path, "w");
	if (!preload_out) {
		fprintf(stderr, "xs-host preload: cannot write %s\n", path);
		return 73;
	}
	FILE* out = preload_out;
	long stack_count = (long)(the->stackTop - the->stack);
	fprintf(out, "/* Generated by tools/xs-host (xs-host preload): the preloaded machine, %ld slots, %ld stack slots, %ld keys, %ld aliases. Do not edit. */\n",
		(long)preload_heap_count, stack_count, (long)the->keyIndex, (long)the->aliasCount);
	fputs("#include \"xsAll.h\"\n#include \"xs.h\"\n\n", out);
	if (preload_code)
		fputs("/* the program's byte code and names (xs_app_program.S) */\nextern const txByte xs_app_code[];\nextern const char xs_app_symbols[];\n\n", out);
#ifdef mxCallbackTable
	for (size_t i = 0; i < PRELOAD_CALLBACK_COUNT; i++)
		fprintf(out, "extern void %s(txMachine* the);\n", preload_callbacks[i].name);
#endif
	fprintf(out, "\nstatic const txSlot xs_preload_heap[%ld];\nstatic const txSlot xs_preload_stack[%ld];\n\n", (long)preload_heap_count, stack_count);
	for (int i = 0; i < preload_array_count; i++)
		preload_write_array(&preload_arrays[i]);

	fprintf(out, "\nstatic const txSlot xs_preload_heap[%ld] = {\n", (long)preload_heap_count);
	fprintf(out, "\t{ .next = C_NULL, .ID = 0, .flag = 0, .kind = %d, .value.reference = (txSlot*)&xs_preload_heap[%ld] },\n", (int)XS_REFERENCE_KIND, (long)preload_heap_count);
	for (b = 0; b < blocks; b++) {
		preload_block* block = &preload_blocks[b];
		for (txSlot* slot = block->start + 1; slot < block->limit; slot++) {
			if (block->index[slot - block->start] < 0)
				continue;
			fputs("\t", out);
			preload_flags(slot, 1);
			fprintf(out, ", /* %ld */\n", (long)block->index[slot - block->start]);
		}
	}
	fputs("};\n\n", out);

	fprintf(out, "static const txSlot xs_preload_stack[%ld] = {\n", stack_count);
	for (txSlot* slot = the->stack; slot < the->stackTop; slot++) {
		fputs("\t", out);
		preload_flags(slot, 0);
		fputs(",\n", out);
	}
	fputs("};\n\n", out);

	preload_table(out, "xs_preload_keys", the->keyArray, the->keyIndex, "key");
	preload_table(out, "xs_preload_names", the->nameTable, the->nameModulo, "name table entry");
	preload_table(out, "xs_preload_symbols", the->symbolTable, the->symbolModulo, "symbol table entry");

	fprintf(out, "/* fxPrepareMachine's input (firmware/platform/xs/xs_platform.c); the device's own creation sizes are passed beside it. */\n");
	fprintf(out, "const txPreparation xs_preload_preparation = {\n");
	fprintf(out, "\t.version = { %d, %d, %d, 0 },\n", XS_MAJOR_VERSION, XS_MINOR_VERSION, XS_PATCH_VERSION);
	fprintf(out, "\t.aliasCount = %ld,\n", (long)the->aliasCount);
	fprintf(out, "\t.heapCount = %ld,\n\t.heap = (txSlot*)xs_preload_heap,\n", (long)preload_heap_count);
	fprintf(out, "\t.stackCount = %ld,\n\t.stack = (txSlot*)xs_preload_stack,\n", stack_count);
	fprintf(out, "\t.colors = C_NULL,\n");
	fprintf(out, "\t.keyCount = %ld,\n\t.keys = (txSlot**)xs_preload_keys,\n", (long)the->keyIndex);
	fprintf(out, "\t.nameModulo = %ld,\n\t.names = (txSlot**)xs_preload_names,\n", (long)the->nameModulo);
	fprintf(out, "\t.symbolModulo = %ld,\n\t.symbols = (txSlot**)xs_preload_symbols,\n", (long)the->symbolModulo);
	fprintf(out, "\t.scriptCount = 0,\n\t.scripts = C_NULL,\n");
	fprintf(out, "\t.profileID = %ld,\n", (long)the->profileID);
	fprintf(out, "\t.main = C_NULL,\n};\n");
	if (fclose(out)) {
		fprintf(stderr, "xs-host preload: cannot write %s\n", path);
		return 73;
	}
	fprintf(stdout, "{ \"slots\": %ld, \"stack\": %ld, \"keys\": %ld, \"aliases\": %ld, \"arrays\": %d }\n",
		(long)preload_heap_count, stack_count, (long)the->keyIndex, (long)the->aliasCount, preload_array_count);
	return 0;
}

/* xs-host preload OUT.c [--creation-from-image]: the machine as the device creates it (with the
   image's own builders and callback table when this xs-host is the image's generator). */
static int command_preload(const char* path, const char* program_dir)
{
#ifdef XS_HOST_IMAGE_CONFIG
	xsCreation creation = xs_build_creation;
	/* the device's name and symbol moduli (fxCloneMachine copies the tables as they are), a roomy heap */
	creation.initialHeapCount = 16384;
	creation.incrementalHeapCount = 4096;
	creation.initialChunkSize = 256 * 1024;
	creation.initialKeyCount = 4096;
	creation.stackCount = 4096;
	txMachine* the = xsCreateMachine(&creation, "xs-host", C_NULL);
#else
	txMachine* the = xsCreateMachine(&host_creation, "xs-host", C_NULL);
#endif
	if (!the) {
		fprintf(stderr, "xs-host: cannot create the machine\n");
		return 70;
	}
	the->promiseJobs = 0;
	if (program_dir) {
		/* as the device's xs_program_prepare and xs_program_run (xs_program_bytecode.c) do */
		char path_buffer[4096];
		size_t ids_size;
		snprintf(path_buffer, sizeof(path_buffer), "%s/code.bin", program_dir);
		preload_code = (txByte*)read_file(path_buffer, &preload_code_size);
		snprintf(path_buffer, sizeof(path_buffer), "%s/symbols.bin", program_dir);
		preload_symbols = read_file(path_buffer, &preload_symbols_size);
		snprintf(path_buffer, sizeof(path_buffer), "%s/ids.bin", program_dir);
		uint8_t* ids = (uint8_t*)read_file(path_buffer, &ids_size);
		const char* name = preload_symbols;
		for (size_t index = 0; index < ids_size / 2; index++) {
			txID id = fxNewNameX(the, (txString)name);
			txID expected = (txID)(ids[2 * index] | (ids[2 * index + 1] << 8));
			if (id != expected) {
				fprintf(stderr, "xs-host preload: name %ld \"%s\" has ID %d here, %d in the byte code: not the image's machine\n", (long)index + 1, name, (int)id, (int)expected);
				return 70;
			}
			name += strlen(name) + 1;
		}
		int status = 0;
		xsBeginHost(the);
		{
			xsTry {
				txScript script;
				c_memset(&script, 0, sizeof(script));
				script.codeBuffer = (txS1*)preload_code;
				script.codeSize = (txSize)preload_code_size;
				txSlot* realm = mxProgram.value.reference->next->value.module.realm;
				fxRunScript(the, &script, mxRealmGlobal(realm), C_NULL, mxRealmClosures(realm)->value.reference, C_NULL, mxProgram.value.reference);
				mxPop();
				drain(the);
			}
			xsCatch {
				fprintf(stderr, "xs-host preload: the program's top level threw at build time: %s\n", xsToString(xsException));
				status = 1;
			}
		}
		xsEndHost(the);
		if (status)
			return 70;
	}
	return command_preload_write(the, path);
}
