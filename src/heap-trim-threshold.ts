// Keeps glibc from handing a process's read-buffer memory back to the kernel after every garbage
// collection. Node reads each socket into a new 64 KiB buffer (and node:crypto gives each record a
// new one) that only the GC frees; glibc then trims its heap (by default whenever 128 KiB lie free
// at the top) and the next buffers fault every page back in: tens of thousands of faults per GB.

/**
 * glibc raises its trim threshold to twice the size of any mmap()ed block freed, for blocks of up
 * to 32 MiB (mallopt(3), "dynamic mmap threshold"). The relay's is just under that, so free tops of
 * up to 64 MiB are kept: V8 collects its read buffers after about 32 MiB of them, and a 32 MiB
 * threshold would still let glibc trim every few collections.
 */
export const RELAY_HEAP_TRIM_BLOCK_BYTES = 32 * 1024 * 1024 - 64 * 1024;

/**
 * A chat process collects its buffers every 8 MiB of records (garbage-pacer.ts), so a 32 MiB
 * threshold keeps them: 5,000-6,600 faults per GiB received instead of 27,000-58,000, and 10,000
 * sent instead of 22,000-133,000, for 4.5 % less CPU (bench/README.md). Half the relay's block
 * keeps half as much freed heap resident after a transfer; a quarter left most faults in place.
 */
export const PEER_HEAP_TRIM_BLOCK_BYTES = 16 * 1024 * 1024 - 64 * 1024;

/** The running glibc's version (e.g. "2.36"), or undefined under another C library or OS. */
export function glibcVersion(): string | undefined {
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: unknown } };
  const version = report.header?.glibcVersionRuntime;
  return typeof version === 'string' ? version : undefined;
}

/**
 * Raise the process's heap trim threshold to twice `blockBytes` (once is enough; it only ever goes
 * up). Under another C library it is a block allocated and freed, nothing more, so no check is
 * made (asking Node which C library it runs on builds a whole diagnostic report: 1.5 MiB more
 * resident). A GLIBC_TUNABLES that sets glibc.malloc.trim_threshold, top_pad, mmap_threshold or
 * mmap_max turns glibc's dynamic thresholds off, so the user's values stand.
 */
export function raiseHeapTrimThreshold(blockBytes: number): void {
  // A block of its own from malloc (so mmap()ed), never written, so never resident. Dropped here,
  // it is freed by the next collection: the churn this guards against only comes with those.
  Buffer.allocUnsafeSlow(blockBytes);
}
