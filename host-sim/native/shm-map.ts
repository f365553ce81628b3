/** A /dev/shm file mapped into an ArrayBuffer (our own small N-API addon, compiled on first use). */
import { loadAddon } from './addon.ts';

/** Map `size` bytes of the file at `path` (create and size it when `create`). Unmapped when garbage. */
export function mapSharedFile(path: string, size: number, create = false): ArrayBuffer {
  return loadAddon<{ map(path: string, size: number, create: boolean): ArrayBuffer }>('shm-map').map(path, size, create);
}
