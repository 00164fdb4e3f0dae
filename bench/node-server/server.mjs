// Reference Node token server for the side-by-side benchmark (bench/run.sh).
//
// Built the way users build one today: Node's plain `http` module (no framework overhead, which
// favours Node), `jose` for the caller JWT (HS256 shared secret, or `createRemoteJWKSet` when
// AUTH_JWKS_URL is set), and the official SDKs: `agora-token`, `livekit-server-sdk`, `stream-chat`.
// Same routes, request and response shapes, body cap and error shape as rtc-tokens, with a minimal
// policy (identity = caller `sub`, TTL defaults and caps), so both do comparable work per request.
//
// Environment (defaults are the benchmark's dev values, not secrets):
//   PORT (8791), AUTH_ISSUER, AUTH_AUDIENCE (optional), AUTH_HS256_SECRET | AUTH_JWKS_URL,
//   AUTH_LEEWAY_SECONDS (30), AGORA_APP_ID, AGORA_APP_CERTIFICATE, LIVEKIT_API_KEY,
//   LIVEKIT_API_SECRET, LIVEKIT_URL, STREAM_API_KEY, STREAM_API_SECRET.
import http from 'node:http';
import * as jose from 'jose';
import agora from 'agora-token';
import { AccessToken } from 'livekit-server-sdk';
import { StreamChat } from 'stream-chat';

const { RtcTokenBuilder, RtcRole, RtmTokenBuilder, ChatTokenBuilder } = agora;
const env = (k, d) => process.env[k] ?? d;

const PORT = Number(env('PORT', '8791'));
const HOST = env('HOST', '127.0.0.1');
const ISSUER = env('AUTH_ISSUER', 'https://bench.rtc-tokens.invalid');
const AUDIENCE = process.env.AUTH_AUDIENCE || undefined;
const LEEWAY = Number(env('AUTH_LEEWAY_SECONDS', '30'));
const BODY_LIMIT = 16 * 1024;

const AGORA_APP_ID = env('AGORA_APP_ID', '970ca35de60c44645bbae8a215061b33');
const AGORA_CERT = env('AGORA_APP_CERTIFICATE', '5cfd2fd1755d40ecb72977518be15d3b');
const LK_KEY = env('LIVEKIT_API_KEY', 'devkey');
const LK_SECRET = env('LIVEKIT_API_SECRET', 'secret-secret-secret-secret-secret-00');
const LK_URL = env('LIVEKIT_URL', 'ws://127.0.0.1:7880');
const STREAM_KEY = env('STREAM_API_KEY', 'devkey');
const STREAM_SECRET = env('STREAM_API_SECRET', 'stream-secret-stream-secret-stream-00');

// The caller-JWT key: a remote JWKS (cached and refreshed by jose) or the HS256 shared secret.
const verifyKey = process.env.AUTH_JWKS_URL
  ? jose.createRemoteJWKSet(new URL(process.env.AUTH_JWKS_URL))
  : new TextEncoder().encode(env('AUTH_HS256_SECRET', 'bench-hs256-secret-bench-hs256-secret-0'));
const ALGS = process.env.AUTH_JWKS_URL ? ['RS256', 'ES256'] : ['HS256'];

const stream = new StreamChat(STREAM_KEY, STREAM_SECRET);

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function authenticate(req) {
  const h = req.headers.authorization;
  if (!h || !h.startsWith('Bearer ')) throw new ApiError(401, 'unauthorized', 'missing or invalid caller token');
  try {
    const { payload } = await jose.jwtVerify(h.slice(7), verifyKey, {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ALGS,
      clockTolerance: LEEWAY,
      requiredClaims: ['sub', 'exp'],
    });
    return payload;
  } catch {
    throw new ApiError(401, 'unauthorized', 'missing or invalid caller token');
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const ct = req.headers['content-type'] || '';
    if (!ct.toLowerCase().startsWith('application/json')) {
      reject(new ApiError(415, 'unsupported_media_type', 'content type must be application/json'));
      req.resume();
      return;
    }
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > BODY_LIMIT) {
        reject(new ApiError(413, 'payload_too_large', `request body larger than ${BODY_LIMIT} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        const v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
        resolve(v);
      } catch {
        reject(new ApiError(400, 'invalid_json', 'body is not a JSON object'));
      }
    });
    req.on('error', reject);
  });
}

function onlyFields(body, allowed) {
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) throw new ApiError(400, 'unknown_field', `unknown field \`${k}\``);
  }
}

function ttlOf(body, def, max) {
  if (body.ttl === undefined) return def;
  if (!Number.isInteger(body.ttl) || body.ttl < 60 || body.ttl > max) {
    throw new ApiError(400, 'bad_request', `ttl must be an integer between 60 and ${max}`);
  }
  return body.ttl;
}

function agoraToken(caller, body) {
  onlyFields(body, ['type', 'channel', 'role', 'ttl']);
  const type = body.type ?? 'rtc';
  const role = body.role ?? 'subscriber';
  if (!['rtc', 'rtm', 'chat'].includes(type)) throw new ApiError(400, 'bad_request', 'type must be rtc, rtm or chat');
  if (!['publisher', 'subscriber'].includes(role)) throw new ApiError(400, 'bad_request', 'role must be publisher or subscriber');
  const channel = body.channel;
  if (type === 'rtc' && (typeof channel !== 'string' || channel.length === 0 || channel.length > 64)) {
    throw new ApiError(400, 'bad_request', 'channel is required (1-64 characters)');
  }
  const ttl = ttlOf(body, 3600, 86400);
  const account = caller.sub;
  let token;
  if (type === 'rtc') {
    const r = role === 'publisher' ? RtcRole.PUBLISHER : RtcRole.SUBSCRIBER;
    token = RtcTokenBuilder.buildTokenWithUserAccount(AGORA_APP_ID, AGORA_CERT, channel, account, r, ttl, ttl);
  } else if (type === 'rtm') {
    token = RtmTokenBuilder.buildToken(AGORA_APP_ID, AGORA_CERT, account, ttl);
  } else {
    token = ChatTokenBuilder.buildUserToken(AGORA_APP_ID, AGORA_CERT, account, ttl);
  }
  const now = Math.floor(Date.now() / 1000);
  return [200, {
    token, appId: AGORA_APP_ID, type, channel: channel ?? null, account, role,
    issuedAt: now, expiresAt: now + ttl, refreshAfter: now + Math.floor(ttl * 0.8),
  }];
}

async function livekitToken(caller, body) {
  onlyFields(body, ['room_name', 'participant_name', 'participant_identity', 'participant_metadata',
    'participant_attributes', 'room_config', 'role']);
  if (typeof body.room_name !== 'string' || body.room_name.length === 0) {
    throw new ApiError(400, 'bad_request', 'room_name is required');
  }
  if (body.participant_identity !== undefined && body.participant_identity !== caller.sub) {
    throw new ApiError(403, 'identity_mismatch', 'participant_identity must be the caller');
  }
  const at = new AccessToken(LK_KEY, LK_SECRET, {
    identity: caller.sub,
    name: body.participant_name,
    metadata: body.participant_metadata,
    attributes: body.participant_attributes,
    ttl: 900,
  });
  const listener = body.role === 'listener';
  at.addGrant({ roomJoin: true, room: body.room_name, canPublish: !listener, canSubscribe: true, canPublishData: !listener });
  return [201, { server_url: LK_URL, participant_token: await at.toJwt() }];
}

function streamToken(caller, body) {
  onlyFields(body, ['type', 'call_cids', 'role', 'ttl']);
  const type = body.type ?? 'chat';
  if (!['chat', 'video'].includes(type)) throw new ApiError(400, 'bad_request', 'type must be chat or video');
  const ttl = ttlOf(body, 3600, 86400);
  const now = Math.floor(Date.now() / 1000);
  const token = stream.createToken(caller.sub, now + ttl, now);
  return [200, { token, apiKey: STREAM_KEY, userId: caller.sub, expiresAt: now + ttl }];
}

const routes = {
  '/agora/token': agoraToken,
  '/livekit/token': livekitToken,
  '/stream/token': streamToken,
};

const server = http.createServer(async (req, res) => {
  try {
    const route = routes[req.url];
    if (!route) throw new ApiError(404, 'not_found', 'no such route');
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      throw new ApiError(405, 'method_not_allowed', 'method not allowed; use POST');
    }
    const caller = await authenticate(req);
    const body = await readBody(req);
    const [status, out] = await route(caller, body);
    send(res, status, out);
  } catch (e) {
    if (e instanceof ApiError) send(res, e.status, { error: { code: e.code, message: e.message } });
    else send(res, 500, { error: { code: 'internal', message: 'internal error' } });
  }
});
server.keepAliveTimeout = 65_000;
server.listen(PORT, HOST, () => console.error(`node-server listening on http://${HOST}:${PORT}`));
