// Where a `connect` target can be reached: an address as given, or a nickname / fingerprint
// looked up at once on the LAN (mDNS) and at the relay. Either source names the key to expect,
// and the end-to-end handshake proves it; a name both sources disagree on is ambiguous.

import { delay, type Clock } from '../clock.js';
import { plainHost } from '../net/address.js';
import { DEFAULTS, type Settings } from '../defaults.js';
import { chatError, P2PChatError } from '../errors.js';
import { shortFingerprint } from '../secure/fingerprint.js';
import type { RelayRecord } from '../session/relay-messages.js';
import { isAddressTarget, planDial, type DialCandidate, type DialPlan } from './dial-plan.js';
import type { PeerDirectory } from './peer-directory.js';
import type { RelayClient } from './relay-client.js';

export interface ResolveOptions {
  readonly directory?: PeerDirectory;
  readonly relay?: RelayClient;
  readonly expect?: string;
  readonly timing?: Partial<Settings>;
  /** For how long the LAN gets once the relay has answered. */
  readonly clock: Clock;
}

export async function resolveTarget(text: string, options: ResolveOptions): Promise<DialPlan> {
  const expectOption = options.expect ? { expect: options.expect } : {};
  const timing = { ...DEFAULTS, ...options.timing };
  const lanOptions = {
    ...(options.directory ? { directory: options.directory } : {}),
    lookupTimeoutMs: timing.discoverTimeoutMs,
    settleMs: timing.lookupSettleMs,
    ...expectOption,
  };
  if (isAddressTarget(text) || !options.relay) return planDial(text, lanOptions);
  const relay = options.relay;
  const notFound = (err: unknown) => {
    if (err instanceof P2PChatError && err.code === 'ERR_PEER_NOT_FOUND') return undefined;
    throw err;
  };
  // No DNS guess here: it must neither hold up the relay's answer nor displace the key it vouches for.
  const lanLookup = planDial(text, { ...lanOptions, hostLookup: false }).catch(notFound);
  /** Why the relay could not be asked, if it could not: the LAN may still know the peer. */
  let relayFailure: P2PChatError | undefined;
  const records = await relay
    .whenRegistered(timing.relayRegisterTimeoutMs)
    .then(() => relay.lookup(text.trim()))
    .catch((err: unknown) => {
      relayFailure = P2PChatError.from(err, 'ERR_RELAY_UNREACHABLE', `relay ${relay.label}`);
      return [] as readonly RelayRecord[];
    });
  // Once the relay knows the peer, the LAN gets only a short extra moment (a peer on both is
  // dialled directly first anyway); otherwise the LAN lookup runs its course.
  // (Settled into a value either way, so a LAN error after we stopped waiting is never unhandled.)
  const lanResult = lanLookup.then((plan) => ({ plan }), (error: unknown) => ({ error }));
  const outcome = records.length > 0 ? await Promise.race([lanResult, delay(options.clock, timing.lookupSettleMs).then(() => undefined)]) : await lanResult;
  if (outcome && 'error' in outcome) throw outcome.error;
  const lan = outcome?.plan;
  const matching = options.expect ? records.filter((r) => r.fingerprint === options.expect) : records;
  const keys = new Set([...matching.map((r) => r.fingerprint), ...(lan?.expect ? [lan.expect] : [])]);
  if (keys.size > 1) {
    const list = matching.map((r) => `${r.name} ${shortFingerprint(r.fingerprint)} (relay)`);
    if (lan?.expect && !matching.some((r) => r.fingerprint === lan.expect)) list.push(`${lan.label} ${shortFingerprint(lan.expect)} (LAN)`);
    throw chatError('ERR_AMBIGUOUS_PEER', `'${text}' matches ${keys.size} peers: ${list.join(', ')}; use a longer fingerprint prefix`);
  }
  const record = matching[0];
  if (lan) return record ? { ...lan, candidates: [...lan.candidates, ...candidatesOf(record)] } : lan;
  if (record) return { label: record.name, candidates: candidatesOf(record), expect: record.fingerprint };
  // Known to neither: a bare word may still be a host name.
  const host = await planDial(text, expectOption).catch(notFound);
  if (host) return host;
  if (relayFailure) {
    // Not found because the relay was never asked (its key failed the pin, it was unreachable):
    // that, not the peer, is what to fix.
    throw chatError(relayFailure.code, `'${text}' is not on the LAN, and the relay could not be asked: ${relayFailure.message}`, relayFailure);
  }
  throw chatError(
    'ERR_PEER_NOT_FOUND',
    `no peer named '${text}' found on the LAN or at relay ${relay.label}; is it running with --relay ${relay.label}?`,
  );
}

/** Direct candidates from a relay record: the public address the relay saw, then LAN addresses. */
function candidatesOf(record: RelayRecord): DialCandidate[] {
  if (record.port === 0) return [];
  const observedHost = plainHost(record.observed.replace(/^\[?(.*?)\]?:\d+$/, '$1'));
  const hosts = [observedHost, ...record.addresses];
  const unique = [...new Set(hosts.filter((h) => h.length > 0))];
  const udp = record.udp !== undefined ? { udpPort: record.udp } : {};
  return unique.map((host) => ({ host, port: record.port, ...udp, guess: true }));
}
