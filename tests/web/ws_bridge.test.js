'use strict';
/*
 * hawiya-bridge's loopback WebSocket (docs/bridge-protocol.md "WebSocket"),
 * driven by an independent RFC 6455 client (the ws package) against the
 * virtual card, the sim reader and the bridge: the handshake checks (Origin
 * allow-list, no Origin, Host not loopback), the origin binding, the same
 * methods and errors as the UNIX socket, the limits (message size,
 * connections per origin, back-pressure, idle timeout), and a port another
 * program holds. The assertion is checked with `hawiya verify`.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('child_process');
const net = require('net');
const path = require('path');
const WebSocket = require('ws');
const { Stack, freePort, sleep, waitFor } = require('./stack');

const ORIGIN = 'https://record.example';
const OTHER = 'https://pharmacy.example';
const CHALLENGE = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8'; /* 00..1F */
let stack;
let url;

/* Opens a WebSocket; resolves with the socket and a queue of its messages,
 * or with the HTTP status of a refused upgrade. */
function open(u, opts = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(u, { handshakeTimeout: 30000, ...opts });
    const msgs = [];
    const waiters = [];
    ws.on('message', (data, isBinary) => {
      const m = isBinary ? data : JSON.parse(data.toString());
      msgs.push(m);
      waiters.splice(0).forEach((w) => w());
    });
    ws.closed = new Promise((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    /* The next message that satisfies pred (taking it and those before it off the queue). */
    ws.next = (pred = () => true, ms = 20000) => new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error('no such message; got ' + JSON.stringify(msgs))), ms);
      const look = () => {
        const i = msgs.findIndex(pred);
        if (i >= 0) {
          clearTimeout(t);
          res(msgs.splice(0, i + 1)[i]);
        } else waiters.push(look);
      };
      look();
    });
    ws.call = (id, method, params) => {
      ws.send(JSON.stringify({ id, method, params }));
      return ws.next((m) => m.id === id);
    };
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    ws.on('open', () => resolve({ ws }));
    ws.on('error', (e) => resolve({ error: e }));
  });
}

test.before(async () => {
  stack = new Stack();
  await stack.startCard('default');
  await stack.startReader();
  await stack.startBridge({ origins: [ORIGIN, OTHER],
    extra: 'websocket_max_per_origin = 3\nwebsocket_idle_ms = 1500' });
  url = `ws://127.0.0.1:${stack.wsPort}/`;
});

test.after(async () => {
  await stack.stop();
});

test('authenticate over the WebSocket: progress events, an assertion bound to the handshake origin', async () => {
  const { ws } = await open(url, { origin: ORIGIN });
  assert.deepEqual(await ws.call(1, 'version'), { id: 1, result: { bridge: '0.1.0', protocol: 1 } });
  ws.send(JSON.stringify({ id: 'a1', method: 'authenticate',
    params: { challenge: CHALLENGE, origin: ORIGIN, can: '123456' } }));
  const steps = [];
  let answer;
  for (;;) {
    const m = await ws.next();
    if (m.event === 'progress') {
      assert.equal(m.request, 'a1');
      assert.equal(m.reader, 'desk');
      steps.push(m.step);
      if (['pace', 'read', 'aa'].includes(m.step)) assert.ok(m.elapsed_ms > 0, `${m.step} has its time`);
    } else if (m.id === 'a1') { answer = m; break; }
  }
  assert.deepEqual(steps.slice(0, 2), ['queued', 'started']);
  for (const s of ['atr', 'pace', 'read', 'ca', 'aa', 'attest']) assert.ok(steps.includes(s), `step ${s}`);
  const a = answer.result;
  assert.equal(a.origin, ORIGIN);
  assert.equal(a.challenge, CHALLENGE);
  assert.equal(a.identity.surname, 'BENALI');
  const pki = process.env.HAWIYA_PKI_DIR;
  const out = execFileSync(process.env.HAWIYA_CLI, ['verify', '--csca', path.join(pki, 'csca'),
    '--reader-ca', path.join(pki, 'reader-ca'), '--challenge', CHALLENGE, '--origin', ORIGIN],
  { input: JSON.stringify(a) }).toString();
  assert.match(out, /"verified":true/);
  ws.close();
});

test('a request naming another origin than the handshake\'s is refused, even an allowed one', async () => {
  const { ws } = await open(url, { origin: ORIGIN });
  const r = await ws.call(2, 'authenticate', { challenge: CHALLENGE, origin: OTHER, can: '123456' });
  assert.deepEqual(r.error, { code: 'ORIGIN_NOT_ALLOWED',
    message: "origin: not this page's origin (the WebSocket handshake's Origin)" });
  /* The same connection goes on. */
  assert.equal((await ws.call(3, 'status')).result.readers.configured, 1);
  ws.close();
});

test('handshakes refused with 403: Origin not allowed, no Origin, Origin null, Host not loopback', async () => {
  const cases = [
    { origin: 'https://evil.example' },
    { origin: 'https://record.example.evil.example' },
    { origin: 'http://record.example' },       /* another scheme is another origin */
    { origin: 'https://record.example:443' },  /* browsers never serialise a default port */
    { origin: 'null' },                        /* sandboxed frames, file: pages */
    {},                                        /* no Origin: not a browser */
    { origin: ORIGIN, headers: { Host: `evil.example:${stack.wsPort}` } },     /* DNS rebinding */
    { origin: ORIGIN, headers: { Host: `127.0.0.1.nip.io:${stack.wsPort}` } },
    { origin: ORIGIN, headers: { Host: `localhost.evil.example:${stack.wsPort}` } },
    { origin: ORIGIN, headers: { Host: `127.0.0.2:${stack.wsPort}` } },
    { origin: ORIGIN, headers: { Host: `127.0.0.1:${stack.wsPort + 1}` } },  /* another port */
    { origin: ORIGIN, headers: { Host: `127.0.0.1:${stack.wsPort}x` } },
  ];
  for (const c of cases) {
    const r = await open(url, c);
    assert.equal(r.status, 403, JSON.stringify(c));
  }
  const log = stack.log('bridge');
  assert.match(log, /websocket upgrade refused \(HTTP 403\): Origin not on the allow-list "https:\/\/evil.example"/);
  assert.match(log, /websocket upgrade refused \(HTTP 403\): no Origin \(browsers only\)/);
  assert.match(log, /websocket upgrade refused \(HTTP 403\): Host is not a loopback name "evil.example:\d+"/);
  /* The loopback names that are accepted, each with the right port. */
  for (const host of [`localhost:${stack.wsPort}`, `LOCALHOST:${stack.wsPort}`, `127.0.0.1:${stack.wsPort}`, '127.0.0.1']) {
    const { ws } = await open(url, { origin: ORIGIN, headers: { Host: host } });
    assert.ok(ws, host);
    ws.close();
    await ws.closed;
  }
});

test('a plain HTTP request to the WebSocket port gets 404', async () => {
  const body = await new Promise((resolve, reject) => {
    const s = net.connect(stack.wsPort, '127.0.0.1', () =>
      s.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${stack.wsPort}\r\nOrigin: ${ORIGIN}\r\n\r\n`));
    let b = '';
    s.on('data', (d) => { b += d; if (b.includes('\r\n\r\n')) { s.destroy(); resolve(b); } });
    s.on('error', reject);
  });
  assert.match(body, /^HTTP\/1\.1 404 /);
});

test('the same errors as the UNIX socket; a binary message is refused; one message is one request', async () => {
  const { ws } = await open(url, { origin: ORIGIN });
  ws.send('not json');
  assert.deepEqual(await ws.next(), { id: null, error: { code: 'BAD_JSON', message: 'not JSON' } });
  ws.send(Buffer.from([0x7b, 0x7d]), { binary: true });
  assert.deepEqual(await ws.next(), { id: null, error: { code: 'BAD_JSON', message: 'a request is a JSON text message' } });
  assert.equal((await ws.call(4, 'nosuch')).error.code, 'UNKNOWN_METHOD');
  assert.equal((await ws.call(5, 'authenticate', { origin: ORIGIN })).error.message, 'challenge: missing');
  /* Two objects in one message are not two requests. */
  ws.send('{"id":6,"method":"version"}\n{"id":7,"method":"version"}');
  assert.equal((await ws.next()).error.code, 'BAD_JSON');
  /* Whitespace and newlines inside one message are fine. */
  ws.send('{\n "id": 8,\n "method": "version"\n}\n');
  assert.equal((await ws.next()).id, 8);
  /* A message sent in fragments is one request. */
  ws.send('{"id":9,', { fin: false });
  ws.send('"method":"version"}', { fin: true });
  assert.equal((await ws.next()).id, 9);
  ws.close();
});

test('a message over 65536 bytes: TOO_LARGE, then closed with 1009; 65536 bytes is still read', async () => {
  const { ws } = await open(url, { origin: ORIGIN });
  const pad = (n) => { const head = '{"id":10,"method":"version","params":{"x":"'; return head + 'a'.repeat(n - head.length - 3) + '"}}'; };
  const ok = pad(65536);
  assert.equal(ok.length, 65536);
  ws.send(ok);
  assert.equal((await ws.next()).id, 10);
  ws.send(pad(65537));
  assert.deepEqual(await ws.next(), { id: null, error: { code: 'TOO_LARGE', message: 'a request line is at most 65536 bytes' } });
  assert.equal((await ws.closed).code, 1009);
});

test('text that is not UTF-8 closes the connection with 1007 (RFC 6455 §8.1)', async () => {
  const { ws } = await open(url, { origin: ORIGIN });
  ws.send(Buffer.from('{"id":1,"method":"version","x":"\xff\xfe"}', 'latin1'), { binary: false });
  assert.equal((await ws.closed).code, 1007);
});

test('at most websocket_max_per_origin connections per origin (429), other origins unaffected', async () => {
  const held = [];
  for (let i = 0; i < 3; i++) held.push((await open(url, { origin: ORIGIN })).ws);
  assert.equal((await open(url, { origin: ORIGIN })).status, 429);
  const other = await open(url, { origin: OTHER });
  assert.ok(other.ws);
  held[0].close();
  await held[0].closed;
  /* The bridge frees the slot when it has seen the close through: until then a fourth is
   * still refused (429), and then it is taken. */
  let again;
  await waitFor('a slot free again', async () => {
    again = await open(url, { origin: ORIGIN });
    if (!again.ws) assert.equal(again.status, 429);
    return !!again.ws;
  });
  for (const w of [...held.slice(1), other.ws, again.ws]) w.close();
  await Promise.all([...held.slice(1), other.ws, again.ws].map((w) => w.closed));
});

test('a client that does not read holds up nobody, and loses no answer', async () => {
  const { ws } = await open(url, { origin: ORIGIN });
  ws._socket.pause(); /* stop reading: answers pile up in the bridge */
  const n = 3000;
  for (let i = 0; i < n; i++) ws.send(JSON.stringify({ id: i, method: 'diagnose' }));
  await sleep(500);
  /* Another page is served meanwhile. */
  const o = await open(url, { origin: OTHER });
  assert.equal((await o.ws.call('s', 'status')).result.clients >= 2, true);
  o.ws.close();
  ws._socket.resume();
  for (let i = 0; i < n; i++) assert.equal((await ws.next()).id, i);
  ws.close();
});

test('an idle connection is closed (1001) after websocket_idle_ms', async () => {
  /* From before the connection exists: the bridge's idle clock cannot start earlier, so
   * this is never less than websocket_idle_ms however slow the machine is. */
  const t0 = performance.now();
  const { ws } = await open(url, { origin: ORIGIN });
  const c = await ws.closed;
  assert.equal(c.code, 1001);
  const ms = performance.now() - t0;
  assert.ok(ms >= 1500, `closed after ${ms} ms`);
});

test('a page waiting for a card is not idle, however long the wait', async () => {
  await stack.card('remove');
  const { ws } = await open(url, { origin: ORIGIN });
  ws.send(JSON.stringify({ id: 'w', method: 'authenticate',
    params: { challenge: CHALLENGE, origin: ORIGIN, can: '123456', timeout_ms: 4000 } }));
  await ws.next((m) => m.step === 'waiting_for_card');
  /* Silent for more than twice websocket_idle_ms, then the authenticate's own answer. */
  const r = await ws.next((m) => m.id === 'w', 60000);
  assert.equal(r.error.code, 'TIMEOUT');
  await stack.card('insert');
  ws.close();
});

test('diagnose names the WebSocket', async () => {
  const { ws } = await open(url, { origin: ORIGIN });
  assert.equal((await ws.call('d', 'diagnose')).result.config.websocket, `127.0.0.1:${stack.wsPort}`);
  ws.close();
});

test('closing the page while its authenticate waits drops it; the reader serves the next one', async () => {
  await stack.card('remove');
  const { ws } = await open(url, { origin: ORIGIN });
  ws.send(JSON.stringify({ id: 'x', method: 'authenticate', params: { challenge: CHALLENGE, origin: ORIGIN, can: '123456' } }));
  await ws.next((m) => m.step === 'waiting_for_card');
  ws.terminate();
  await waitFor('the bridge to drop the session', () => /client gone: queued session dropped/.test(stack.log('bridge')));
  await stack.card('insert');
  const b = await open(url, { origin: ORIGIN });
  const r = await b.ws.call('y', 'authenticate', { challenge: CHALLENGE, origin: ORIGIN, can: '123456' });
  assert.equal(r.result.identity.surname, 'BENALI');
  b.ws.close();
});

test('IPv6 loopback: localhost:PORT listens on 127.0.0.1 and [::1] alike', async () => {
  const s = new Stack();
  try {
    s.wsPort = await freePort();
    await s.startBridge({ origins: [ORIGIN], listen: `localhost:${s.wsPort}` });
    for (const u of [`ws://127.0.0.1:${s.wsPort}/`, `ws://[::1]:${s.wsPort}/`]) {
      const { ws } = await open(u, { origin: ORIGIN });
      assert.equal((await ws.call(1, 'version')).result.protocol, 1, u);
      ws.close();
    }
    const lsof = execFileSync('ss', ['-Hltn', `sport = :${s.wsPort}`]).toString();
    const addrs = lsof.trim().split('\n').map((l) => l.split(/\s+/)[3]).sort();
    assert.deepEqual(addrs, [`127.0.0.1:${s.wsPort}`, `[::1]:${s.wsPort}`]);
  } finally {
    await s.stop();
  }
});

test('a port another program holds: the bridge says so and exits', async () => {
  const squatter = net.createServer();
  const port = await freePort();
  await new Promise((r) => squatter.listen(port, '127.0.0.1', r));
  const s = new Stack();
  try {
    s.wsPort = port;
    const p = await s.startBridge({ origins: [ORIGIN], wait: false });
    const { code } = await p.exited;
    assert.equal(code, 1);
    assert.match(s.log('bridge'), new RegExp(`websocket: cannot listen on 127.0.0.1:${port}: Address already in use \\(another program holds the port\\)`));
  } finally {
    squatter.close();
    await s.stop();
  }
});

test('the configuration accepts loopback only', async () => {
  for (const bad of ['0.0.0.0:8080', '192.168.1.2:8080', '[::]:8080', 'example.com:8080', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1', '8080']) {
    const s = new Stack();
    try {
      s.wsPort = 1;
      const p = await s.startBridge({ origins: [ORIGIN], listen: bad, wait: false });
      const { code } = await p.exited;
      assert.equal(code, 2, bad);
      assert.match(s.log('bridge'), /bridge.conf:\d+: websocket: 127.0.0.1:PORT, \[::1\]:PORT or localhost:PORT \(loopback only\)/);
    } finally {
      await s.stop();
    }
  }
});
