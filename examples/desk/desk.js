/*
 * The front-desk page of a record platform, talking to hawiya-bridge on this
 * computer (docs/bridge-protocol.md "WebSocket") and to its own server
 * (here hawiya-platform-standin):
 *
 *   1. POST /api/challenge            the server's single-use challenge
 *   2. ws://127.0.0.1:PORT  authenticate {challenge, origin: location.origin, can}
 *      progress events -> the steps on screen, with the reader's times
 *   3. POST /api/verify  (the assertion) the server checks it with libhawiya-verify
 *      and answers with the verified holder
 *
 * The bridge binds the assertion to this page's origin as the browser
 * reports it in the WebSocket handshake; the page cannot claim another.
 * The CAN typed here goes to the bridge once, in the authenticate request,
 * and the field is cleared as it leaves (docs/desk.md, "The CAN").
 *
 * Text in Arabic, French or English, from the browser's languages (?lang=
 * overrides). No library, no build step: copy the three files.
 */
'use strict';

const TEXT = {
  en: {
    title: 'Identify the patient',
    can_label: 'Card number (CAN)',
    can_hint: 'The 6 digits printed on the front of the card.',
    start: 'Read the card',
    again: 'Next patient',
    step_card: 'Card detected',
    step_channel: 'Secure channel',
    step_reading: 'Reading',
    step_card_sig: 'Card signature',
    step_reader_sig: 'Reader signature',
    step_server: 'Checked by the platform',
    verified: 'Identity verified',
    document: 'Document',
    birth: 'Date of birth',
    nationality: 'Nationality',
    reader: 'Reader',
    service_connecting: 'Connecting to the card reader…',
    service_up: 'Card reader ready',
    service_down: 'Card reader service not available',
    prompt_insert: 'Insert the card in the reader.',
    prompt_reading: 'Reading the card — do not remove it.',
    prompt_checking: 'Checking with the platform…',
    prompt_done: 'Done. You can remove the card.',
    not_attested: 'none (reader without signature)',
    errors: {
      no_card: ['No card in the reader.',
        'Insert the patient’s ID card in the reader, chip first, then press “Read the card” again.'],
      wrong_can: ['The card number does not match this card.',
        'Check the 6 digits printed on the front of the card, type them again and retry.'],
      bad_can: ['The card number must be 6 digits.',
        'Type the 6 digits printed on the front of the card.'],
      card_removed: ['The card was taken out before reading finished.',
        'Put the card back in the reader and leave it there until the screen says the identity is verified.'],
      reader_unplugged: ['The card reader is not connected.',
        'Check that the reader’s cable is plugged into the computer, wait a few seconds, then try again.'],
      not_genuine: ['This card could not be confirmed as a genuine identity card.',
        'Do not accept it. Ask for another identity document and inform your supervisor.'],
      unreadable: ['This card cannot be read as an identity card.',
        'Check that it is the patient’s national ID card, inserted chip first. If it is, ask for another identity document.'],
      busy: ['The reader is busy with another card.', 'Wait a moment, then try again.'],
      too_slow: ['The reading took too long.', 'Try again, and keep the card in the reader.'],
      expired: ['This identity card has expired.', 'Ask the patient for another identity document that is still valid.'],
      service_down: ['This page cannot reach the card reader service.',
        'The service may be stopped or not set up for this site. Restart the computer; if it happens again, call IT support.'],
      server_down: ['The platform could not be reached.', 'Check the network connection and try again.'],
      other: ['Something went wrong.',
        'Try again. If it happens again, call IT support and give them the code below.'],
    },
  },
  fr: {
    title: 'Identifier le patient',
    can_label: 'Numéro de carte (CAN)',
    can_hint: 'Les 6 chiffres imprimés au recto de la carte.',
    start: 'Lire la carte',
    again: 'Patient suivant',
    step_card: 'Carte détectée',
    step_channel: 'Canal sécurisé',
    step_reading: 'Lecture',
    step_card_sig: 'Signature de la carte',
    step_reader_sig: 'Signature du lecteur',
    step_server: 'Vérifié par la plateforme',
    verified: 'Identité vérifiée',
    document: 'Document',
    birth: 'Date de naissance',
    nationality: 'Nationalité',
    reader: 'Lecteur',
    service_connecting: 'Connexion au lecteur de carte…',
    service_up: 'Lecteur de carte prêt',
    service_down: 'Service du lecteur de carte indisponible',
    prompt_insert: 'Insérez la carte dans le lecteur.',
    prompt_reading: 'Lecture de la carte — ne la retirez pas.',
    prompt_checking: 'Vérification auprès de la plateforme…',
    prompt_done: 'Terminé. Vous pouvez retirer la carte.',
    not_attested: 'aucune (lecteur sans signature)',
    errors: {
      no_card: ['Aucune carte dans le lecteur.',
        'Insérez la carte d’identité du patient dans le lecteur, puce en premier, puis appuyez de nouveau sur « Lire la carte ».'],
      wrong_can: ['Le numéro de carte ne correspond pas à cette carte.',
        'Vérifiez les 6 chiffres imprimés au recto de la carte, saisissez-les de nouveau et réessayez.'],
      bad_can: ['Le numéro de carte comporte 6 chiffres.',
        'Saisissez les 6 chiffres imprimés au recto de la carte.'],
      card_removed: ['La carte a été retirée avant la fin de la lecture.',
        'Remettez la carte dans le lecteur et laissez-la jusqu’à ce que l’écran indique que l’identité est vérifiée.'],
      reader_unplugged: ['Le lecteur de carte n’est pas connecté.',
        'Vérifiez que le câble du lecteur est branché à l’ordinateur, attendez quelques secondes puis réessayez.'],
      not_genuine: ['Cette carte n’a pas pu être confirmée comme une carte d’identité authentique.',
        'Ne l’acceptez pas. Demandez une autre pièce d’identité et prévenez votre responsable.'],
      unreadable: ['Cette carte ne peut pas être lue comme une carte d’identité.',
        'Vérifiez qu’il s’agit bien de la carte nationale du patient, insérée puce en premier. Si c’est le cas, demandez une autre pièce d’identité.'],
      busy: ['Le lecteur est occupé par une autre carte.', 'Patientez un instant, puis réessayez.'],
      too_slow: ['La lecture a pris trop de temps.', 'Réessayez en laissant la carte dans le lecteur.'],
      expired: ['Cette carte d’identité est expirée.', 'Demandez au patient une autre pièce d’identité en cours de validité.'],
      service_down: ['Cette page ne peut pas joindre le service du lecteur de carte.',
        'Le service est peut-être arrêté ou non configuré pour ce site. Redémarrez l’ordinateur ; si cela se reproduit, appelez le support informatique.'],
      server_down: ['La plateforme est injoignable.', 'Vérifiez la connexion réseau et réessayez.'],
      other: ['Une erreur s’est produite.',
        'Réessayez. Si cela se reproduit, appelez le support informatique en lui donnant le code ci-dessous.'],
    },
  },
  ar: {
    title: 'التعرّف على هوية المريض',
    can_label: 'رقم البطاقة (CAN)',
    can_hint: 'الأرقام الستة المطبوعة على وجه البطاقة.',
    start: 'قراءة البطاقة',
    again: 'المريض التالي',
    step_card: 'تم اكتشاف البطاقة',
    step_channel: 'قناة آمنة',
    step_reading: 'القراءة',
    step_card_sig: 'توقيع البطاقة',
    step_reader_sig: 'توقيع القارئ',
    step_server: 'تحقّق المنصّة',
    verified: 'تم التحقق من الهوية',
    document: 'الوثيقة',
    birth: 'تاريخ الميلاد',
    nationality: 'الجنسية',
    reader: 'القارئ',
    service_connecting: 'جارٍ الاتصال بقارئ البطاقات…',
    service_up: 'قارئ البطاقات جاهز',
    service_down: 'خدمة قارئ البطاقات غير متاحة',
    prompt_insert: 'أدخل البطاقة في القارئ.',
    prompt_reading: 'جارٍ قراءة البطاقة — لا تسحبها.',
    prompt_checking: 'جارٍ التحقق لدى المنصّة…',
    prompt_done: 'تم. يمكنك سحب البطاقة.',
    not_attested: 'لا يوجد (قارئ بدون توقيع)',
    errors: {
      no_card: ['لا توجد بطاقة في القارئ.',
        'أدخل بطاقة تعريف المريض في القارئ بحيث تدخل الشريحة أولًا، ثم اضغط «قراءة البطاقة» مجددًا.'],
      wrong_can: ['رقم البطاقة لا يطابق هذه البطاقة.',
        'تحقّق من الأرقام الستة المطبوعة على وجه البطاقة، ثم اكتبها من جديد وأعد المحاولة.'],
      bad_can: ['رقم البطاقة يتكوّن من 6 أرقام.', 'اكتب الأرقام الستة المطبوعة على وجه البطاقة.'],
      card_removed: ['سُحبت البطاقة قبل انتهاء القراءة.',
        'أعد البطاقة إلى القارئ واتركها فيه حتى تظهر على الشاشة رسالة التحقق من الهوية.'],
      reader_unplugged: ['قارئ البطاقات غير موصول.',
        'تأكّد من توصيل كابل القارئ بالحاسوب، وانتظر بضع ثوانٍ ثم أعد المحاولة.'],
      not_genuine: ['تعذّر التأكد من أن هذه البطاقة بطاقة تعريف أصلية.',
        'لا تقبلها. اطلب وثيقة هوية أخرى وأبلغ مسؤولك.'],
      unreadable: ['لا يمكن قراءة هذه البطاقة كبطاقة تعريف.',
        'تأكّد من أنها بطاقة التعريف الوطنية للمريض وأن الشريحة أُدخلت أولًا. إن كانت كذلك فاطلب وثيقة هوية أخرى.'],
      busy: ['القارئ مشغول ببطاقة أخرى.', 'انتظر لحظة ثم أعد المحاولة.'],
      too_slow: ['استغرقت القراءة وقتًا طويلًا.', 'أعد المحاولة مع إبقاء البطاقة في القارئ.'],
      expired: ['انتهت صلاحية بطاقة الهوية هذه.', 'اطلب من المريض وثيقة هوية أخرى سارية المفعول.'],
      service_down: ['لا تستطيع هذه الصفحة الوصول إلى خدمة قارئ البطاقات.',
        'قد تكون الخدمة متوقفة أو غير مهيّأة لهذا الموقع. أعد تشغيل الحاسوب، وإذا تكرّر ذلك فاتصل بالدعم التقني.'],
      server_down: ['تعذّر الوصول إلى المنصّة.', 'تحقّق من الاتصال بالشبكة ثم أعد المحاولة.'],
      other: ['حدث خطأ ما.', 'أعد المحاولة. وإذا تكرّر ذلك فاتصل بالدعم التقني وأعطهم الرمز أدناه.'],
    },
  },
};

/* The bridge's steps (docs/bridge-protocol.md "authenticate") on the page's five. */
const STEP_OF = {
  atr: 'card', cardaccess: 'card',
  pace: 'channel', bac: 'channel', select: 'channel',
  read: 'reading',
  ca: 'card_sig', aa: 'card_sig',
  attest: 'reader_sig',
};
const STEPS = ['card', 'channel', 'reading', 'card_sig', 'reader_sig', 'server'];

/* The bridge's error codes, and the server's, in the receptionist's words. */
const BRIDGE_ERROR = {
  CARD_AUTH_FAILED: 'wrong_can',
  CARD_REMOVED: 'card_removed',
  NO_READER: 'reader_unplugged',
  READER_ERROR: 'reader_unplugged',
  CARD_ERROR: 'unreadable',
  READER_BUSY: 'busy',
  QUEUE_TIMEOUT: 'busy',
  TIMEOUT: 'too_slow',
  ORIGIN_NOT_ALLOWED: 'service_down',
};

/* What the platform's verifier said (hawiya-verify.h's names). A refusal that
 * says nothing about the card (the platform's own trust files, its CRL feed,
 * its challenge) must not make the receptionist turn a patient away as a
 * forger; an expired card is genuine but not acceptable. Any other HV_ERR_
 * is a card that could not be confirmed. */
const VERIFY_ERROR = {
  CHALLENGE_EXPIRED: 'too_slow',
  HV_ERR_DOCUMENT_EXPIRED: 'expired',
  HV_ERR_ARGUMENT: 'other',
  HV_ERR_MEMORY: 'other',
  HV_ERR_TRUST_STORE: 'other',
  HV_ERR_CRL_STALE: 'other',
  HV_ERR_UNATTESTED: 'other',
};

function pickLanguage() {
  const forced = new URLSearchParams(location.search).get('lang');
  const wanted = forced ? [forced] : (navigator.languages || [navigator.language || 'en']);
  for (const l of wanted) {
    const base = String(l).toLowerCase().split('-')[0];
    if (TEXT[base]) return base;
  }
  return 'en';
}

const lang = pickLanguage();
const T = TEXT[lang];
const $ = (id) => document.getElementById(id);
const msFormat = (ms) => new Intl.NumberFormat(lang, {
  style: 'unit', unit: 'millisecond', unitDisplay: 'short', numberingSystem: 'latn',
  maximumFractionDigits: ms < 10 ? 1 : 0,
}).format(ms);

let config = null;
let ws = null;
let pending = null; /* {id, resolve, reject, onProgress} of the request in flight */
let nextId = 1;
const calls = new Map();

function setState(state, error) {
  document.body.dataset.state = state;
  if (error) document.body.dataset.error = error;
  else delete document.body.dataset.error;
}

function translate() {
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === 'ar' ? 'rtl' : 'ltr';
  document.title = T.title;
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = T[el.dataset.t];
}

function service(state) {
  const el = $('service');
  el.dataset.state = state;
  el.textContent = T[`service_${state}`];
}

/* ---- the bridge ------------------------------------------------------------ */

function connect() {
  service('connecting');
  let socket;
  try {
    socket = new WebSocket(config.bridge);
  } catch (e) {
    service('down');
    return;
  }
  socket.onopen = () => { ws = socket; service('up'); };
  socket.onmessage = (e) => {
    let m;
    try { m = JSON.parse(e.data); } catch { return; }
    if (m.event === 'progress') {
      const c = calls.get(m.request);
      if (c && c.onProgress) c.onProgress(m);
      return;
    }
    const c = calls.get(m.id);
    if (!c) return;
    calls.delete(m.id);
    if (m.error) c.reject(Object.assign(new Error(m.error.message), { bridge: m.error.code }));
    else c.resolve(m.result);
  };
  socket.onclose = () => {
    if (ws === socket) ws = null;
    service('down');
    for (const c of calls.values()) c.reject(Object.assign(new Error('closed'), { key: 'service_down' }));
    calls.clear();
    setTimeout(connect, 2000);
  };
}

function call(method, params, onProgress) {
  return new Promise((resolve, reject) => {
    if (!ws) {
      reject(Object.assign(new Error('no bridge'), { key: 'service_down' }));
      return;
    }
    const id = `r${nextId++}`;
    calls.set(id, { resolve, reject, onProgress });
    ws.send(JSON.stringify({ id, method, params }));
  });
}

/* ---- the server -------------------------------------------------------------- */

async function post(path, body) {
  let r;
  try {
    r = await fetch(path, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body || '{}',
    });
  } catch (e) {
    throw Object.assign(new Error(e.message), { key: 'server_down' });
  }
  const j = await r.json().catch(() => null);
  if (!j) throw Object.assign(new Error(`HTTP ${r.status}`), { key: 'server_down' });
  return j;
}

/* ---- the screen --------------------------------------------------------------- */

const times = {};

function resetSteps() {
  for (const s of STEPS) {
    times[s] = 0;
    const li = document.querySelector(`[data-step="${s}"]`);
    li.dataset.state = 'pending';
    li.querySelector('.time').textContent = '';
  }
}

function stepDone(step, ms) {
  const at = STEPS.indexOf(step);
  STEPS.forEach((s, i) => {
    const li = document.querySelector(`[data-step="${s}"]`);
    if (i < at && li.dataset.state !== 'done') li.dataset.state = 'done';
    if (i === at + 1 && li.dataset.state === 'pending') li.dataset.state = 'active';
  });
  const li = document.querySelector(`[data-step="${step}"]`);
  li.dataset.state = 'done';
  if (typeof ms === 'number') {
    times[step] += ms;
    li.querySelector('.time').textContent = msFormat(times[step]);
  }
}

function prompt(key) {
  $('prompt').textContent = key ? T[key] : '';
}

function showError(key, code) {
  const [what, todo] = T.errors[key] || T.errors.other;
  $('error_what').textContent = what;
  $('error_do').textContent = todo;
  $('error_code').textContent = code || '';
  $('error').hidden = false;
  const active = document.querySelector('.steps [data-state="active"]');
  if (active) active.dataset.state = 'failed';
  prompt(null);
  setState('error', key);
}

/* DG11's name of holder is PRIMARY<<SECONDARY (ICAO 9303-10 §4.7.11), '<' between words. */
function fullName(dg11) {
  const [primary, secondary] = dg11.split('<<');
  const words = (s) => (s || '').split('<').filter(Boolean).join(' ');
  return [words(secondary), words(primary)].filter(Boolean).join(' ');
}

/* An MRZ date YYMMDD; a birth year past this year's two digits is in the last century. */
function mrzDate(d) {
  const yy = Number(d.slice(0, 2));
  const year = (yy > new Date().getUTCFullYear() % 100 ? 1900 : 2000) + yy;
  const date = new Date(Date.UTC(year, Number(d.slice(2, 4)) - 1, Number(d.slice(4, 6))));
  return new Intl.DateTimeFormat(lang, { dateStyle: 'long', timeZone: 'UTC', numberingSystem: 'latn' }).format(date);
}

function showHolder(v) {
  const id = v.identity;
  $('name_ar').textContent = id.full_name ? fullName(id.full_name) : '';
  $('name_latin').textContent = [id.given_names, id.surname].filter(Boolean).join(' ');
  $('document').textContent = `${id.document_type} ${id.issuing_state} ${id.document_number}`;
  $('birth').textContent = mrzDate(id.birth_date);
  $('nationality').textContent = id.nationality;
  $('reader').textContent = v.reader && v.reader.attested ? `${v.reader.id} (#${v.reader.counter})` : T.not_attested;
  $('holder').hidden = false;
  setState('verified');
}

async function run(can) {
  $('error').hidden = true;
  $('holder').hidden = true;
  $('progress').hidden = false;
  $('go').disabled = true;
  resetSteps();
  setState('working');
  try {
    /* Reader and card first, so the receptionist hears what is missing at once. */
    const { readers } = await call('readers', {});
    const up = readers.filter((r) => r.link === 'up');
    if (!up.length) throw Object.assign(new Error('no reader'), { key: 'reader_unplugged' });
    if (!up.some((r) => r.state !== 'absent')) throw Object.assign(new Error('no card'), { key: 'no_card' });

    const { challenge } = await post('/api/challenge');
    document.querySelector('[data-step="card"]').dataset.state = 'active';
    prompt('prompt_reading');
    let waited = false;
    const assertion = await call('authenticate', { challenge, origin: location.origin, can }, (p) => {
      if (p.step === 'waiting_for_card') { waited = true; prompt('prompt_insert'); }
      if (p.step === 'started') prompt('prompt_reading');
      /* The reader's signature costs it CPU time only (elapsed_ms counts the card line). */
      if (STEP_OF[p.step]) stepDone(STEP_OF[p.step], p.elapsed_ms || p.reader_cpu_ms);
    }).catch((e) => {
      if (e.bridge === 'TIMEOUT' && waited) e.key = 'no_card';
      throw e;
    });
    /* A reader behind PC/SC does not sign (docs/assertion.md): nothing to wait for. */
    if (!assertion.reader || assertion.reader.attested === false) {
      document.querySelector('[data-step="reader_sig"]').dataset.state = 'done';
    }
    document.querySelector('[data-step="server"]').dataset.state = 'active';
    prompt('prompt_checking');
    const t0 = performance.now();
    const v = await post('/api/verify', JSON.stringify(assertion));
    if (!v.verified) {
      const key = VERIFY_ERROR[v.error] || (/^HV_ERR_/.test(v.error) ? 'not_genuine' : 'other');
      throw Object.assign(new Error(v.message), { key, code: v.error });
    }
    stepDone('server', performance.now() - t0);
    prompt('prompt_done');
    showHolder(v);
  } catch (e) {
    const key = e.key || BRIDGE_ERROR[e.bridge] || 'other';
    showError(key, e.code || e.bridge || '');
  } finally {
    $('go').disabled = false;
    $('again').hidden = false;
  }
}

async function main() {
  translate();
  resetSteps();
  setState('idle');
  $('start').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const field = $('can');
    const can = field.value.trim();
    field.value = ''; /* the CAN leaves the screen as it goes to the reader */
    if (!/^[0-9]{6}$/.test(can)) {
      $('progress').hidden = true;
      showError('bad_can');
      return;
    }
    run(can);
  });
  $('again').addEventListener('click', () => {
    $('holder').hidden = true;
    $('error').hidden = true;
    $('progress').hidden = true;
    $('again').hidden = true;
    setState('idle');
    $('can').focus();
  });
  try {
    const r = await fetch('/api/config');
    config = await r.json();
  } catch (e) {
    service('down');
    showError('server_down', e.message);
    return;
  }
  connect();
}

main();
