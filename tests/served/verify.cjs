'use strict'
// Verifies served tokens with the official npm packages installed in interop/node_modules.
// Usage: node verify.cjs '{"kind":"agora"|"livekit"|"stream","token":T,"key":K,"secret":S}'
// Prints one JSON object: {"ok":bool, ...decoded fields} ; exit 0 unless the helper itself failed.
const path = require('path')
const { createRequire } = require('module')
const req = createRequire(path.join(__dirname, '..', '..', 'interop', 'package.json'))
const b2s = v => (Buffer.isBuffer(v) ? v.toString('utf8') : v)

async function main () {
  const r = JSON.parse(process.argv[2])
  let out
  if (r.kind === 'agora') {
    const { AccessToken2 } = req('agora-token/src/AccessToken2')
    const t = new AccessToken2('', '', 0, 0)
    if (!t.from_string(r.token)) {
      out = { ok: false, error: 'from_string failed' }
    } else {
      out = {
        ok: t.verifySignature(r.secret),
        app_id: b2s(t.appId),
        issue_ts: t.issueTs,
        expire: t.expire,
        services: t.services.map(s => ({
          type: s.service_type(),
          channel: b2s(s.__channel_name),
          uid: b2s(s.__uid),
          user_id: b2s(s.__user_id),
          privileges: s.__privileges
        }))
      }
    }
  } else if (r.kind === 'livekit') {
    const { TokenVerifier } = req('livekit-server-sdk')
    try {
      out = { ok: true, claims: await new TokenVerifier(r.key, r.secret).verify(r.token) }
    } catch (e) {
      out = { ok: false, error: String(e) }
    }
  } else if (r.kind === 'stream') {
    // stream-chat signs user tokens with the jsonwebtoken package; verify with the same.
    const jwt = req('jsonwebtoken')
    try {
      out = { ok: true, claims: jwt.verify(r.token, r.secret, { algorithms: ['HS256'] }) }
    } catch (e) {
      out = { ok: false, error: String(e) }
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}
main().catch(e => { process.stderr.write(String(e && e.stack)); process.exit(3) })
