// Whether this machine can run netlab tests (Linux, root, iproute2, nft, working namespaces with
// veth and bridge). Locally a missing lab skips those tests with the reason; under CI=true it is
// a failure, so a misconfigured runner cannot turn the whole network suite into silent skips.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { runCommand } from './run-command.js';
import { skipUnlessCi } from './ci-skip.js';

let probe: Promise<string | undefined> | undefined;
let probeNamespace: string | undefined;

process.once('exit', () => {
  // Only set while a probe is between `netns add` and `netns del`.
  if (probeNamespace) {
    try {
      execFileSync('ip', ['netns', 'del', probeNamespace], { stdio: 'ignore', timeout: 5_000 });
    } catch {
      // already gone
    }
  }
});

async function probeNetlab(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `network namespaces need Linux, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  for (const [tool, args] of [['ip', ['-V']], ['nft', ['--version']]] as const) {
    try {
      await runCommand(tool, args);
    } catch (error) {
      return `\`${tool}\` is missing or does not run: ${(error as Error).message}`;
    }
  }
  const ns = `p2p${randomBytes(2).toString('hex')}-probe`;
  probeNamespace = ns;
  try {
    await runCommand('ip', ['netns', 'add', ns]);
  } catch (error) {
    probeNamespace = undefined;
    return `\`ip netns add\` failed: ${(error as Error).message}`;
  }
  try {
    await runCommand('ip', ['-n', ns, 'link', 'add', 'probe-br', 'type', 'bridge']);
    await runCommand('ip', ['-n', ns, 'link', 'add', 'probe-a', 'type', 'veth', 'peer', 'name', 'probe-b']);
    await runCommand('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset']);
    return undefined;
  } catch (error) {
    return `a network namespace works only partly: ${(error as Error).message}`;
  } finally {
    await runCommand('ip', ['netns', 'del', ns]).catch(() => undefined);
    probeNamespace = undefined;
  }
}

/** Why netlab cannot run here, or undefined when it can. Probed once per process. */
export function netlabUnavailable(): Promise<string | undefined> {
  return (probe ??= probeNetlab());
}

/**
 * The `skip` option for a netlab suite: the reason when the lab cannot run here, else false.
 * Under CI=true it is always false, so the suite runs and Netlab.create() fails with the reason.
 */
export async function netlabSkip(): Promise<string | false> {
  return skipUnlessCi('netlab', await netlabUnavailable());
}

/** For one test: true when the lab can run; otherwise skips `t` (locally) or throws (CI=true). */
export async function requireNetlab(t: TestContext): Promise<boolean> {
  const reason = await netlabUnavailable();
  if (reason === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`netlab unavailable under CI=true: ${reason}`);
  t.skip(`netlab unavailable: ${reason}`);
  return false;
}
