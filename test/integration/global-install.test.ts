// The README's global install from a clone: `npm pack`, then `npm install -g` of the tarball, and
// `p2p-chat` runs from that prefix. The install is offline with an empty npm cache of its own: the
// tarball carries its production dependencies (bundleDependencies), so it needs no registry, and
// a second suite beside this one shares nothing with it. npm pack skips `prepare`: the suite has
// built dist/ already, and rebuilding it here would rewrite files other tests are loading.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { REPO_ROOT } from '../helpers/repo-root.js';

const STEP_TIMEOUT_MS = 60_000;
const temp = mkdtempSync(join(tmpdir(), 'p2p-chat-install-'));
after(() => rmSync(temp, { recursive: true, force: true }));

/** npm's own settings from `npm test` (npm_config_*) must not leak into these npm runs. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  // The installed command's `#!/usr/bin/env node` finds the node running these tests.
  env.PATH = [dirname(process.execPath), process.env.PATH].join(delimiter);
  env.NO_COLOR = '1';
  return env;
}

function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: cleanEnv(), timeout: STEP_TIMEOUT_MS, killSignal: 'SIGKILL', encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

describe('global install from a clone', { timeout: 3 * STEP_TIMEOUT_MS }, () => {
  it('npm pack, npm install -g of the tarball into a prefix, then p2p-chat runs from there', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
    assert.notEqual(pkg.name, 'p2p-chat', 'the npm name p2p-chat belongs to an unrelated package');

    const [packed] = JSON.parse(await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', temp], REPO_ROOT)) as [
      { filename: string; files: { path: string }[]; bundled: string[] },
    ];
    const files = packed.files.map((f) => f.path);
    for (const needed of ['bin/p2p-chat.js', 'dist/src/cli/p2p-chat.js', 'package.json', 'README.md']) {
      assert.ok(files.includes(needed), `the tarball has ${needed}`);
    }
    const own = files.filter((f) => !f.startsWith('node_modules/'));
    assert.deepEqual(own.filter((f) => /^(src|test|bench|dist\/test)\/|(?<!\.d)\.ts$/.test(f)), [], 'no sources or tests');
    assert.ok(packed.bundled.includes('cac') && packed.bundled.includes('bonjour-service'), 'dependencies travel in the tarball');
    assert.ok(packed.bundled.includes('udx-native'), 'the UDP transport travels with its prebuilt binaries');

    const prefix = join(temp, 'prefix');
    const npmArgs = ['install', '-g', '--prefix', prefix, '--offline', '--cache', join(temp, 'npm-cache'), '--no-audit', '--no-fund', '--loglevel=error'];
    await run('npm', [...npmArgs, join(temp, packed.filename)], temp);

    const installed = join(prefix, 'lib', 'node_modules', pkg.name);
    const deps = readdirSync(join(installed, 'node_modules'));
    for (const dev of ['typescript', 'esbuild', '@types']) assert.ok(!deps.includes(dev), `${dev} is not installed`);
    // The native module loads from the offline install: its prebuilt binary for this machine came along.
    const udp = 'const UDX = require("udx-native"); const s = new UDX().createSocket(); s.bind(0, "127.0.0.1"); console.log(s.address().port > 0); s.close()';
    assert.equal((await run(process.execPath, ['-e', udp], installed)).trim(), 'true');
    const command = join(prefix, 'bin', 'p2p-chat');
    assert.ok(existsSync(command), 'the command keeps its name, p2p-chat');

    const version = await run(command, ['--version'], temp);
    assert.match(version, new RegExp(`^p2p-chat/${pkg.version.replaceAll('.', '\\.')} `));

    const home = join(temp, 'home');
    const identity = JSON.parse(await run(command, ['id', '--json', '--home', home], temp)) as Record<string, unknown>;
    assert.equal(identity.type, 'identity');
    assert.equal(identity.home, home);
    assert.equal(identity.created, true);
    assert.match(String(identity.fingerprint), /^[A-Z2-7]{7}(-[A-Z2-7]{7}){7}$/);
  });
});
