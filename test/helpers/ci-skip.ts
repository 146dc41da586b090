// The one rule for tests that need something this machine may lack (root, nft, the delay hub,
// redis-server): locally they skip with the reason; under CI=true they never skip, and fail with it.

/** The `skip` option of a suite that needs `what`: the reason it is `unavailable` here, or false (always false under CI=true). */
export function skipUnlessCi(what: string, unavailable: string | undefined): string | false {
  if (unavailable === undefined || process.env.CI === 'true') return false;
  return `${what} unavailable: ${unavailable}`;
}
