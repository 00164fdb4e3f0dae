// Conformance with LiveKit's own client: npm `livekit-client` `TokenSource.endpoint(url, {headers})`,
// exactly as an app uses it, against the real `rtc-token serve` (development defaults, a policy in
// LIVEKIT_POLICY_JSON, caller JWTs from `rtc-token dev-jwt`). Every token the client gets is verified
// by livekit-server-sdk (TokenVerifier, and the `roomConfig` claim parsed strictly by
// @livekit/protocol) and by PyPI livekit-api (TokenVerifier and strict ParseDict; verify_livekit_api.py).
//
// LiveKit's Rust client (crates.io livekit-token-source, rust/) runs the same flows when LK_RUST_CHECK
// names its built binary (run.sh builds it).
//
// Usage: RTC_TOKEN_BIN=target/debug/rtc-token PYTHON=.venv/bin/python [LK_RUST_CHECK=...] node tests/livekit-client/conformance.mjs
// Prints "ok - ..." / "not ok - ...: why" per check, and "livekit-client: N passed, M failed" last.

import { createRequire } from 'node:module';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import assert from 'node:assert/strict';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const require = createRequire(path.join(root, 'interop', 'package.json'));
const { TokenSource, decodeTokenPayload } = require('livekit-client');
const { TokenVerifier } = require('livekit-server-sdk');
const { RoomConfiguration } = require('@livekit/protocol');

const BIN = process.env.RTC_TOKEN_BIN || path.join(root, 'target', 'debug', 'rtc-token');
const PYTHON = process.env.PYTHON || path.join(root, '.venv', 'bin', 'python');
// The Rust client's check binary (rust/), when run.sh built it.
const RUST_CHECK = process.env.LK_RUST_CHECK || '';
// DEVELOPMENT ONLY defaults embedded in rtc-token (crates/rtc-token-cli/src/dev_defaults.rs).
const LK_KEY = 'devkey';
const LK_SECRET = 'rtc-token-dev-livekit-secret-DEVELOPMENT-ONLY';

const POLICY = {
  rooms: [
    { pattern: 'tour-*', roles: ['*'] },
    { pattern: 'support-*', roles: ['*'] },
    { pattern: 'session-{sub}-*', roles: ['*'] },
  ],
  livekit: {
    room_template: 'session-{sub}-{random}',
    room_config: {
      agents: ['guide-*'],
      max_participants: 4,
      dispatch: [{ pattern: 'support-*', agent_name: 'support-agent' }],
    },
  },
};

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok - livekit-client: ${name}`);
  } catch (e) {
    failed += 1;
    const why = String(e && e.message ? e.message : e).split('\n').slice(0, 6).join(' | ');
    console.log(`not ok - livekit-client: ${name}: ${why}`);
  }
}

function devJwt(sub, claims) {
  const args = ['dev-jwt', '--sub', sub];
  if (claims) args.push('--claims', JSON.stringify(claims));
  const r = spawnSync(BIN, args, { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.equal(r.status, 0, `dev-jwt: ${r.stderr}`);
  return r.stdout.trim();
}

/** Starts `rtc-token serve` on a free port; resolves with {base, stop}. */
function serve(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['serve', '--addr', '127.0.0.1:0'], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`serve did not start: ${log}`));
    }, 30000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/listening on (http:\/\/\S+)\s/);
      if (m) {
        clearTimeout(timer);
        resolve({ base: m[1].replace(/\/$/, ''), stop: () => child.kill() });
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${log}`)));
  });
}

// Count the HTTP requests the client makes (livekit-client uses the global fetch).
let requests = 0;
const realFetch = globalThis.fetch;
globalThis.fetch = (...args) => {
  requests += 1;
  return realFetch(...args);
};

/** Every token the client returned, verified by both server SDKs at the end. */
const minted = [];

async function nodeVerify(token) {
  const claims = await new TokenVerifier(LK_KEY, LK_SECRET).verify(token);
  const rc = claims.roomConfig ? RoomConfiguration.fromJson(claims.roomConfig) : undefined; // strict
  return { claims, rc };
}

const server = await serve({ LIVEKIT_POLICY_JSON: JSON.stringify(POLICY) });
const url = `${server.base}/livekit/token`;
const alice = devJwt('alice');
const endpoint = (jwt) => TokenSource.endpoint(url, { headers: { Authorization: `Bearer ${jwt}` } });

try {
  await check('agent dispatch by name with metadata: the token dispatches that agent', async () => {
    const source = endpoint(alice);
    const res = await source.fetch({
      roomName: 'tour-rome',
      participantName: 'Alice',
      agentName: 'guide-bot',
      agentMetadata: '{"tour":"rome","lang":"it"}',
    });
    assert.equal(res.serverUrl, 'ws://127.0.0.1:7880');
    // what the client itself reads from the token to decide whether to wait for an agent
    const p = decodeTokenPayload(res.participantToken);
    assert.equal(p.sub, 'alice');
    assert.equal(p.video.room, 'tour-rome');
    assert.equal(p.roomConfig.agents.length, 1);
    assert.equal(p.roomConfig.agents[0].agentName, 'guide-bot');
    assert.equal(p.roomConfig.agents[0].metadata, '{"tour":"rome","lang":"it"}');
    assert.equal(p.roomConfig.maxParticipants, 4, 'the policy cap is the room limit');
    const { claims, rc } = await nodeVerify(res.participantToken);
    assert.equal(claims.name, 'Alice');
    assert.equal(rc.agents[0].agentName, 'guide-bot');
    minted.push({ token: res.participantToken, room: 'tour-rome', agents: ['guide-bot'], metadata: '{"tour":"rome","lang":"it"}' });
  });

  await check('an agent outside the allow-list: 403 room_config_not_allowed surfaced by the client', async () => {
    await assert.rejects(
      endpoint(alice).fetch({ roomName: 'tour-rome', agentName: 'admin-bot' }),
      (e) => /received 403/.test(e.message) && /room_config_not_allowed/.test(e.message),
    );
  });

  await check('a deployment the policy does not list: 403', async () => {
    await assert.rejects(
      endpoint(alice).fetch({ roomName: 'tour-rome', agentName: 'guide-bot', deployment: 'staging' }),
      (e) => /received 403/.test(e.message) && /deployment/.test(e.message),
    );
  });

  await check('the service dispatches its agent to support-* rooms, whatever the client asks', async () => {
    const res = await endpoint(alice).fetch({ roomName: 'support-42' });
    const { rc } = await nodeVerify(res.participantToken);
    assert.deepEqual(rc.agents.map((a) => a.agentName), ['support-agent']);
    minted.push({ token: res.participantToken, room: 'support-42', agents: ['support-agent'] });
  });

  await check('fresh room: no roomName gives a new room of the caller per session, with the agent', async () => {
    const source = endpoint(alice);
    const a = await source.fetch({ agentName: 'guide-bot' });
    const b = await endpoint(alice).fetch({ agentName: 'guide-bot' });
    const ra = decodeTokenPayload(a.participantToken).video.room;
    const rb = decodeTokenPayload(b.participantToken).video.room;
    assert.match(ra, /^session-alice-[0-9a-f]{24}$/);
    assert.match(rb, /^session-alice-[0-9a-f]{24}$/);
    assert.notEqual(ra, rb);
    assert.equal(decodeTokenPayload(a.participantToken).roomConfig.agents[0].agentName, 'guide-bot');
    minted.push({ token: a.participantToken, room: ra, agents: ['guide-bot'] });
  });

  await check('a cached token is reused while nbf <= now < exp - 60 s; force and new options fetch again', async () => {
    const source = endpoint(alice);
    const before = requests;
    const first = await source.fetch({ agentName: 'guide-bot' });
    const p = decodeTokenPayload(first.participantToken);
    const now = Math.floor(Date.now() / 1000);
    assert.ok(p.nbf <= now && p.exp - 60 > now, `nbf ${p.nbf} exp ${p.exp} now ${now}`);
    assert.equal(p.exp - p.nbf, 900, 'the default LiveKit lifetime');
    const again = await source.fetch({ agentName: 'guide-bot' });
    assert.equal(requests - before, 1, 'the second fetch was served from the cache');
    assert.equal(again.participantToken, first.participantToken);
    const forced = await source.fetch({ agentName: 'guide-bot' }, true);
    assert.equal(requests - before, 2);
    assert.notEqual(
      decodeTokenPayload(forced.participantToken).video.room,
      p.video.room,
      'a forced fetch is a new session: a new room',
    );
    await source.fetch({ agentName: 'guide-bot', agentMetadata: 'x' });
    assert.equal(requests - before, 3, 'changed options fetch again');
  });

  await check('a token the client cannot keep (exp - 60 s already past) is fetched every time', async () => {
    const short = await serve({ LIVEKIT_POLICY_JSON: JSON.stringify({ ttl: { default: 60, max: 60 } }) });
    try {
      const source = TokenSource.endpoint(`${short.base}/livekit/token`, {
        headers: { Authorization: `Bearer ${alice}` },
      });
      const before = requests;
      const a = await source.fetch({ roomName: 'r1' });
      await source.fetch({ roomName: 'r1' });
      assert.equal(requests - before, 2);
      const p = decodeTokenPayload(a.participantToken);
      assert.equal(p.exp - p.nbf, 60);
    } finally {
      short.stop();
    }
  });

  await check('401 surfaced to the client (no or a bad caller JWT)', async () => {
    await assert.rejects(
      TokenSource.endpoint(url).fetch({ roomName: 'tour-rome' }),
      (e) => /received 401/.test(e.message) && /unauthorized/.test(e.message),
    );
    await assert.rejects(
      endpoint(`${alice}x`).fetch({ roomName: 'tour-rome' }),
      (e) => /received 401/.test(e.message),
    );
  });

  await check('403 surfaced to the client (a room the policy does not allow)', async () => {
    await assert.rejects(
      endpoint(alice).fetch({ roomName: 'admin-room' }),
      (e) => /received 403/.test(e.message) && /room_not_allowed/.test(e.message),
    );
  });

  await check("the README's tour example with dev-jwt roles: a guide gets the guide profile, a guest a listener's", async () => {
    const tour = await serve({
      LIVEKIT_POLICY_JSON: JSON.stringify({
        role_map: [{ caller_role: 'guide', role: 'guide' }],
        default_role: 'listener',
        rooms: [
          { pattern: 'tour-*', roles: ['guide'], caller_roles: ['guide'] },
          { pattern: 'tour-*', roles: ['listener'], max_ttl: 1800 },
        ],
      }),
    });
    try {
      const at = (jwt) => TokenSource.endpoint(`${tour.base}/livekit/token`, { headers: { Authorization: `Bearer ${jwt}` } });
      const guide = await at(devJwt('gia', { roles: ['guide'] })).fetch({ roomName: 'tour-rome' });
      const g = (await nodeVerify(guide.participantToken)).claims.video;
      assert.equal(g.canPublish, true);
      assert.deepEqual(g.canPublishSources, ['microphone']);
      const guest = await at(devJwt('bob')).fetch({ roomName: 'tour-rome' });
      const l = (await nodeVerify(guest.participantToken)).claims.video;
      assert.equal(l.canPublish, false);
    } finally {
      tour.stop();
    }
  });

  // LiveKit's Rust client (crates.io livekit-token-source), built by run.sh: the same flows.
  if (RUST_CHECK) {
    const r = spawnSync(RUST_CHECK, [url, alice], { encoding: 'utf8' });
    const lines = r.stdout.split('\n').filter((l) => l.trim());
    await check('rust: livekit-token-source ran', () => {
      assert.equal(r.status, 0, r.stderr);
      assert.equal(lines.length, 4, r.stdout);
    });
    for (const line of lines) {
      const v = JSON.parse(line);
      await check(v.check, async () => {
        assert.equal(v.ok, true, v.why);
        if (v.token) {
          const p = decodeTokenPayload(v.token);
          minted.push({ token: v.token, room: p.video.room, agents: ['guide-bot'] });
        }
      });
    }
  }

  await check('the tokens are verified by livekit-server-sdk and PyPI livekit-api', async () => {
    assert.ok(minted.length >= 3, `${minted.length} tokens`);
    for (const m of minted) {
      const { claims, rc } = await nodeVerify(m.token);
      assert.equal(claims.sub, 'alice');
      assert.equal(claims.video.room, m.room);
      assert.deepEqual(rc.agents.map((a) => a.agentName), m.agents);
    }
    const r = spawnSync(PYTHON, [path.join(here, 'verify_livekit_api.py')], {
      input: JSON.stringify(minted.map((m) => ({ token: m.token, key: LK_KEY, secret: LK_SECRET }))),
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    out.forEach((v, i) => {
      assert.equal(v.ok, true, JSON.stringify(v));
      assert.equal(v.identity, 'alice');
      assert.equal(v.room, minted[i].room);
      assert.deepEqual(v.agents.map((a) => a.agent_name), minted[i].agents);
      assert.equal(v.max_participants, 4);
      if (minted[i].metadata) assert.equal(v.agents[0].metadata, minted[i].metadata);
    });
    // and a wrong secret is refused by both
    await assert.rejects(new TokenVerifier(LK_KEY, 'wrong-secret-0123456789abcdef').verify(minted[0].token));
    const bad = spawnSync(PYTHON, [path.join(here, 'verify_livekit_api.py')], {
      input: JSON.stringify([{ token: minted[0].token, key: LK_KEY, secret: 'wrong-secret-0123456789abcdef' }]),
      encoding: 'utf8',
    });
    assert.equal(JSON.parse(bad.stdout)[0].ok, false);
  });
} finally {
  server.stop();
}

console.log(`livekit-client: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
