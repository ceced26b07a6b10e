'use strict';
/*
 * scripts/desk.sh: the desk page to try by hand. Starts the virtual card,
 * the sim reader (real time), the bridge with its WebSocket and the
 * platform stand-in (tests/web/stack.js), prints the URL, and takes
 * commands for the card on standard input until "quit" or Ctrl-C.
 */
const readline = require('readline');
const { Stack } = require('./stack');

const PAGE_PORT = Number(process.env.HAWIYA_DESK_PORT || 8080);
const WS_PORT = Number(process.env.HAWIYA_BRIDGE_WS_PORT || 47123);
const PERSONA = process.env.HAWIYA_DEMO_PERSONA || 'default';

(async () => {
  const stack = new Stack();
  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    try { await stack.stop(); } catch (e) { console.error(e.message); }
    process.exit(code);
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  try {
    await stack.startCard(PERSONA);
    await stack.startReader({ realtime: true });
    stack.wsPort = WS_PORT;
    const origin = `http://127.0.0.1:${PAGE_PORT}`;
    await stack.startBridge({ origins: [origin] });
    await stack.startStandin({ port: PAGE_PORT });
    console.log(`
  The desk page:   ${origin}/      (?lang=ar, ?lang=fr or your browser's language)
  CAN of the card: 123456 (persona "${PERSONA}"; tests/data/personas.json)
  Bridge:          ws://127.0.0.1:${WS_PORT}/ (origin ${origin} allowed)
  Logs:            ${stack.dir}

  Type a command for the card and Enter: remove, insert, persona ID (e.g. persona bad-aa-key),
  reader-off (unplug the reader), quit.`);
  } catch (e) {
    console.error(`desk: ${e.message}`);
    for (const n of ['vcard', 'reader', 'bridge', 'standin']) {
      const l = stack.log(n);
      if (l) console.error(`--- ${n}.log\n${l.slice(-2000)}`);
    }
    await stop(1);
    return;
  }
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    const cmd = line.trim();
    if (!cmd) return;
    if (cmd === 'quit') { await stop(0); return; }
    if (cmd === 'reader-off') { stack.reader.kill('SIGTERM'); console.log('reader unplugged'); return; }
    try { console.log((await stack.control(cmd)).trim()); } catch (e) { console.log(e.message); }
  });
  rl.on('close', () => {
    if (!process.stdin.isTTY) return; /* started without a terminal: run until a signal */
    stop(0);
  });
})();
