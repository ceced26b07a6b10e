'use strict';
/*
 * Debian's Chromium (/usr/bin/chromium, headless), driven over the Chrome
 * DevTools Protocol on a pipe (--remote-debugging-pipe: NUL-terminated JSON
 * on descriptors 3 and 4), so the tests need no browser download and no
 * debugging port. Flags as for a machine without a network.
 */
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const CHROMIUM = process.env.HAWIYA_CHROMIUM || '/usr/bin/chromium';

class Browser {
  static async launch(extraFlags = []) {
    const b = new Browser();
    b.profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hawiya-chromium-'));
    b.proc = spawn(CHROMIUM, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-default-apps', '--mute-audio', '--hide-scrollbars', '--window-size=900,1000',
      `--user-data-dir=${b.profile}`, '--remote-debugging-pipe', ...extraFlags, 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    b.stderr = '';
    b.proc.stderr.on('data', (d) => { b.stderr += d; });
    b.exited = new Promise((r) => b.proc.on('exit', r));
    b.out = b.proc.stdio[3];
    b.nextId = 1;
    b.waiting = new Map();
    b.listeners = [];
    let buf = Buffer.alloc(0);
    b.proc.stdio[4].on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      let z;
      while ((z = buf.indexOf(0)) >= 0) {
        const msg = JSON.parse(buf.subarray(0, z).toString());
        buf = buf.subarray(z + 1);
        b.dispatch(msg);
      }
    });
    const v = await b.send('Browser.getVersion');
    b.version = v.product;
    return b;
  }

  dispatch(msg) {
    if (msg.id && this.waiting.has(msg.id)) {
      const { resolve, reject, method } = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
      else resolve(msg.result);
      return;
    }
    for (const l of this.listeners) l(msg);
  }

  send(method, params = {}, sessionId) {
    const id = this.nextId++;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, method });
      this.out.write(JSON.stringify(msg) + '\0');
    });
  }

  on(fn) { this.listeners.push(fn); }

  async newPage({ acceptLanguage } = {}) {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(this, sessionId, targetId);
    await page.send('Page.enable');
    await page.send('Runtime.enable');
    await page.send('Emulation.setDeviceMetricsOverride', { width: 900, height: 1000, deviceScaleFactor: 1, mobile: false });
    if (acceptLanguage) {
      const { userAgent } = await this.send('Browser.getVersion');
      await page.send('Network.setUserAgentOverride', { userAgent, acceptLanguage });
    }
    return page;
  }

  async close() {
    try { await Promise.race([this.send('Browser.close'), new Promise((r) => setTimeout(r, 3000))]); } catch { /* gone */ }
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(t);
    fs.rmSync(this.profile, { recursive: true, force: true });
  }
}

class Page {
  constructor(browser, sessionId, targetId) {
    this.b = browser;
    this.sessionId = sessionId;
    this.targetId = targetId;
    this.console = [];
    browser.on((m) => {
      if (m.sessionId !== sessionId) return;
      if (m.method === 'Runtime.consoleAPICalled') {
        this.console.push(m.params.args.map((a) => a.value ?? a.description).join(' '));
      } else if (m.method === 'Runtime.exceptionThrown') {
        this.console.push('exception: ' + (m.params.exceptionDetails.exception?.description || m.params.exceptionDetails.text));
      }
    });
  }

  send(method, params) { return this.b.send(method, params, this.sessionId); }

  async goto(url) {
    const loaded = new Promise((resolve) => this.b.on((m) => {
      if (m.sessionId === this.sessionId && m.method === 'Page.loadEventFired') resolve();
    }));
    const r = await this.send('Page.navigate', { url });
    if (r.errorText) throw new Error(`navigate ${url}: ${r.errorText}`);
    await loaded;
  }

  /* Evaluates a JS expression in the page (awaiting a promise); its value. */
  async eval(expression) {
    const r = await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) throw new Error(`eval ${expression}: ${r.exceptionDetails.exception?.description || r.exceptionDetails.text}`);
    return r.result.value;
  }

  async waitFor(expression, ms = 30000) {
    const end = Date.now() + ms;
    for (;;) {
      const v = await this.eval(expression);
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${expression}; console: ${this.console.join(' | ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async screenshot(file) {
    const { data } = await this.send('Page.captureScreenshot', { format: 'png' });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Buffer.from(data, 'base64'));
    return file;
  }

  /* The fonts Chromium used to draw a node's text (CSS.getPlatformFontsForNode). */
  async fontsFor(selector) {
    await this.send('DOM.enable');
    await this.send('CSS.enable');
    const { root } = await this.send('DOM.getDocument', { depth: -1 });
    const { nodeId } = await this.send('DOM.querySelector', { nodeId: root.nodeId, selector });
    const { fonts } = await this.send('CSS.getPlatformFontsForNode', { nodeId });
    return fonts;
  }

  async close() { await this.b.send('Target.closeTarget', { targetId: this.targetId }); }
}

module.exports = { Browser, CHROMIUM };
