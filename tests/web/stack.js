'use strict';
/*
 * The whole desk on one machine, in a temporary directory, stopped at the
 * end: hawiya-vcard (a persona), hawiya-sim-reader (provisioned by the test
 * manufacturer CA), hawiya-bridge with its loopback WebSocket, and, when
 * asked, the platform stand-in serving examples/desk. Used by the WebSocket
 * test, the browser test and scripts/desk.sh. Binaries come from the
 * environment (CTest sets it; scripts/desk.sh too): HAWIYA_VCARD,
 * HAWIYA_SIM_READER, HAWIYA_BRIDGE, HAWIYA_PKI, HAWIYA_PKI_DIR,
 * HAWIYA_PERSONAS, HAWIYA_STANDIN, HAWIYA_DESK_DIR.
 */
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

/* A port nobody listens on now (the kernel's pick for port 0). */
function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, test, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await test()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function connects(target) {
  return new Promise((resolve) => {
    const s = net.connect(target);
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

class Stack {
  constructor(opts = {}) {
    this.opts = opts;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hawiya-web-'));
    this.procs = [];
  }

  start(name, exe, args, { log = true } = {}) {
    const out = log ? fs.openSync(path.join(this.dir, `${name}.log`), 'w') : 'ignore';
    const p = spawn(exe, args, { stdio: ['ignore', out, out] });
    p.name = name;
    p.exited = new Promise((resolve) => p.on('exit', (code, sig) => resolve({ code, sig })));
    this.procs.push(p);
    return p;
  }

  log(name) {
    try { return fs.readFileSync(path.join(this.dir, `${name}.log`), 'utf8'); } catch { return ''; }
  }

  /* The card: `persona` from tests/data/personas.json. */
  async startCard(persona = 'default') {
    const d = this.dir;
    this.cardSock = path.join(d, 'card.sock');
    this.vcard = this.start('vcard', env('HAWIYA_VCARD'), [
      '--line', path.join(d, 'line.sock'), '--control', this.cardSock,
      '--personas', env('HAWIYA_PERSONAS'), '--persona', persona, '--pki', env('HAWIYA_PKI_DIR')]);
    await waitFor('the card', () => connects(this.cardSock));
  }

  async startReader({ realtime = false } = {}) {
    const d = this.dir;
    this.readerSock = path.join(d, 'reader.sock');
    const args = ['--card', path.join(d, 'line.sock'), '--host', this.readerSock,
      '--state', path.join(d, 'reader-flash')];
    if (realtime) args.push('--realtime');
    this.reader = this.start('reader', env('HAWIYA_SIM_READER'), args);
    await waitFor('the reader', () => connects(this.readerSock));
    /* The reader makes its device key; the test manufacturer CA certifies it. */
    execFileSync(env('HAWIYA_PKI'), ['provision', '--ca', env('HAWIYA_PKI_DIR'),
      '--reader', this.readerSock], { stdio: ['ignore', 'ignore', 'inherit'] });
  }

  /* hawiya-bridge: `origins` allowed, the WebSocket on `listen` (default 127.0.0.1:free port). */
  async startBridge({ origins = [], listen, extra = '', wait = true } = {}) {
    this.wsPort = this.wsPort || await freePort();
    this.wsListen = listen || `127.0.0.1:${this.wsPort}`;
    this.bridgeSock = path.join(this.dir, 'bridge.sock');
    const conf = path.join(this.dir, 'bridge.conf');
    fs.writeFileSync(conf, [
      ...origins.map((o) => `origin = ${o}`),
      `websocket = ${this.wsListen}`,
      this.readerSock ? `reader = sim:desk:${this.readerSock}` : '',
      'log_level = debug',
      extra, ''].join('\n'));
    this.bridge = this.start('bridge', env('HAWIYA_BRIDGE'), ['--config', conf, '--socket', this.bridgeSock]);
    if (wait) await waitFor('the bridge', () => connects({ port: this.wsPort, host: '127.0.0.1' }));
    return this.bridge;
  }

  /* The platform stand-in serving examples/desk; its origin is http(s)://127.0.0.1:PORT. */
  async startStandin({ name = 'standin', port, tls = false, host = '127.0.0.1', bridgeUrl,
    lifetime = this.opts.challengeLifetime } = {}) {
    port = port || await freePort();
    const args = ['--listen', `${host}:${port}`, '--www', env('HAWIYA_DESK_DIR'),
      '--csca', path.join(env('HAWIYA_PKI_DIR'), 'csca'),
      '--reader-ca', path.join(env('HAWIYA_PKI_DIR'), 'reader-ca', 'reader-ca.pem'),
      '--bridge', bridgeUrl || `ws://127.0.0.1:${this.wsPort}`];
    if (tls) {
      this.makeCert();
      args.push('--cert', this.certFile, '--key', this.keyFile);
    }
    if (lifetime) args.push('--challenge-lifetime-ms', String(lifetime));
    const p = this.start(name, env('HAWIYA_STANDIN'), args);
    await waitFor(name, () => connects({ port, host }));
    const hostName = host.includes(':') ? `[${host}]` : host;
    return { proc: p, port, origin: `${tls ? 'https' : 'http'}://${hostName}:${port}` };
  }

  /* A throwaway self-signed certificate for https on loopback (openssl). */
  makeCert() {
    if (this.certFile) return;
    this.certFile = path.join(this.dir, 'cert.pem');
    this.keyFile = path.join(this.dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
      '-nodes', '-keyout', this.keyFile, '-out', this.certFile, '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1'], { stdio: 'ignore' });
  }

  /* A command to the virtual card: "remove", "insert", "persona ID". */
  control(cmd) {
    return new Promise((resolve, reject) => {
      const s = net.connect(this.cardSock);
      let reply = '';
      s.on('connect', () => s.write(cmd + '\n'));
      s.on('data', (d) => { reply += d; });
      s.on('end', () => (reply.startsWith('ok') ? resolve(reply) : reject(new Error(`card: ${reply}`))));
      s.on('error', reject);
    });
  }

  /* One request to the bridge over its UNIX socket; the answer's result. */
  bridgeCall(method) {
    return new Promise((resolve, reject) => {
      const s = net.connect(this.bridgeSock);
      let buf = '';
      s.on('connect', () => s.write(JSON.stringify({ id: 1, method }) + '\n'));
      s.on('data', (d) => {
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        s.destroy();
        const m = JSON.parse(buf.slice(0, nl));
        if (m.error) reject(new Error(m.error.code)); else resolve(m.result);
      });
      s.on('error', reject);
    });
  }

  /* Waits until the bridge's `readers` shows the desk reader as `pred` wants. */
  async desk(what, pred) {
    await waitFor(what, async () => {
      const { readers } = await this.bridgeCall('readers');
      const r = readers.find((x) => x.name === 'desk');
      return r && pred(r);
    });
  }

  /* "remove" or "insert" the card, and wait until the bridge has seen it:
   * a request sent before then would still find the old state. */
  async card(cmd) {
    await this.control(cmd);
    const want = cmd === 'remove' ? 'absent' : 'present';
    await this.desk(`the bridge to see the card ${cmd}d`,
      (r) => (want === 'absent' ? r.state === 'absent' : r.state !== 'absent'));
  }

  /* Another card in the slot: out (the bridge sees it go), swapped, in (the bridge sees it). */
  async persona(id) {
    await this.card('remove');
    await this.control(`persona ${id}`);
    await this.desk(`the bridge to see the card '${id}'`, (r) => r.state !== 'absent');
  }

  /* Stops everything; throws if our bridge or stand-in did not exit cleanly
   * on SIGTERM, or a sanitizer spoke in any log (the ASan pass). */
  async stop() {
    const problems = [];
    for (const p of this.procs.reverse()) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 5000);
        const { code } = await p.exited;
        clearTimeout(t);
        if (code !== 0 && (p.name === 'bridge' || p.name === 'standin'))
          problems.push(`${p.name} exited with ${code} on SIGTERM`);
      }
      if (/Sanitizer|runtime error:/.test(this.log(p.name))) problems.push(`${p.name}: ${this.log(p.name).slice(-3000)}`);
    }
    if (!process.env.HAWIYA_KEEP) fs.rmSync(this.dir, { recursive: true, force: true });
    if (problems.length) throw new Error(problems.join('\n'));
  }
}

module.exports = { Stack, freePort, waitFor, sleep, connects };
