// Sizes and speeds as people read them: binary units for sizes (1.2 GiB), decimal bytes per second
// for speeds (110 MB/s, as network tools show them).

const SIZE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;
const RATE_UNITS = ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'] as const;

export function formatSize(bytes: number): string {
  return scaled(bytes, 1024, SIZE_UNITS);
}

export function formatRate(bytesPerSecond: number): string {
  return scaled(bytesPerSecond, 1000, RATE_UNITS);
}

/** `1:05`, `12:30`, `2:03:04`: a duration in seconds as a clock would show it. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

function scaled(value: number, base: number, units: readonly string[]): string {
  let unit = 0;
  while (value >= base && unit < units.length - 1) {
    value /= base;
    unit++;
  }
  const text = unit === 0 ? String(Math.round(value)) : value.toFixed(value < 10 ? 1 : 0);
  return `${text} ${units[unit]}`;
}
