'use strict';
/*
 * What Debian's Chromium requires of a loopback WebSocket called by a page,
 * observed rather than assumed (docs/desk.md, "What browsers require"). A
 * probe page is served over https with a throwaway self-signed certificate
 * (--ignore-certificate-errors) as https://record.example (mapped to
 * 127.0.0.1 by --host-resolver-rules), or over plain http. A recording
 * endpoint on 127.0.0.1 and [::1] logs every HTTP request and upgrade it
 * receives, so "blocked" means the browser sent nothing at all (no
 * preflight). --ip-address-space-overrides makes the page's server count as
 * public, as a real platform's is.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const http = require('http');
const https = require('https');
const WebSocket = require('ws');
const { Stack, freePort } = require('./stack');
const { Browser } = require('./cdp');

const PROBE = `<!doctype html><script>
window.tryWs = (u, send) => new Promise((res) => {
  let ws;
  try { ws = new WebSocket(u); } catch (e) { res('throws ' + e.name); return; }
  ws.onopen = () => { if (send) ws.send(send); else { ws.close(); res('open'); } };
  ws.onmessage = (m) => { ws.close(); res('open: ' + m.data); };
  ws.onerror = () => res('error');
  setTimeout(() => res('timeout'), 8000);
});
</script>`;

let stack; let browser; let seen = []; let ports;
const servers = [];

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
    servers.push(server);
  });
}

test.before(async () => {
  stack = new Stack();
  stack.makeCert();
  ports = { ws: await freePort(), https: await freePort(), http: await freePort(), loop: await freePort() };
  /* The recording endpoint: answers every upgrade, logs every request. */
  const wss = new WebSocket.Server({ noServer: true });
  for (const host of ['127.0.0.1', '::1']) {
    const s = http.createServer((req, res) => { seen.push(`${req.method} ${req.url}`); res.writeHead(404); res.end(); });
    s.on('upgrade', (req, sock, head) => {
      seen.push(`upgrade Origin=${req.headers.origin}`);
      wss.handleUpgrade(req, sock, head, (ws) => ws.on('message', (m) => ws.send(`echo ${m}`)));
    });
    await listen(s, ports.ws, host);
  }
  const page = (req, res) => { res.writeHead(200, { 'Content-Type': 'text/html' }); res.end(PROBE); };
  const tls = { key: fs.readFileSync(stack.keyFile), cert: fs.readFileSync(stack.certFile) };
  await listen(https.createServer(tls, page), ports.https, '127.0.0.1');
  await listen(http.createServer(page), ports.http, '127.0.0.1');
  await listen(https.createServer(tls, page), ports.loop, '127.0.0.1');
  browser = await Browser.launch([
    '--ignore-certificate-errors',
    '--host-resolver-rules=MAP record.example 127.0.0.1, MAP bridge.example 127.0.0.1',
    /* The platform's server is public; the bridge's port stays loopback. */
    `--ip-address-space-overrides=127.0.0.1:${ports.https}=public,127.0.0.1:${ports.http}=public`,
  ]);
  console.log(`# ${browser.version}`);
});

test.after(async () => {
  if (browser) await browser.close();
  for (const s of servers) s.close();
  await stack.stop();
});

async function probe(pageUrl, targets) {
  const page = await browser.newPage();
  const logs = [];
  browser.on((m) => { if (m.sessionId === page.sessionId && m.method === 'Log.entryAdded') logs.push(m.params.entry.text); });
  await page.send('Log.enable');
  await page.goto(pageUrl);
  const out = { secure: await page.eval('isSecureContext'), results: {} };
  for (const t of targets) {
    seen = [];
    const r = await page.eval(`tryWs(${JSON.stringify(t)})`);
    out.results[t] = { result: r, seen: seen.slice() };
  }
  out.logs = logs;
  await page.close();
  return out;
}

const loopbackTargets = () => [`ws://127.0.0.1:${ports.ws}/`, `ws://localhost:${ports.ws}/`, `ws://[::1]:${ports.ws}/`];

test('a page served from loopback reaches ws://127.0.0.1, ws://localhost and ws://[::1] with no permission', async () => {
  const r = await probe(`https://localhost:${ports.loop}/`, loopbackTargets());
  assert.equal(r.secure, true);
  for (const [t, v] of Object.entries(r.results)) {
    assert.equal(v.result, 'open', t);
    assert.deepEqual(v.seen, [`upgrade Origin=https://localhost:${ports.loop}`], t);
  }
});

test('a public https page is blocked from loopback before anything is sent (Local Network Access, no preflight)', async () => {
  const r = await probe(`https://record.example:${ports.https}/`, loopbackTargets());
  assert.equal(r.secure, true);
  for (const [t, v] of Object.entries(r.results)) {
    assert.equal(v.result, 'error', t);
    assert.deepEqual(v.seen, [], `${t}: the endpoint saw nothing, not even an OPTIONS preflight`);
  }
  for (const t of loopbackTargets()) {
    assert.ok(r.logs.includes(`WebSocket connection to '${t}' failed: Error in connection establishment: net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS`), r.logs.join('\n'));
  }
  const state = await (async () => {
    const p = await browser.newPage();
    await p.goto(`https://record.example:${ports.https}/`);
    const s = await p.eval(`Promise.all(['loopback-network', 'local-network-access'].map((n) =>
      navigator.permissions.query({ name: n }).then((x) => n + '=' + x.state, (e) => n + ': ' + e.name)))`);
    await p.close();
    return s;
  })();
  assert.deepEqual(state, ['loopback-network=denied', 'local-network-access=denied']);
});

test('with the loopback-network permission the same page connects: ws:// to loopback is not mixed content', async () => {
  const origin = `https://record.example:${ports.https}`;
  /* The older single permission is not the one that opens loopback. */
  await browser.send('Browser.grantPermissions', { permissions: ['localNetworkAccess'], origin });
  let r = await probe(`${origin}/`, [`ws://127.0.0.1:${ports.ws}/`]);
  assert.equal(r.results[`ws://127.0.0.1:${ports.ws}/`].result, 'error');
  await browser.send('Browser.grantPermissions', { permissions: ['loopbackNetwork'], origin });
  r = await probe(`${origin}/`, [...loopbackTargets(), `ws://bridge.example:${ports.ws}/`, `wss://127.0.0.1:${ports.ws}/`]);
  for (const t of loopbackTargets()) {
    assert.equal(r.results[t].result, 'open', t);
    assert.deepEqual(r.results[t].seen, [`upgrade Origin=${origin}`], t);
  }
  /* A name that is not a loopback name is mixed content from https, whatever it resolves to. */
  assert.equal(r.results[`ws://bridge.example:${ports.ws}/`].result, 'throws SecurityError');
  assert.deepEqual(r.results[`ws://bridge.example:${ports.ws}/`].seen, []);
  /* wss:// to a plain endpoint is a TLS error, not a fallback. */
  assert.equal(r.results[`wss://127.0.0.1:${ports.ws}/`].result, 'error');
  await browser.send('Browser.resetPermissions', {});
});

test('a public page over plain http can neither get the permission nor reach loopback', async () => {
  const origin = `http://record.example:${ports.http}`;
  /* Chromium 156 refuses the grant itself; 150 (Debian 12 without
   * bookworm-security) accepts it over DevTools and still never lets the page
   * reach loopback. What matters, and is asserted below for both, is the
   * second half. */
  const grant = await browser.send('Browser.grantPermissions', { permissions: ['loopbackNetwork'], origin })
    .then(() => 'granted', (e) => e.message);
  if (grant !== 'granted') assert.match(grant, /Permission can't be granted in current context/);
  console.log(`# ${browser.version}: loopbackNetwork for an http page: ${grant}`);
  const r = await probe(`${origin}/`, loopbackTargets());
  assert.equal(r.secure, false);
  for (const [t, v] of Object.entries(r.results)) {
    assert.equal(v.result, 'error', t);
    assert.deepEqual(v.seen, [], t);
  }
});

test('a public page with the permission, against the real bridge: its origin is the one bound', async () => {
  const s = new Stack();
  try {
    await s.startCard();
    await s.startReader();
    const origin = `https://record.example:${ports.https}`;
    await s.startBridge({ origins: [origin] });
    await browser.send('Browser.grantPermissions', { permissions: ['loopbackNetwork'], origin });
    const req = JSON.stringify({ id: 1, method: 'authenticate', params: {
      challenge: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8', origin, can: '123456' } });
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    const answer = await page.eval(`new Promise((res) => {
      const ws = new WebSocket('ws://127.0.0.1:${s.wsPort}/');
      ws.onopen = () => ws.send(${JSON.stringify(req)});
      ws.onmessage = (m) => { const j = JSON.parse(m.data); if (j.id === 1) { ws.close(); res(j); } };
      ws.onerror = () => res('error');
    })`);
    await page.close();
    assert.equal(answer.result.origin, origin);
    await browser.send('Browser.resetPermissions', {});
  } finally {
    await s.stop();
  }
});

test('another program on the port gets the page\'s messages: only the platform\'s verification protects', async () => {
  /* The recording endpoint stands for a squatter: a page that trusts whoever
   * answers on the port hands it its request, CAN included. */
  const page = await browser.newPage();
  await page.goto(`https://localhost:${ports.loop}/`);
  seen = [];
  const got = await page.eval(`tryWs('ws://127.0.0.1:${ports.ws}/', '{"id":1,"method":"authenticate","params":{"can":"123456"}}')`);
  await page.close();
  assert.equal(got, 'open: echo {"id":1,"method":"authenticate","params":{"can":"123456"}}');
  assert.deepEqual(seen, [`upgrade Origin=https://localhost:${ports.loop}`]);
});
