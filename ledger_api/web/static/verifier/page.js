// The public pages: fetch (or read) a bundle, verify it in a worker, show each check as it is
// decided; a failed check turns the page red at that check.
const main = document.getElementById('main');
const list = main.querySelector('[data-role="checks"]');
const reason = main.querySelector('[data-role="reason"]');
const KINDS = {
  'carbon-ledger/record-proof': 'record',
  'carbon-ledger/figure-proof': 'figure',
  'carbon-ledger/asset-proof': 'asset',
};

function setState(state, text = '') {
  main.className = `state-${state}`;
  reason.textContent = text;
}

function show(check) {
  const item = document.createElement('li');
  item.className = `check check-${check.status}`;
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = check.name;
  const detail = document.createElement('span');
  detail.className = 'detail';
  detail.textContent = check.detail;
  item.append(name, detail);
  list.append(item);
}

// What the page prints must be what the proof proves.
function shownFigure(entry, path) {
  const rating = entry.rating ?? {};
  if (path === 'rating.grade') return rating.grade === undefined ? '—' : String(rating.grade);
  if (path === 'rating.K' || path === 'rating.L') return rating[path.slice(7)]?.reported ?? '—';
  return entry.accounting?.figures?.reported?.[path] ?? '—';
}

function mismatchedFigure(bundle) {
  for (const element of main.querySelectorAll('[data-figure]')) {
    const proven = shownFigure(bundle.entry, element.dataset.figure);
    if (element.textContent.trim() !== proven) {
      return `the page shows ${element.dataset.figure} = ${element.textContent.trim()}, the proof ${proven}`;
    }
  }
  return null;
}

function run(bundle, rpcUrl) {
  const kind = KINDS[bundle?.format];
  list.replaceChildren();
  if (!kind) return setState('undecided', `this page reads record, figure and asset proofs, not ${bundle?.format}: use carbon-verify`);
  setState('running');
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = ({ data }) => {
    if (data.type === 'check') return show(data.check);
    worker.terminate();
    if (data.type === 'undecided') return setState('undecided', data.reason);
    const { result } = data;
    list.replaceChildren();
    result.checks.forEach(show);
    if (!result.valid) return setState('invalid', `${result.failedCheck}: ${result.failure} — ${result.reason}`);
    const wrong = kind === 'figure' && main.dataset.bundleUrl ? mismatchedFigure(bundle) : null;
    if (wrong) return setState('invalid', wrong);
    showPublisher(result);
    // An asset proof proves a holding as of its last operation: say which, and what is held.
    const proven = [result.asset?.summary, result.offline ? 'offline: the chain was not asked' : ''];
    setState('valid', proven.filter(Boolean).join(' — '));
  };
  // A public page's bundle must carry the enterprise's own signed publication statement.
  worker.postMessage({ kind, bundle, rpcUrl, published: Boolean(main.dataset.bundleUrl) });
}

// "Published by <enterprise>, signed": only once the publication check has proven it.
function showPublisher(result) {
  const publisher = main.querySelector('[data-role="publisher"]');
  const check = result.checks.find((c) => c.name === 'publication');
  if (publisher && check && ['passed', 'warning'].includes(check.status)) publisher.hidden = false;
}

async function evaluationPage() {
  setState('running');
  const response = await fetch(main.dataset.bundleUrl, { headers: { Accept: 'application/json' } });
  if (!response.ok) return setState('undecided', `the proof is not available (HTTP ${response.status})`);
  run(await response.json(), main.dataset.rpcUrl);
}

function verifyPage() {
  const rpc = main.querySelector('[data-role="rpc"]');
  const read = async (file) => {
    try {
      run(JSON.parse(await file.text()), rpc.value.trim());
    } catch (exc) {
      setState('undecided', `not JSON: ${exc.message}`);
    }
  };
  main.querySelector('[data-role="file"]').addEventListener('change', (e) => e.target.files[0] && read(e.target.files[0]));
  const drop = main.querySelector('[data-role="drop"]');
  drop.addEventListener('dragover', (e) => e.preventDefault());
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    if (e.dataTransfer.files[0]) read(e.dataTransfer.files[0]);
  });
}

if (main.dataset.bundleUrl) evaluationPage();
else verifyPage();
