// Publishing or withdrawing an evaluation: the enterprise's registry key (a keystore file and
// its passphrase, or a pasted key) signs the statement here, in this page. The key's fields
// have no name, so the form never sends them; only the statement and its signature are posted.
import { addressOf, decryptKeystore, parsePrivateKey, signPublication } from './verifier/verifier.js';

const form = document.querySelector('form[data-role="sign"]');

async function readKey() {
  const pasted = form.querySelector('#private_key').value.trim();
  if (pasted) return parsePrivateKey(pasted);
  const file = form.querySelector('#keystore').files[0];
  if (!file) throw new Error('choose the keystore file, or paste the key');
  return decryptKeystore(JSON.parse(await file.text()), form.querySelector('#passphrase').value);
}

function statement() {
  const d = form.dataset;
  return {
    action: form.elements.action.value,
    enterprise: d.enterprise,
    evaluation: d.evaluation,
    entry: d.entry,
    index: String(Number(d.index) + 1),
    prev: d.head,
    at: String(Math.floor(Date.now() / 1000)),
  };
}

function clearKey() {
  for (const id of ['#private_key', '#passphrase', '#keystore']) form.querySelector(id).value = '';
}

if (form) {
  const error = form.querySelector('[data-role="sign-error"]');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      const key = await readKey();
      const address = addressOf(key);
      if (address !== form.dataset.signer) throw new Error(`this key is ${address}; the enterprise's registry key is ${form.dataset.signer}`);
      const message = statement();
      form.elements.signature.value = signPublication(key, form.dataset.chainId, form.dataset.contract, message);
      form.elements.publication.value = JSON.stringify(message);
      key.fill(0);
      clearKey();
      form.submit();
    } catch (exc) {
      error.textContent = exc.message;
      error.hidden = false;
    }
  });
}
