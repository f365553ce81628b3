/** The instruction-count benchmark: the plugin builds, and two short runs give identical counts (determinism, not speed). */
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildPlugin, measureEchoes, pluginArguments, type EchoResult } from '../../bench/echo-instructions.ts';
import { firmwareImage } from '../../launch/firmware-image.ts';

const shmFiles = () => readdirSync('/dev/shm').filter((name) => name.startsWith(`xs-rpmsg-qemu-${process.pid}-`));

/** Everything the plugin counted (wall time and the all-instructions context figure vary, so they are left out). */
const counted = (result: EchoResult) => ({
  sizes: result.sizes.map(({ size, echoes, instructions, messagePasses, refillPasses, slots, chunks, collections }) => ({ size, echoes, instructions, messagePasses, refillPasses, slots, chunks, collections })),
  batches: result.batches,
});

describe('bench/echo-instructions', () => {
  it('builds the TCG plugin with gcc and finds its addresses in the bench firmware', async () => {
    expect(existsSync(buildPlugin())).toBe(true);
    const { args, excluded } = pluginArguments(await firmwareImage('qemu-mps2', 'bench'));
    expect(args.filter((arg) => /^(begin|end)=0x[0-9a-f]+$/.test(arg))).toHaveLength(2);
    expect(excluded).toEqual(expect.arrayContaining(['SysTick_Handler', 'UART1_RX_Handler']));
  }, 600_000);

  it('counts the same instructions for two runs of 50 echoes of each size and 4 batches of 8 messages per doorbell', async () => {
    const options = { count: 50, sizes: [16, 496], batches: [8], batchCount: 4, warmup: 4, skipAllocation: true };
    const first = await measureEchoes(options);
    const second = await measureEchoes(options);
    expect(counted(second)).toEqual(counted(first));
    for (const size of first.sizes) {
      expect(size.instructions).toBeGreaterThan(0);
      expect(size.refillPasses.count).toBe(0); // the remote sets VRING_USED_F_NO_NOTIFY on vring 0: no refill kick
    }
    expect(first.sizes[1].perEcho).toBeGreaterThan(first.sizes[0].perEcho);
    // 8 messages, one doorbell: one pass takes all eight, and each costs less than a message alone
    const [batch] = first.batches;
    expect(batch.passesPerBatch).toEqual({ min: 1, max: 1 });
    // Batches differ only where the remote reads avail.idx of vring 0 again (once per ring's worth of TX
    // buffers, after the entries it saw are used: a typed-array read and a barrier); the runs are identical.
    expect(batch.batchInstructions.max - batch.batchInstructions.min).toBeLessThan(1000);
    expect(batch.perMessage).toBeLessThan(first.sizes[0].perEchoWithoutCollection);
    expect(batch.perMessage).toBeGreaterThan(0);
    expect(shmFiles()).toEqual([]);
  }, 120_000);
});
