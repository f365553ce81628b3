/*
 * xs-rpmsg instruction-counting TCG plugin for qemu-system-arm (QEMU plugin API version 1,
 * as in Debian's QEMU 7.2). qemu-plugin.h is not packaged, so the few v1 declarations used
 * are written out below; they match include/qemu/qemu-plugin.h of QEMU 7.2.
 *
 * Every guest instruction gets an exec callback (exact: counts what executed, not what was
 * translated). The callback's userdata is the instruction's kind, decided at translation
 * time from the addresses given as arguments:
 *
 *   begin=ADDR     a pass starts when the instruction at ADDR executes (entry of xs_bench_pass_begin)
 *   end=ADDR       the pass ends when ADDR executes (entry of xs_bench_pass_end)
 *   exclude=LO-HI  [LO, HI) is not counted inside a pass (interrupt handlers); repeatable
 *   notify=ADDR    entry of xs_board_notify: counted per pass (one per echo sent)
 *   slot=ADDR chunk=ADDR gc=ADDR   entries of fxNewSlot, fxNewChunk/fxNewGrowableChunk, fxCollect (repeatable)
 *   fd=N           where the lines go (default 2, QEMU's stderr)
 *   profile=PATH   also count executions per instruction address inside passes (code below
 *                  4 MB) and write "<address hex> <count>" lines to PATH when QEMU exits
 *                  normally (QMP quit), for a flat profile by symbol; also
 *                  "caller <slot|chunk|gc> <address hex> <count>": the instruction executed just
 *                  before each allocator entry inside passes (the call site)
 *   bootprofile=PATH the same per-address counts for the boot (what the boot count counts),
 *                  written to PATH at exit
 *
 * At the end of every pass one line is written:
 *   xsbench pass <insns> <notifies> <slots> <chunks> <gcs> <excluded> <all> <all slots> <all chunks> <all gcs>
 * insns: counted instructions of the pass (from begin to end, excluded ranges left out);
 * excluded: instructions in excluded ranges during the pass; all: every guest instruction
 * executed since QEMU started (idle loop, interrupts, boot: for context only); all slots/chunks/gcs:
 * XS allocations and collections anywhere since QEMU started (inside and outside passes).
 * Boot: from the first instruction until the first one at a notify= address (the firmware's first
 * doorbell ring: the name-service announcement), every instruction is counted except those in
 * exclude= ranges and in bootexclude=LO-HI ranges (the idle wait: its count depends on how long
 * the host took), then one line: xsbench boot <insns> <all>
 * At exit: xsbench exit <all>
 * Thumb addresses: pass them with bit 0 clear (the plugin clears it anyway).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the v1 API subset (QEMU 7.2 include/qemu/qemu-plugin.h) ---- */
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t; /* not read */
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb* tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void* userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void* userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb* tb);
struct qemu_plugin_insn* qemu_plugin_tb_get_insn(const struct qemu_plugin_tb* tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn* insn);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn* insn, qemu_plugin_vcpu_udata_cb_t cb, enum qemu_plugin_cb_flags flags, void* userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void* userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* ---- configuration ---- */
#define MAX_ADDRESSES 16
enum {
	KIND_PLAIN = 0,
	KIND_EXCLUDED = 1 << 0,
	KIND_BEGIN = 1 << 1,
	KIND_END = 1 << 2,
	KIND_NOTIFY = 1 << 3,
	KIND_SLOT = 1 << 4,
	KIND_CHUNK = 1 << 5,
	KIND_GC = 1 << 6,
	KIND_BOOT_EXCLUDED = 1 << 7,
};
typedef struct { uint64_t address; unsigned kind; } marker;
typedef struct { uint64_t low, high; } range;
static marker markers[MAX_ADDRESSES];
static unsigned marker_count = 0;
static range excluded[MAX_ADDRESSES];
static unsigned excluded_kind[MAX_ADDRESSES];
static unsigned excluded_count = 0;
static int out_fd = 2;

/* ---- state (one vCPU: mps2 is a single Cortex-M) ---- */
static uint64_t all = 0;
static int in_pass = 0;
static int boot_done = 0;
static uint64_t boot_insns = 0;
static uint64_t pass_insns, pass_excluded, pass_notifies, pass_slots, pass_chunks, pass_gcs;
static uint64_t all_slots, all_chunks, all_gcs;
#define PROFILE_LIMIT (4u << 20)
static uint32_t* profile = NULL; /* per halfword address below PROFILE_LIMIT */
static const char* profile_path = NULL;
static uint32_t* boot_profile = NULL; /* the same, for the boot count */
static const char* boot_profile_path = NULL;
/* with profile: who called the allocators inside passes (the address executed just before their entry) */
#define MAX_CALLERS 256
typedef struct { uint64_t caller; unsigned kind; uint64_t count; } caller_count;
static caller_count callers[MAX_CALLERS];
static unsigned caller_total = 0;
static uint64_t last_address = 0;

static void count_caller(unsigned kind)
{
	unsigned index;
	for (index = 0; index < caller_total; index++) {
		if ((callers[index].caller == last_address) && (callers[index].kind == kind)) {
			callers[index].count++;
			return;
		}
	}
	if (caller_total < MAX_CALLERS) {
		callers[caller_total].caller = last_address;
		callers[caller_total].kind = kind;
		callers[caller_total].count = 1;
		caller_total++;
	}
}

static void emit(const char* line)
{
	size_t length = strlen(line), done = 0;
	while (done < length) {
		ssize_t n = write(out_fd, line + done, length - done);
		if (n <= 0)
			return;
		done += (size_t)n;
	}
}

static inline void profile_count(void* userdata)
{
	uint64_t address = (uint64_t)(uintptr_t)userdata >> 8;
	if (address < PROFILE_LIMIT)
		profile[address >> 1]++;
}

static void on_exec(unsigned int vcpu, void* userdata)
{
	(void)vcpu;
	unsigned kind = (unsigned)((uintptr_t)userdata & 0xff);
	all++;
	if (!boot_done) {
		if (kind & KIND_NOTIFY) {
			char line[80];
			snprintf(line, sizeof line, "xsbench boot %llu %llu\n", (unsigned long long)boot_insns, (unsigned long long)all);
			emit(line);
			boot_done = 1;
		}
		else if (!(kind & (KIND_EXCLUDED | KIND_BOOT_EXCLUDED))) {
			boot_insns++;
			if (boot_profile) {
				uint64_t address = (uint64_t)(uintptr_t)userdata >> 8;
				if (address < PROFILE_LIMIT)
					boot_profile[address >> 1]++;
			}
		}
	}
	if (kind == KIND_PLAIN) {
		if (in_pass) {
			pass_insns++;
			if (profile)
				profile_count(userdata);
		}
		if (profile)
			last_address = (uint64_t)(uintptr_t)userdata >> 8;
		return;
	}
	if (kind & KIND_SLOT)
		all_slots++;
	if (kind & KIND_CHUNK)
		all_chunks++;
	if (kind & KIND_GC)
		all_gcs++;
	if (kind & KIND_BEGIN) {
		in_pass = 1;
		pass_insns = pass_excluded = pass_notifies = pass_slots = pass_chunks = pass_gcs = 0;
	}
	if (!in_pass) {
		if (profile)
			last_address = (uint64_t)(uintptr_t)userdata >> 8;
		return;
	}
	if (profile && (kind & (KIND_SLOT | KIND_CHUNK | KIND_GC)))
		count_caller(kind & (KIND_SLOT | KIND_CHUNK | KIND_GC));
	if (kind & KIND_EXCLUDED)
		pass_excluded++;
	else {
		pass_insns++;
		if (profile)
			profile_count(userdata);
	}
	if (kind & KIND_NOTIFY)
		pass_notifies++;
	if (kind & KIND_SLOT)
		pass_slots++;
	if (kind & KIND_CHUNK)
		pass_chunks++;
	if (kind & KIND_GC)
		pass_gcs++;
	if (profile)
		last_address = (uint64_t)(uintptr_t)userdata >> 8;
	if (kind & KIND_END) {
		char line[200];
		snprintf(line, sizeof line, "xsbench pass %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu\n",
			(unsigned long long)pass_insns, (unsigned long long)pass_notifies, (unsigned long long)pass_slots,
			(unsigned long long)pass_chunks, (unsigned long long)pass_gcs, (unsigned long long)pass_excluded,
			(unsigned long long)all, (unsigned long long)all_slots, (unsigned long long)all_chunks, (unsigned long long)all_gcs);
		emit(line);
		in_pass = 0;
	}
}

static unsigned kind_of(uint64_t address)
{
	unsigned kind = KIND_PLAIN, index;
	address &= ~(uint64_t)1;
	for (index = 0; index < excluded_count; index++)
		if ((address >= excluded[index].low) && (address < excluded[index].high))
			kind |= excluded_kind[index];
	for (index = 0; index < marker_count; index++)
		if (address == markers[index].address)
			kind |= markers[index].kind;
	return kind;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb* tb)
{
	(void)id;
	size_t count = qemu_plugin_tb_n_insns(tb), index;
	for (index = 0; index < count; index++) {
		struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, index);
		unsigned kind = kind_of(qemu_plugin_insn_vaddr(insn));
		uint64_t address = qemu_plugin_insn_vaddr(insn) & ~(uint64_t)1;
		qemu_plugin_register_vcpu_insn_exec_cb(insn, on_exec, QEMU_PLUGIN_CB_NO_REGS, (void*)(uintptr_t)(kind | (address << 8)));
	}
}

static void on_qemu_exit(qemu_plugin_id_t id, void* userdata)
{
	(void)id;
	(void)userdata;
	char line[80];
	snprintf(line, sizeof line, "xsbench exit %llu\n", (unsigned long long)all);
	emit(line);
	if (boot_profile && boot_profile_path) {
		FILE* file = fopen(boot_profile_path, "w");
		if (file) {
			uint32_t index;
			for (index = 0; index < PROFILE_LIMIT / 2; index++)
				if (boot_profile[index])
					fprintf(file, "%x %u\n", index * 2, boot_profile[index]);
			fclose(file);
		}
	}
	if (profile && profile_path) {
		FILE* file = fopen(profile_path, "w");
		if (file) {
			uint32_t index;
			for (index = 0; index < PROFILE_LIMIT / 2; index++)
				if (profile[index])
					fprintf(file, "%x %u\n", index * 2, profile[index]);
			for (index = 0; index < caller_total; index++)
				fprintf(file, "caller %s %llx %llu\n", (callers[index].kind & KIND_SLOT) ? "slot" : (callers[index].kind & KIND_CHUNK) ? "chunk" : "gc",
					(unsigned long long)callers[index].caller, (unsigned long long)callers[index].count);
			fclose(file);
		}
	}
}

static int add_marker(const char* value, unsigned kind)
{
	if (marker_count >= MAX_ADDRESSES)
		return -1;
	markers[marker_count].address = strtoull(value, NULL, 0) & ~(uint64_t)1;
	markers[marker_count].kind = kind;
	marker_count++;
	return 0;
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc, char** argv)
{
	(void)info;
	int index;
	for (index = 0; index < argc; index++) {
		char* argument = argv[index];
		char* value = strchr(argument, '=');
		if (!value) {
			fprintf(stderr, "xsbench: argument \"%s\" is not key=value\n", argument);
			return -1;
		}
		size_t key_length = (size_t)(value - argument);
		value++;
#define KEY(name) ((key_length == strlen(name)) && !strncmp(argument, name, key_length))
		int status = 0;
		if (KEY("begin"))
			status = add_marker(value, KIND_BEGIN);
		else if (KEY("end"))
			status = add_marker(value, KIND_END);
		else if (KEY("notify"))
			status = add_marker(value, KIND_NOTIFY);
		else if (KEY("slot"))
			status = add_marker(value, KIND_SLOT);
		else if (KEY("chunk"))
			status = add_marker(value, KIND_CHUNK);
		else if (KEY("gc"))
			status = add_marker(value, KIND_GC);
		else if (KEY("profile")) {
			profile_path = strdup(value);
			profile = calloc(PROFILE_LIMIT / 2, sizeof(uint32_t));
			status = profile ? 0 : -1;
		}
		else if (KEY("bootprofile")) {
			boot_profile_path = strdup(value);
			boot_profile = calloc(PROFILE_LIMIT / 2, sizeof(uint32_t));
			status = boot_profile ? 0 : -1;
		}
		else if (KEY("fd"))
			out_fd = atoi(value);
		else if (KEY("exclude") || KEY("bootexclude")) {
			char* dash = strchr(value, '-');
			if (!dash || (excluded_count >= MAX_ADDRESSES))
				status = -1;
			else {
				excluded[excluded_count].low = strtoull(value, NULL, 0) & ~(uint64_t)1;
				excluded[excluded_count].high = strtoull(dash + 1, NULL, 0);
				excluded_kind[excluded_count] = KEY("exclude") ? KIND_EXCLUDED : KIND_BOOT_EXCLUDED;
				excluded_count++;
			}
		}
		else
			status = -1;
		if (status) {
			fprintf(stderr, "xsbench: bad argument \"%s\"\n", argument);
			return -1;
		}
#undef KEY
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
	return 0;
}
