// Keeps glibc from handing the relay's read-buffer memory back to the kernel after every garbage
// collection. Node reads each socket into a new 64 KiB buffer that only the GC frees; glibc then
// trims its heap (by default whenever 128 KiB lie free at the top) and the next reads fault every
// page back in: 20,000–250,000 page faults per GB relayed, a fifth or more of the relay's CPU.

/**
 * glibc raises its trim threshold to twice the size of any mmap()ed block freed, for blocks of up
 * to 32 MiB (mallopt(3), "dynamic mmap threshold"). Just under that, so free tops of up to 64 MiB
 * are kept: V8 collects the read buffers after about 32 MiB of them, and a 32 MiB threshold would
 * still let glibc trim the heap every few collections. The block itself is never resident.
 */
export const HEAP_TRIM_BLOCK_BYTES = 32 * 1024 * 1024 - 64 * 1024;

/** The running glibc's version (e.g. "2.36"), or undefined under another C library or OS. */
export function glibcVersion(): string | undefined {
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: unknown } };
  const version = report.header?.glibcVersionRuntime;
  return typeof version === 'string' ? version : undefined;
}

/**
 * Raise the process's heap trim threshold (once is enough; it only ever goes up). Returns false,
 * doing nothing, without glibc. A GLIBC_TUNABLES that sets glibc.malloc.trim_threshold, top_pad,
 * mmap_threshold or mmap_max turns glibc's dynamic thresholds off, so the user's values stand.
 */
export function raiseHeapTrimThreshold(glibc: string | undefined = glibcVersion()): boolean {
  if (glibc === undefined) return false;
  // A block of its own from malloc (so mmap()ed), never written, so never resident. Dropped here,
  // it is freed by the next collection: the churn this guards against only comes with those.
  Buffer.allocUnsafeSlow(HEAP_TRIM_BLOCK_BYTES);
  return true;
}
