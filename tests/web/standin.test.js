'use strict';
/*
 * hawiya-platform-standin, the record platform's server for the desk page:
 * its static files (and nothing outside its directory), single-use
 * challenges with a lifetime, and verification with libhawiya-verify of
 * assertions made through the bridge's WebSocket: a verified holder, then
 * the same challenge refused; an assertion for another origin refused and
 * its challenge consumed anyway; an expired challenge refused. Also over
 * TLS with a throwaway certificate.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('http');
const https = require('https');
const WebSocket = require('ws');
const { Stack, freePort, sleep } = require('./stack');

const OTHER = 'https://pharmacy.example';
/* The stand-in's default lifetime (120 s) for every test that must verify in time: an
 * authentication under ASan on a loaded 2-core machine takes seconds. A second stand-in,
 * `expiring`, issues challenges that live SHORT ms, for the test that waits them out. */
const LIFETIME = 120000;
const SHORT = 1500;
let stack; let platform; let expiring;

function request(base, method, path, body, { tls = false } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    const req = (tls ? https : http).request(u, { method, rejectUnauthorized: false,
      headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data,
        json: () => JSON.parse(data) }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

/* An assertion from the bridge for `challenge`, through a WebSocket opened as a page of `origin`. */
function authenticate(challenge, origin) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${stack.wsPort}/`, { origin });
    ws.on('open', () => ws.send(JSON.stringify({ id: 1, method: 'authenticate',
      params: { challenge, origin, can: '123456' } })));
    ws.on('message', (d) => {
      const m = JSON.parse(d);
      if (m.id !== 1) return;
      ws.close();
      if (m.error) reject(new Error(m.error.code)); else resolve(m.result);
    });
    ws.on('error', reject);
  });
}

test.before(async () => {
  stack = new Stack();
  await stack.startCard('default');
  await stack.startReader();
  stack.wsPort = await freePort();
  const port = await freePort();
  const shortPort = await freePort();
  await stack.startBridge({ origins: [`http://127.0.0.1:${port}`, `http://127.0.0.1:${shortPort}`, OTHER] });
  platform = await stack.startStandin({ port });
  expiring = await stack.startStandin({ name: 'expiring', port: shortPort, lifetime: SHORT });
});

test.after(async () => { await stack.stop(); });

test('serves the page and its files, with a content security policy, and nothing else', async () => {
  const index = await request(platform.origin, 'GET', '/');
  assert.equal(index.status, 200);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(index.headers['content-security-policy'], /connect-src 'self' ws:\/\/127\.0\.0\.1:\*/);
  assert.match(index.body, /<script src="desk.js" defer><\/script>/);
  assert.equal((await request(platform.origin, 'GET', '/desk.js')).headers['content-type'], 'text/javascript; charset=utf-8');
  for (const p of ['/nosuch.html', '/../CMakeLists.txt', '/%2e%2e/README.md', '/.hidden.js', '/a/b.js', '/README']) {
    assert.equal((await request(platform.origin, 'GET', p)).status, 404, p);
  }
  const cfg = (await request(platform.origin, 'GET', '/api/config')).json();
  assert.deepEqual(cfg, { bridge: `ws://127.0.0.1:${stack.wsPort}`, origin: platform.origin });
  assert.equal((await request(platform.origin, 'DELETE', '/api/challenge')).status, 405);
});

test('challenges: 32 random bytes, base64url, each different', async () => {
  const seen = new Set();
  for (let i = 0; i < 20; i++) {
    const r = await request(platform.origin, 'POST', '/api/challenge', '{}');
    assert.equal(r.status, 200);
    assert.equal(r.headers['cache-control'], 'no-store');
    const { challenge, expires_in_ms: life } = r.json();
    assert.match(challenge, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(challenge, 'base64url').length, 32);
    assert.equal(life, LIFETIME);
    seen.add(challenge);
  }
  assert.equal(seen.size, 20);
  const short = (await request(expiring.origin, 'POST', '/api/challenge', '{}')).json();
  assert.equal(short.expires_in_ms, SHORT);
});

test('verifies an assertion once; the same challenge again is refused', async () => {
  const { challenge } = (await request(platform.origin, 'POST', '/api/challenge', '{}')).json();
  const a = await authenticate(challenge, platform.origin);
  const body = JSON.stringify(a);
  const ok = await request(platform.origin, 'POST', '/api/verify', body);
  assert.equal(ok.status, 200, ok.body);
  const v = ok.json();
  assert.equal(v.verified, true);
  assert.equal(v.identity.surname, 'BENALI');
  assert.equal(v.identity.full_name, 'بن علي<<محمد أمين');
  assert.equal(v.reader.attested, true);
  assert.match(v.reader.id, /^sim-[0-9a-f]+$/);
  const again = await request(platform.origin, 'POST', '/api/verify', body);
  assert.equal(again.status, 409);
  assert.deepEqual(again.json(), { verified: false, error: 'CHALLENGE_UNKNOWN',
    message: 'the challenge was already used, or never issued by this server' });
});

test('an assertion for another origin is refused, and its challenge is spent', async () => {
  const { challenge } = (await request(platform.origin, 'POST', '/api/challenge', '{}')).json();
  const a = await authenticate(challenge, OTHER);
  const r = await request(platform.origin, 'POST', '/api/verify', JSON.stringify(a));
  assert.equal(r.status, 422);
  assert.equal(r.json().error, 'HV_ERR_ORIGIN');
  assert.equal((await request(platform.origin, 'POST', '/api/verify', JSON.stringify(a))).status, 409);
});

test('an expired challenge is refused', async () => {
  const { challenge } = (await request(expiring.origin, 'POST', '/api/challenge', '{}')).json();
  const a = await authenticate(challenge, expiring.origin);
  /* However long the authentication took, the challenge is now older than SHORT. */
  await sleep(SHORT + 200);
  const r = await request(expiring.origin, 'POST', '/api/verify', JSON.stringify(a));
  assert.equal(r.status, 410);
  assert.equal(r.json().error, 'CHALLENGE_EXPIRED');
  /* Spent too: an expired challenge is not kept for a second try. */
  const again = await request(expiring.origin, 'POST', '/api/verify', JSON.stringify(a));
  assert.equal(again.status, 409);
});

test('a challenge it never issued, and bodies that are not assertions, are refused', async () => {
  const { challenge } = (await request(platform.origin, 'POST', '/api/challenge', '{}')).json();
  const a = await authenticate(challenge, platform.origin);
  a.challenge = Buffer.alloc(32, 7).toString('base64url');
  assert.equal((await request(platform.origin, 'POST', '/api/verify', JSON.stringify(a))).status, 409);
  for (const bad of ['', 'not json', '{}', '{"challenge":7}', '[]']) {
    const r = await request(platform.origin, 'POST', '/api/verify', bad || ' ');
    assert.equal(r.status, 400, bad);
    assert.equal(r.json().error, 'HV_ERR_FORMAT');
  }
  const big = await request(platform.origin, 'POST', '/api/verify', '"' + 'x'.repeat(1 << 20) + '"');
  assert.equal(big.status, 413);
});

test('over TLS (a throwaway certificate), its origin is https', async () => {
  const s = await stack.startStandin({ name: 'tls', tls: true });
  assert.match(s.origin, /^https:\/\/127\.0\.0\.1:\d+$/);
  const r = await request(s.origin, 'GET', '/api/config', null, { tls: true });
  assert.equal(r.status, 200);
  assert.equal(r.json().origin, s.origin);
});
