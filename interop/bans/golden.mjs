// Golden requests and official verifiers for `rtc-token admin ban|unban --kick`
// (crates/rtc-token-cli/tests/admin_kick_golden.rs runs this; it needs interop/node_modules).
//
//   node interop/bans/golden.mjs capture '<json>'   the official server SDKs' requests for the same
//       actions, sent to a capture server on 127.0.0.1; prints them as JSON:
//       livekit-server-sdk RoomServiceClient.removeParticipant(room, identity, {revokeTokenTs}) and
//       .listRooms(); stream-chat revokeUserToken(user, before) and revokeUserToken(user, null).
//       Input: {"livekit":{"key","secret","room","identity","ts"},
//               "stream":{"key","secret","user","before"}}  (before: ISO string)
//   node interop/bans/golden.mjs verify '<json>'    checks our tokens with the official verifiers:
//       {"livekit":[{"token","key","secret","room"?}], "stream":[{"token","secret"}]}
//       LiveKit: livekit-server-sdk TokenVerifier, then video.roomAdmin for that room (or roomList
//       when no room); Stream: jsonwebtoken.verify HS256 with the secret (stream-chat's own JWT
//       library) and the server claim. Prints {"ok": true} or {"ok": false, "why": ...}.
import http from 'node:http';
import { RoomServiceClient, TokenVerifier } from 'livekit-server-sdk';
import { StreamChat } from 'stream-chat';
import jwt from 'jsonwebtoken';

const [mode, arg] = process.argv.slice(2);
const input = JSON.parse(arg ?? '{}');

// Headers whose values matter for the comparison (lower-case names).
const KEEP = ['content-type', 'authorization', 'stream-auth-type', 'accept'];

function captureServer(answer) {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      const headers = {};
      for (const k of KEEP) if (req.headers[k] !== undefined) headers[k] = req.headers[k];
      seen.push({
        method: req.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body: body ? JSON.parse(body) : null,
      });
      const [status, json] = answer(req.method, url.pathname);
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(json));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, seen, base: `http://127.0.0.1:${server.address().port}` })),
  );
}

async function capture() {
  const cap = await captureServer((method, path) => {
    if (path.endsWith('/ListRooms')) return [200, { rooms: [] }];
    if (path.startsWith('/twirp/')) return [200, {}];
    return [200, { users: {}, duration: '1ms' }];
  });
  const out = {};
  try {
    const lk = input.livekit;
    const rooms = new RoomServiceClient(cap.base, lk.key, lk.secret);
    await rooms.removeParticipant(lk.room, lk.identity, { revokeTokenTs: BigInt(lk.ts) });
    out.livekit_remove = cap.seen.pop();
    await rooms.listRooms();
    out.livekit_list_rooms = cap.seen.pop();

    const st = input.stream;
    const client = new StreamChat(st.key, st.secret, { baseURL: cap.base });
    await client.revokeUserToken(st.user, st.before);
    out.stream_revoke = cap.seen.pop();
    await client.revokeUserToken(st.user, null);
    out.stream_clear = cap.seen.pop();
  } finally {
    cap.server.close();
  }
  console.log(JSON.stringify(out));
}

async function verify() {
  const why = [];
  for (const lk of input.livekit ?? []) {
    try {
      const claims = await new TokenVerifier(lk.key, lk.secret).verify(lk.token);
      const v = claims.video ?? {};
      if (lk.room !== undefined && !(v.roomAdmin === true && v.room === lk.room)) {
        why.push(`livekit: no roomAdmin for ${lk.room}: ${JSON.stringify(v)}`);
      }
      if (lk.room === undefined && v.roomList !== true) why.push(`livekit: no roomList: ${JSON.stringify(v)}`);
    } catch (e) {
      why.push(`livekit: ${e.message}`);
    }
  }
  for (const st of input.stream ?? []) {
    try {
      const payload = jwt.verify(st.token, st.secret, { algorithms: ['HS256'] });
      if (payload.server !== true) why.push(`stream: not a server token: ${JSON.stringify(payload)}`);
    } catch (e) {
      why.push(`stream: ${e.message}`);
    }
  }
  console.log(JSON.stringify(why.length ? { ok: false, why } : { ok: true }));
}

if (mode === 'capture') await capture();
else if (mode === 'verify') await verify();
else {
  console.error('usage: golden.mjs capture|verify JSON');
  process.exit(2);
}
