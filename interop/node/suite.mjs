// Interop checks against the official Node SDKs (npm agora-token, livekit-server-sdk, stream-chat).
//
// (a) tokens minted by `rtc-token` are accepted by each SDK's parser/verifier with the expected fields;
// (b) tokens built by each SDK are accepted by `rtc-token inspect` with the right secret (exit 0) and
//     rejected with a wrong one (exit 1).
//
// Usage: RTC_TOKEN_BIN=target/debug/rtc-token node interop/node/suite.mjs
// Prints one "ok - ..." / "not ok - ...: why" line per check and "node: N passed, M failed" last.

import { createRequire } from 'node:module';
import { spawn, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const agora = require('agora-token');
const { AccessToken2 } = require('agora-token/src/AccessToken2');
const { AccessToken, TokenVerifier } = await import('livekit-server-sdk');
const { RoomConfiguration, RoomAgentDispatch, JobRestartPolicy } = require('@livekit/protocol');
const { StreamChat } = require('stream-chat');
// stream-chat signs with jsonwebtoken and ships no verifier: verify with the same library.
const jsonwebtoken = require('jsonwebtoken');

const BIN = process.env.RTC_TOKEN_BIN;
if (!BIN) {
  console.error('RTC_TOKEN_BIN is not set');
  process.exit(2);
}

const APP_ID = '970CA35de60c44645bbae8a215061b33';
const CERT = '5CFd2fd1755d40ecb72977518be15d3b';
const WRONG_CERT = '0123456789abcdef0123456789abcdef';
const LK_KEY = 'APIinteropKey01';
const LK_SECRET = 'lk-interop-secret-0123456789abcdef0123456789';
const ST_KEY = 'streaminteropkey';
const ST_SECRET = 'stream-interop-secret-0123456789abcdef0123';
const WRONG_SECRET = 'not-the-secret-0123456789abcdef0123456789';
const NOW = Math.floor(Date.now() / 1000);

const ENV = {
  ...process.env,
  AGORA_APP_ID: APP_ID,
  AGORA_APP_CERTIFICATE: CERT,
  LIVEKIT_API_KEY: LK_KEY,
  LIVEKIT_API_SECRET: LK_SECRET,
  STREAM_API_KEY: ST_KEY,
  STREAM_API_SECRET: ST_SECRET,
};

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok - node: ${name}`);
  } catch (e) {
    failed += 1;
    const why = String(e && e.message ? e.message : e).split('\n').slice(0, 6).join(' | ');
    console.log(`not ok - node: ${name}: ${why}`);
  }
}

function cli(args) {
  const r = spawnSync(BIN, args, { env: ENV, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function mint(args) {
  const r = cli(args);
  assert.equal(r.code, 0, `rtc-token ${args.join(' ')} exited ${r.code}: ${r.err}`);
  const tok = r.out.trim();
  assert.ok(tok.length > 0 && !tok.includes('\n'), 'expected one token line');
  return tok;
}

function inspect(token, secretArgs) {
  const r = cli(['inspect', token, ...secretArgs]);
  let json = null;
  try {
    json = JSON.parse(r.out);
  } catch {
    // left null: the assertion below reports it
  }
  return { ...r, json };
}

function expectInspectAccepts(token, secretArgs, kind) {
  const r = inspect(token, secretArgs);
  assert.equal(r.code, 0, `inspect exit ${r.code}: ${r.out} ${r.err}`);
  assert.equal(r.json.kind, kind);
  assert.equal(r.json.valid, true);
  assert.equal(r.json.signature, 'valid');
  return r.json;
}

function expectInspectRejects(token, secretArgs) {
  const r = inspect(token, secretArgs);
  assert.equal(r.code, 1, `inspect with a wrong secret exit ${r.code}`);
  assert.equal(r.json.signature, 'invalid');
  assert.equal(r.json.valid, false);
}

// ------------------------------------------------------------------ (a) Agora: rtc-token -> agora-token

function parseAgora(token) {
  const t = new AccessToken2();
  assert.equal(t.from_string(token), true, 'AccessToken2.from_string returned false');
  return t;
}

// agora-token's reader returns Buffers for strings.
function str(v) {
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

function privileges(service) {
  return Object.fromEntries(Object.entries(service.__privileges).map(([k, v]) => [Number(k), v]));
}

const agoraMintCases = [
  {
    name: 'agora rtc uid publisher',
    args: ['agora', 'rtc', '--channel', 'room-1', '--uid', '2882341273', '--role', 'publisher', '--ttl', '3600', '--privilege-ttl', '1800'],
    services: [{ type: 1, channel: 'room-1', uid: '2882341273', privs: { 1: 1800, 2: 1800, 3: 1800, 4: 1800 } }],
    expire: 3600,
  },
  {
    name: 'agora rtc uid subscriber',
    args: ['agora', 'rtc', '--channel', 'room-1', '--uid', '42', '--role', 'subscriber', '--ttl', '600'],
    services: [{ type: 1, channel: 'room-1', uid: '42', privs: { 1: 600 } }],
    expire: 600,
  },
  {
    name: 'agora rtc uid 0 (wildcard)',
    args: ['agora', 'rtc', '--channel', 'open room', '--uid', '0', '--ttl', '900', '--privilege-ttl', '0'],
    services: [{ type: 1, channel: 'open room', uid: '', privs: { 1: 0, 2: 0, 3: 0, 4: 0 } }],
    expire: 900,
  },
  {
    name: 'agora rtc user account subscriber',
    args: ['agora', 'rtc', '--channel', 'c', '--account', 'alice@example.com', '--role', 'subscriber', '--ttl', '86400'],
    services: [{ type: 1, channel: 'c', uid: 'alice@example.com', privs: { 1: 86400 } }],
    expire: 86400,
  },
  {
    name: 'agora rtc uid with explicit privilege lifetimes',
    args: ['agora', 'rtc', '--channel', 'c', '--uid', '7', '--ttl', '3600', '--join-ttl', '3600', '--audio-ttl', '1800', '--video-ttl', '1200', '--data-ttl', '600'],
    services: [{ type: 1, channel: 'c', uid: '7', privs: { 1: 3600, 2: 1800, 3: 1200, 4: 600 } }],
    expire: 3600,
  },
  {
    name: 'agora rtc + rtm',
    args: ['agora', 'rtc', '--channel', 'c', '--account', 'bob', '--with-rtm', '--ttl', '1200', '--privilege-ttl', '600'],
    services: [
      { type: 1, channel: 'c', uid: 'bob', privs: { 1: 600, 2: 600, 3: 600, 4: 600 } },
      { type: 2, user: 'bob', privs: { 1: 1200 } },
    ],
    expire: 1200,
  },
  {
    name: 'agora rtm',
    args: ['agora', 'rtm', '--user-id', 'carol', '--ttl', '3600'],
    services: [{ type: 2, user: 'carol', privs: { 1: 3600 } }],
    expire: 3600,
  },
  {
    name: 'agora chat user',
    args: ['agora', 'chat', '--user-id', 'dave', '--ttl', '7200'],
    services: [{ type: 5, user: 'dave', privs: { 1: 7200 } }],
    expire: 7200,
  },
  {
    name: 'agora chat app',
    args: ['agora', 'chat', '--app', '--ttl', '7200'],
    services: [{ type: 5, user: '', privs: { 2: 7200 } }],
    expire: 7200,
  },
];

for (const c of agoraMintCases) {
  await check(`${c.name}: parsed and verified by agora-token AccessToken2`, () => {
    const token = mint([...c.args, '--issued-at', String(NOW), '--salt', '424242']);
    const t = parseAgora(token);
    assert.equal(str(t.appId), APP_ID);
    assert.equal(t.issueTs, NOW);
    assert.equal(t.expire, c.expire);
    assert.equal(t.salt, 424242);
    assert.equal(t.services.length, c.services.length);
    c.services.forEach((want, i) => {
      const s = t.services[i];
      assert.equal(s.service_type(), want.type);
      if (want.type === 1) {
        assert.equal(str(s.__channel_name), want.channel);
        assert.equal(str(s.__uid), want.uid);
      } else {
        assert.equal(str(s.__user_id), want.user);
      }
      assert.deepEqual(privileges(s), want.privs);
    });
    assert.equal(t.verifySignature(CERT), true, 'verifySignature(right certificate) is false');
    assert.equal(t.verifySignature(WRONG_CERT), false, 'verifySignature(wrong certificate) is true');
  });
}

await check('agora rtc: random salt and clock defaults still verify', () => {
  const token = mint(['agora', 'rtc', '--channel', 'c', '--uid', '7']);
  const t = parseAgora(token);
  assert.ok(Math.abs(t.issueTs - NOW) < 120, `issueTs ${t.issueTs} far from now ${NOW}`);
  assert.ok(t.salt >= 1 && t.salt <= 99999999);
  assert.equal(t.verifySignature(CERT), true);
});

// ------------------------------------------------------------------ (b) Agora: agora-token -> rtc-token inspect

const { RtcTokenBuilder, RtcRole, RtmTokenBuilder, ChatTokenBuilder } = agora;
const agoraBuilt = [
  ['RtcTokenBuilder.buildTokenWithUid publisher', () => RtcTokenBuilder.buildTokenWithUid(APP_ID, CERT, 'room-9', 1234, RtcRole.PUBLISHER, 3600, 3600),
    (j) => { assert.equal(j.services[0].uid, '1234'); assert.deepEqual(Object.keys(j.services[0].privileges).sort(), ['joinChannel', 'publishAudioStream', 'publishDataStream', 'publishVideoStream']); }],
  ['RtcTokenBuilder.buildTokenWithUid subscriber uid 0', () => RtcTokenBuilder.buildTokenWithUid(APP_ID, CERT, 'room-9', 0, RtcRole.SUBSCRIBER, 600),
    (j) => { assert.equal(j.services[0].uid, ''); assert.deepEqual(Object.keys(j.services[0].privileges), ['joinChannel']); }],
  ['RtcTokenBuilder.buildTokenWithUserAccount', () => RtcTokenBuilder.buildTokenWithUserAccount(APP_ID, CERT, 'room-9', 'erin', RtcRole.PUBLISHER, 3600, 0),
    (j) => { assert.equal(j.services[0].uid, 'erin'); assert.equal(j.services[0].privileges.joinChannel.seconds, 0); }],
  ['RtcTokenBuilder.buildTokenWithUidAndPrivilege', () => RtcTokenBuilder.buildTokenWithUidAndPrivilege(APP_ID, CERT, 'room-9', 77, 3600, 3600, 1800, 1200, 600),
    (j) => { const p = j.services[0].privileges; assert.deepEqual([p.joinChannel.seconds, p.publishAudioStream.seconds, p.publishVideoStream.seconds, p.publishDataStream.seconds], [3600, 1800, 1200, 600]); }],
  ['RtcTokenBuilder.buildTokenWithRtm', () => RtcTokenBuilder.buildTokenWithRtm(APP_ID, CERT, 'room-9', 'frank', RtcRole.PUBLISHER, 3600, 1800),
    (j) => { assert.deepEqual(j.services.map((s) => s.name), ['RTC', 'RTM']); assert.equal(j.services[1].user_id, 'frank'); }],
  ['RtmTokenBuilder.buildToken', () => RtmTokenBuilder.buildToken(APP_ID, CERT, 'grace', 3600),
    (j) => { assert.equal(j.services[0].name, 'RTM'); assert.equal(j.services[0].privileges.login.seconds, 3600); }],
  ['ChatTokenBuilder.buildUserToken', () => ChatTokenBuilder.buildUserToken(APP_ID, CERT, 'heidi', 3600),
    (j) => { assert.equal(j.services[0].user_id, 'heidi'); assert.ok(j.services[0].privileges.user); }],
  ['ChatTokenBuilder.buildAppToken', () => ChatTokenBuilder.buildAppToken(APP_ID, CERT, 3600),
    (j) => { assert.equal(j.services[0].user_id, ''); assert.ok(j.services[0].privileges.app); }],
];

for (const [name, build, more] of agoraBuilt) {
  await check(`agora-token ${name}: accepted by rtc-token inspect, wrong certificate rejected`, () => {
    const token = build();
    const ref = parseAgora(token);
    const j = expectInspectAccepts(token, ['--certificate', CERT], 'agora-007');
    assert.equal(j.app_id, APP_ID);
    assert.equal(j.issued_at.unix, ref.issueTs);
    assert.equal(j.salt, ref.salt);
    assert.equal(j.expire_seconds, ref.expire);
    assert.equal(j.expires_at.unix, ref.issueTs + ref.expire);
    assert.equal(j.expired, false);
    more(j);
    expectInspectRejects(token, ['--certificate', WRONG_CERT]);
  });
}

// ------------------------------------------------------------------ LiveKit

await check('livekit: rtc-token token verified by livekit-server-sdk TokenVerifier (grants, name, metadata, attributes)', async () => {
  const token = mint([
    'livekit', '--identity', 'alice', '--room', 'room-1', '--name', 'Alice A.', '--metadata', '{"team":"red"}',
    '--attribute', 'seat=12', '--attribute', 'lang=fr', '--sources', 'camera,microphone', '--can-publish-data',
    '--hidden', '--ttl', '600',
  ]);
  const c = await new TokenVerifier(LK_KEY, LK_SECRET).verify(token);
  assert.equal(c.iss, LK_KEY);
  assert.equal(c.sub, 'alice');
  assert.equal(c.name, 'Alice A.');
  assert.equal(c.metadata, '{"team":"red"}');
  assert.deepEqual(c.attributes, { seat: '12', lang: 'fr' });
  assert.equal(c.video.roomJoin, true);
  assert.equal(c.video.room, 'room-1');
  assert.deepEqual([...c.video.canPublishSources].sort(), ['camera', 'microphone']);
  assert.equal(c.video.canPublishData, true);
  assert.equal(c.video.hidden, true);
  assert.ok(Number.isInteger(c.exp) && Number.isInteger(c.nbf));
  assert.ok(Math.abs(c.exp - (NOW + 600)) < 120, `exp ${c.exp}`);
});

await check('livekit: deny flags and admin/create grants verified by livekit-server-sdk', async () => {
  const token = mint(['livekit', '--identity', 'bob', '--room', 'room-2', '--no-publish', '--no-subscribe', '--admin', '--create']);
  const c = await new TokenVerifier(LK_KEY, LK_SECRET).verify(token);
  assert.equal(c.video.canPublish, false);
  assert.equal(c.video.canSubscribe, false);
  assert.equal(c.video.roomAdmin, true);
  assert.equal(c.video.roomCreate, true);
  assert.ok(Math.abs(c.exp - c.nbf - 21600) <= 1, 'default ttl is 6 h');
});

await check('livekit: rtc-token token rejected by livekit-server-sdk with a wrong secret', async () => {
  const token = mint(['livekit', '--identity', 'alice', '--room', 'room-1']);
  await assert.rejects(new TokenVerifier(LK_KEY, WRONG_SECRET).verify(token));
  await assert.rejects(new TokenVerifier('APIotherKey', LK_SECRET).verify(token));
});

await check('livekit: livekit-server-sdk AccessToken accepted by rtc-token inspect, wrong secret rejected', async () => {
  const at = new AccessToken(LK_KEY, LK_SECRET, {
    identity: 'carol', name: 'Carol', metadata: 'm', attributes: { a: 'b' }, ttl: '10m',
  });
  at.addGrant({ roomJoin: true, room: 'room-3', canPublish: false, canPublishSources: [] });
  const token = await at.toJwt();
  const j = expectInspectAccepts(token, ['--secret', LK_SECRET, '--api-key', LK_KEY], 'livekit');
  assert.equal(j.identity, 'carol');
  assert.equal(j.api_key, LK_KEY);
  assert.equal(j.room, 'room-3');
  assert.equal(j.name, 'Carol');
  assert.equal(j.claims.metadata, 'm');
  assert.deepEqual(j.claims.attributes, { a: 'b' });
  assert.equal(j.claims.video.canPublish, false);
  assert.equal(j.expires_at.unix - j.not_before.unix, 600);
  expectInspectRejects(token, ['--secret', WRONG_SECRET]);
});

// LiveKit agent dispatch: tokens from the real endpoint (`rtc-token serve`, development caller issuer,
// the interop LiveKit key) with `room_config` as LiveKit's clients send it (proto field names) and in
// lowerCamelCase; the `roomConfig` claim must parse strictly as @livekit/protocol's RoomConfiguration.

function serveLiveKit(policy) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['serve', '--addr', '127.0.0.1:0'], {
      env: { ...ENV, LIVEKIT_POLICY_JSON: JSON.stringify(policy) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/listening on (http:\/\/\S+)\s/);
      if (m) resolve({ base: m[1].replace(/\/$/, ''), stop: () => child.kill() });
    });
    child.on('exit', (code) => reject(new Error(`rtc-token serve exited ${code}: ${log}`)));
  });
}

await check('livekit: agent-dispatch tokens from POST /livekit/token (both spellings) verified by livekit-server-sdk, roomConfig parsed strictly', async () => {
  const server = await serveLiveKit({ livekit: { room_config: { agents: ['guide-*'], deployments: ['staging'] } } });
  try {
    const jwt = cli(['dev-jwt', '--sub', 'alice']).out.trim();
    const bodies = [
      { agents: [{ agent_name: 'guide-bot', metadata: '{"tour":"rome"}', deployment: 'staging', restart_policy: 'JRP_NEVER', attributes: { lang: 'it' } }], max_participants: 3, empty_timeout: 120 },
      { agents: [{ agentName: 'guide-bot', metadata: '{"tour":"rome"}', deployment: 'staging', restartPolicy: 1, attributes: { lang: 'it' } }], maxParticipants: '3', emptyTimeout: 120 },
    ];
    for (const room_config of bodies) {
      const resp = await fetch(`${server.base}/livekit/token`, {
        method: 'POST',
        headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
        body: JSON.stringify({ room_name: 'tour-rome', room_config }),
      });
      const body = await resp.json();
      assert.equal(resp.status, 201, JSON.stringify(body));
      const c = await new TokenVerifier(LK_KEY, LK_SECRET).verify(body.participant_token);
      assert.equal(c.sub, 'alice');
      const rc = RoomConfiguration.fromJson(c.roomConfig); // strict: an unknown field throws
      assert.equal(rc.maxParticipants, 3);
      assert.equal(rc.emptyTimeout, 120);
      assert.equal(rc.agents.length, 1);
      const a = rc.agents[0];
      assert.equal(a.agentName, 'guide-bot');
      assert.equal(a.metadata, '{"tour":"rome"}');
      assert.equal(a.deployment, 'staging');
      assert.equal(a.restartPolicy, JobRestartPolicy.JRP_NEVER);
      assert.deepEqual({ ...a.attributes }, { lang: 'it' });
    }
  } finally {
    server.stop();
  }
});

await check('livekit: livekit-server-sdk AccessToken with roomConfig agents accepted by rtc-token inspect', async () => {
  const at = new AccessToken(LK_KEY, LK_SECRET, { identity: 'dave', ttl: '10m' });
  at.addGrant({ roomJoin: true, room: 'room-4' });
  at.roomConfig = new RoomConfiguration({
    maxParticipants: 2,
    agents: [new RoomAgentDispatch({ agentName: 'guide-bot', metadata: 'm' })],
  });
  const token = await at.toJwt();
  const j = expectInspectAccepts(token, ['--secret', LK_SECRET, '--api-key', LK_KEY], 'livekit');
  assert.equal(j.claims.roomConfig.agents[0].agentName, 'guide-bot');
  assert.equal(j.claims.roomConfig.maxParticipants, 2);
});

// ------------------------------------------------------------------ Stream

await check('stream: rtc-token chat token verified by jsonwebtoken (stream-chat\'s signer) with Stream\'s rules', () => {
  const token = mint(['stream', '--user-id', 'john', '--ttl', '600']);
  const c = jsonwebtoken.verify(token, ST_SECRET, { algorithms: ['HS256'] });
  assert.equal(c.user_id, 'john');
  assert.ok(Number.isInteger(c.exp) && Number.isInteger(c.iat));
  assert.ok(c.iat <= Math.floor(Date.now() / 1000), 'iat must not be in the future');
  assert.ok(Math.abs(c.exp - (NOW + 600)) < 120, `exp ${c.exp}`);
  assert.throws(() => jsonwebtoken.verify(token, WRONG_SECRET, { algorithms: ['HS256'] }));
});

await check('stream: rtc-token video token (call_cids, role) verified by jsonwebtoken', () => {
  const token = mint(['stream', '--user-id', 'jane', '--call-cid', 'default:abc', '--call-cid', 'livestream:xyz', '--role', 'admin']);
  const c = jsonwebtoken.verify(token, ST_SECRET, { algorithms: ['HS256'] });
  assert.equal(c.user_id, 'jane');
  assert.deepEqual(c.call_cids, ['default:abc', 'livestream:xyz']);
  assert.equal(c.role, 'admin');
  assert.ok(Number.isInteger(c.exp));
});

await check('stream: stream-chat createToken accepted by rtc-token inspect, wrong secret rejected', () => {
  const client = new StreamChat(ST_KEY, ST_SECRET);
  const iat = Math.floor(Date.now() / 1000) - 5;
  const token = client.createToken('john', iat + 3600, iat);
  const j = expectInspectAccepts(token, ['--secret', ST_SECRET], 'stream');
  assert.equal(j.user_id, 'john');
  assert.equal(j.token_type, 'user');
  assert.equal(j.expires_at.unix, iat + 3600);
  assert.equal(j.issued_at.unix, iat);
  expectInspectRejects(token, ['--secret', WRONG_SECRET]);
});

await check('stream: stream-chat createToken without exp is accepted (never expires)', () => {
  const client = new StreamChat(ST_KEY, ST_SECRET);
  const token = client.createToken('noexp');
  const j = expectInspectAccepts(token, ['--secret', ST_SECRET], 'stream');
  assert.equal(j.expires_at, null);
});

console.log(`node: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
