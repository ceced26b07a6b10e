'use strict';
/*
 * The desk page (examples/desk) in Debian's headless Chromium, served by the
 * platform stand-in, against the virtual card, the sim reader (real time)
 * and hawiya-bridge's WebSocket: a full authentication in Arabic (the
 * holder's name from DG11 in Arabic script, drawn with a real Arabic font)
 * and the errors a receptionist meets, each in words with what to do: wrong
 * CAN (French), card pulled mid-session, no card, a card that is not
 * genuine, a page whose origin the bridge does not allow, the reader
 * unplugged. Screenshots go to $HAWIYA_WEB_ARTEFACTS.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const WebSocket = require('ws');
const { Stack } = require('./stack');
const { Browser } = require('./cdp');

const ART = process.env.HAWIYA_WEB_ARTEFACTS || path.join(process.cwd(), 'artefacts');
let stack; let browser; let platform; let stranger;

test.before(async () => {
  stack = new Stack();
  await stack.startCard('default');
  await stack.startReader({ realtime: true });
  const { freePort } = require('./stack');
  stack.wsPort = await freePort();
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  await stack.startBridge({ origins: [origin] });
  platform = await stack.startStandin({ port });
  assert.equal(platform.origin, origin);
  /* The same page from an origin the bridge does not allow. */
  stranger = await stack.startStandin({ name: 'stranger' });
  browser = await Browser.launch();
});

test.after(async () => {
  if (browser) await browser.close();
  await stack.stop();
});

async function openDesk(acceptLanguage, base = platform.origin) {
  const page = await browser.newPage({ acceptLanguage });
  await page.goto(base + '/');
  await page.waitFor("document.getElementById('service').dataset.state !== 'connecting'");
  return page;
}

async function start(page, can) {
  await page.eval(`(() => { document.getElementById('can').value = ${JSON.stringify(can)};
    document.getElementById('go').click(); })()`);
}

const text = (page, id) => page.eval(`document.getElementById(${JSON.stringify(id)}).textContent`);

async function expectError(page, key, what, todo, shot) {
  await page.waitFor("document.body.dataset.state === 'error'");
  assert.equal(await page.eval('document.body.dataset.error'), key);
  assert.equal(await text(page, 'error_what'), what);
  assert.equal(await text(page, 'error_do'), todo);
  await page.screenshot(path.join(ART, shot));
}

test('Arabic: a full authentication shows each step with its time and the verified holder in both scripts', async () => {
  const page = await openDesk('ar-MA,ar;q=0.9,fr;q=0.8');
  assert.equal(await page.eval('document.documentElement.lang'), 'ar');
  assert.equal(await page.eval('document.documentElement.dir'), 'rtl');
  assert.equal(await text(page, 'go'), 'قراءة البطاقة');
  assert.equal(await page.eval("document.getElementById('service').dataset.state"), 'up');
  /* When each step turns done on screen. */
  await page.eval(`(() => { window.timeline = {};
    new MutationObserver((ms) => ms.forEach((m) => {
      const s = m.target.dataset.step;
      if (s && m.target.dataset.state === 'done' && !(s in timeline)) timeline[s] = performance.now();
    })).observe(document.querySelector('.steps'), { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  })()`);
  await start(page, '123456');
  await page.waitFor("document.querySelector('[data-step=channel]').dataset.state === 'done'");
  await page.screenshot(path.join(ART, 'desk-ar-reading.png'));
  await page.waitFor("document.body.dataset.state === 'verified' || document.body.dataset.state === 'error'");
  assert.equal(await page.eval('document.body.dataset.state'), 'verified', await text(page, 'error_code'));
  assert.equal(await text(page, 'name_ar'), 'محمد أمين بن علي');
  assert.equal(await text(page, 'name_latin'), 'MOHAMED AMINE BENALI');
  assert.equal(await text(page, 'document'), 'ID MAR AB1234567');
  assert.equal(await text(page, 'nationality'), 'MAR');
  assert.match(await text(page, 'reader'), /^sim-[0-9a-f]+ \(#\d+\)$/);
  assert.equal(await text(page, 'can'), '', 'the CAN left the screen');
  assert.equal(await page.eval("document.getElementById('can').value"), '');
  for (const s of ['card', 'channel', 'reading', 'card_sig', 'reader_sig', 'server']) {
    assert.equal(await page.eval(`document.querySelector('[data-step=${s}]').dataset.state`), 'done', s);
  }
  /* Live: each step turned done in order, as the reader finished it, not all at the end
   * (in real time PACE alone takes over 300 ms on the sim line). */
  const tl = await page.eval('timeline');
  const order = ['card', 'channel', 'reading', 'card_sig', 'reader_sig', 'server'];
  for (let i = 1; i < order.length; i++) assert.ok(tl[order[i - 1]] <= tl[order[i]], JSON.stringify(tl));
  assert.ok(tl.reader_sig - tl.card >= 200, `steps shown as they happen: ${JSON.stringify(tl)}`);
  /* Reader times as the bridge reported them: PACE costs real time on the sim line. */
  for (const s of ['card', 'channel', 'reading', 'card_sig']) {
    const t = await page.eval(`document.querySelector('[data-step=${s}] .time').textContent`);
    assert.match(t, /[1-9][0-9]*/, `${s}: ${t}`);
  }
  /* The Arabic name is drawn with a font that has Arabic glyphs (no boxes). */
  const fonts = await page.fontsFor('#name_ar');
  assert.ok(fonts.length > 0 && fonts.every((f) => f.glyphCount > 0), JSON.stringify(fonts));
  assert.ok(!fonts.some((f) => /last ?resort/i.test(f.familyName)), JSON.stringify(fonts));
  await page.screenshot(path.join(ART, 'desk-ar-verified.png'));
  await page.close();
});

test('French: a wrong CAN is named, with what to do', async () => {
  const page = await openDesk('fr-FR,fr');
  assert.equal(await page.eval('document.documentElement.dir'), 'ltr');
  await start(page, '654321');
  await expectError(page, 'wrong_can', 'Le numéro de carte ne correspond pas à cette carte.',
    'Vérifiez les 6 chiffres imprimés au recto de la carte, saisissez-les de nouveau et réessayez.',
    'desk-fr-wrong-can.png');
  assert.equal(await text(page, 'error_code'), 'CARD_AUTH_FAILED');
  await page.close();
});

test('English: the card pulled out mid-session', async () => {
  const page = await openDesk('en-GB,en');
  /* Watch the session as a subscriber does, and pull the card once PACE is through. */
  const watcher = new WebSocket(`ws://127.0.0.1:${stack.wsPort}/`, { origin: platform.origin });
  await new Promise((r) => watcher.on('open', r));
  const pulled = new Promise((resolve) => watcher.on('message', async (d) => {
    const m = JSON.parse(d);
    if (m.event === 'progress' && m.step === 'pace') { await stack.card('remove'); resolve(); }
  }));
  watcher.send('{"id":1,"method":"subscribe"}');
  await start(page, '123456');
  await pulled;
  await expectError(page, 'card_removed', 'The card was taken out before reading finished.',
    'Put the card back in the reader and leave it there until the screen says the identity is verified.',
    'desk-en-card-removed.png');
  assert.equal(await page.eval("document.querySelector('[data-step=channel]').dataset.state"), 'done');
  watcher.close();
  await page.close();
});

test('English: no card in the reader', async () => {
  const page = await openDesk('en-US');
  await start(page, '123456');
  await expectError(page, 'no_card', 'No card in the reader.',
    'Insert the patient’s ID card in the reader, chip first, then press “Read the card” again.',
    'desk-en-no-card.png');
  await stack.card('insert');
  await page.close();
});

test('Arabic: a card that is not genuine (Active Authentication with another key) is refused by the platform', async () => {
  await stack.persona('bad-aa-key');
  const page = await openDesk('ar');
  await start(page, '123456');
  await expectError(page, 'not_genuine', 'تعذّر التأكد من أن هذه البطاقة بطاقة تعريف أصلية.',
    'لا تقبلها. اطلب وثيقة هوية أخرى وأبلغ مسؤولك.', 'desk-ar-not-genuine.png');
  assert.match(await text(page, 'error_code'), /^HV_ERR_AA_SIGNATURE$/);
  await stack.persona('default');
  await page.close();
});

test('French: an expired card is refused as expired, not as a forgery', async () => {
  await stack.persona('expired');
  const page = await openDesk('fr');
  await start(page, '123456');
  await expectError(page, 'expired', 'Cette carte d’identité est expirée.',
    'Demandez au patient une autre pièce d’identité en cours de validité.', 'desk-fr-expired.png');
  assert.match(await text(page, 'error_code'), /^HV_ERR_DOCUMENT_EXPIRED$/);
  await stack.persona('default');
  await page.close();
});

test('a page from an origin the bridge does not allow: the handshake is refused (403)', async () => {
  const page = await openDesk('en', stranger.origin);
  assert.equal(await page.eval("document.getElementById('service').dataset.state"), 'down');
  await start(page, '123456');
  await expectError(page, 'service_down', 'This page cannot reach the card reader service.',
    'The service may be stopped or not set up for this site. Restart the computer; if it happens again, call IT support.',
    'desk-en-origin-refused.png');
  assert.ok(stack.log('bridge').includes(
    `websocket upgrade refused (HTTP 403): Origin not on the allow-list "${stranger.origin}"`));
  await page.close();
});

test('French: the reader unplugged', async () => {
  const page = await openDesk('fr');
  stack.reader.kill('SIGTERM');
  await stack.reader.exited;
  await stack.desk('the bridge to see the reader go', (r) => r.link === 'down');
  await start(page, '123456');
  await expectError(page, 'reader_unplugged', 'Le lecteur de carte n’est pas connecté.',
    'Vérifiez que le câble du lecteur est branché à l’ordinateur, attendez quelques secondes puis réessayez.',
    'desk-fr-reader-unplugged.png');
  await page.close();
});
