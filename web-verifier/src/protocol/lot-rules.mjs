// The rules of a carbon-asset lot (rules version 2), as verifier/protocol/lot_rules.py: apply
// takes the state before an operation (null before the issue) and returns the state after it,
// or throws an AssetRuleError whose `code` names the first broken rule. No clock, no chain.
//
// Rules are checked in this order; the first broken one is thrown.
//   issue:     asset_exists, prev_not_zero, recipient_not_allowed, range_invalid,
//              non_canonical_serial_prefix
//   otherwise: unknown_asset, stale_prev, terms_mismatch, range_invalid, range_outside_lot,
//              already_retired, then transfer_pending and insufficient_holding (transfer,
//              retire, surrender) or not_pending (accept, reject: pending to the owner;
//              reclaim: pending from it), then recipient_required / recipient_is_owner
//              (transfer) or recipient_not_allowed (every other action).
// Serials are BigInt; a state's ranges cover the issued range exactly, sorted, disjoint, with
// neighbours of equal (status, holder, origin) merged.
import { equal, toHex } from './bytes.mjs';
import { ZERO_PREV } from './asset-ops.mjs';

export const HELD = 'held';
export const PENDING = 'pending';
export const RETIRED = 'retired';
export const SURRENDERED = 'surrendered';
const SPENT = [RETIRED, SURRENDERED];

export class AssetRuleError extends Error {
  constructor(code, message, field) {
    super(`${code}: ${message}`);
    this.code = code;
    this.field = field;
  }
}

const broken = (code, message, field) => new AssetRuleError(code, message, field);
const repr = (value) => (typeof value === 'string' ? `'${value}'` : String(value));
const quantity = (r) => r.last - r.first + 1n;
const sum = (pieces) => pieces.reduce((n, r) => n + quantity(r), 0n);

// Printable ASCII without space and without lower-case letters: one spelling per registry block.
const CANONICAL_SERIAL_PREFIX = /^[!-`{-~]{1,64}$/;

function checkSerialPrefix(prefix) {
  if (typeof prefix === 'string' && CANONICAL_SERIAL_PREFIX.test(prefix)) return;
  let reason;
  if (typeof prefix !== 'string' || prefix.length < 1 || prefix.length > 64) reason = 'must be 1..64 characters';
  else if (prefix !== prefix.trim()) reason = 'has surrounding whitespace';
  else if (/\s/.test(prefix)) reason = 'contains whitespace';
  else if (/[^\x00-\x7f]/.test(prefix)) reason = 'contains a non-ASCII (look-alike or invisible) character';
  else if (/[\x00-\x1f\x7f]/.test(prefix)) reason = 'contains a control character';
  else reason = `has lower-case letters; write it as ${repr(prefix.toUpperCase())}`;
  throw broken('non_canonical_serial_prefix', `serialPrefix ${repr(prefix)} ${reason}`, 'serialPrefix');
}

function checkIssue(state, op) {
  if (state !== null) throw broken('asset_exists', `lot ${op.asset} was already issued`, 'asset');
  if (!equal(op.prev, ZERO_PREV)) {
    throw broken('prev_not_zero', 'an issue starts a lot, so prev must be 32 zero bytes', 'prev');
  }
  if (op.recipient) {
    throw broken('recipient_not_allowed', 'an issue goes to its owner; recipient must be empty', 'recipient');
  }
  if (op.first > op.last) throw broken('range_invalid', `first ${op.first} is after last ${op.last}`, 'last');
  checkSerialPrefix(op.serialPrefix);
}

function checkTerms(state, op) {
  for (const field of ['asset', 'program', 'vintage', 'serialPrefix']) {
    if (state[field] !== op[field]) {
      throw broken('terms_mismatch', `${field} is ${repr(op[field])}, the lot's is ${repr(state[field])}`, field);
    }
  }
}

/** The state's ranges cut to first..last: who holds, retired or surrendered which serials. */
export function rangesWithin(state, first, last) {
  return state.ranges
    .filter((r) => r.first <= last && r.last >= first)
    .map((r) => ({ ...r, first: r.first > first ? r.first : first, last: r.last < last ? r.last : last }));
}

function checkPending(touched, op) {
  // Accept and reject take serials pending *to* the owner; reclaim those pending *from* it.
  const side = op.action === 'reclaim' ? 'origin' : 'holder';
  const mine = sum(touched.filter((r) => r.status === PENDING && r[side] === op.owner));
  if (mine !== quantity(op)) {
    const way = side === 'origin' ? 'from' : 'to';
    throw broken('not_pending',
      `${mine} of the ${quantity(op)} serials ${op.first}..${op.last} are pending ${way} ${op.owner}`, 'first');
  }
}

function checkHolding(state, op) {
  const touched = rangesWithin(state, op.first, op.last);
  const spent = touched.find((r) => SPENT.includes(r.status));
  if (spent) throw broken('already_retired', `serials ${spent.first}..${spent.last} are ${spent.status}`, 'first');
  if (['accept', 'reject', 'reclaim'].includes(op.action)) return checkPending(touched, op);
  const waiting = touched.find((r) => r.status === PENDING);
  if (waiting) {
    throw broken('transfer_pending',
      `serials ${waiting.first}..${waiting.last} await acceptance by ${waiting.holder}`, 'first');
  }
  const held = sum(touched.filter((r) => r.holder === op.owner));
  if (held !== quantity(op)) {
    throw broken('insufficient_holding',
      `${op.owner} holds ${held} of the ${quantity(op)} serials ${op.first}..${op.last}`, 'owner');
  }
}

function checkRecipient(op) {
  if (op.action === 'transfer') {
    if (!op.recipient) throw broken('recipient_required', 'a transfer names its recipient', 'recipient');
    if (op.recipient === op.owner) {
      throw broken('recipient_is_owner', 'a transfer to its own owner moves nothing', 'recipient');
    }
  } else if (op.recipient) {
    throw broken('recipient_not_allowed', `a ${op.action} has no recipient; it must be empty`, 'recipient');
  }
}

function check(state, op) {
  if (op.action === 'issue') return checkIssue(state, op);
  if (state === null) throw broken('unknown_asset', 'the lot has not been issued', 'asset');
  if (!equal(op.prev, state.head)) {
    throw broken('stale_prev', `prev is ${toHex(op.prev)}, the lot's last operation is ${toHex(state.head)}`, 'prev');
  }
  checkTerms(state, op);
  if (op.first > op.last) throw broken('range_invalid', `first ${op.first} is after last ${op.last}`, 'last');
  if (op.first < state.first || op.last > state.last) {
    throw broken('range_outside_lot', `${op.first}..${op.last} is not within the lot's ${state.first}..${state.last}`,
      op.first < state.first ? 'first' : 'last');
  }
  checkHolding(state, op);
  checkRecipient(op);
}

// What op makes of one piece of its range (already checked).
function after(op, piece) {
  switch (op.action) {
    case 'transfer': return { ...piece, status: PENDING, holder: op.recipient, origin: op.owner };
    case 'accept': return { ...piece, status: HELD, origin: '' };
    case 'reject': return { ...piece, status: HELD, holder: piece.origin, origin: '' };
    case 'reclaim': return { ...piece, status: HELD, holder: op.owner, origin: '' };
    case 'retire': return { ...piece, status: RETIRED };
    default: return { ...piece, status: SURRENDERED };
  }
}

const sameOwner = (a, b) => a.status === b.status && a.holder === b.holder && a.origin === b.origin;

function reassign(ranges, op) {
  const out = [];
  for (const r of ranges) {
    if (r.last < op.first || r.first > op.last) {
      out.push(r);
      continue;
    }
    if (r.first < op.first) out.push({ ...r, last: op.first - 1n });
    out.push(after(op, { ...r, first: r.first > op.first ? r.first : op.first, last: r.last < op.last ? r.last : op.last }));
    if (r.last > op.last) out.push({ ...r, first: op.last + 1n });
  }
  const merged = [];
  for (const r of out) {
    const left = merged[merged.length - 1];
    if (left && sameOwner(left, r)) merged[merged.length - 1] = { ...left, last: r.last };
    else merged.push(r);
  }
  return merged;
}

/** The lot after `op` (whose EIP-712 digest is `digest`), or the first broken rule thrown. */
export function apply(state, op, digest) {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) throw new Error('digest must be 32 bytes');
  check(state, op);
  if (state === null) {
    const { asset, program, vintage, serialPrefix, first, last } = op;
    return { asset, program, vintage, serialPrefix, first, last, head: digest, operations: 1,
      ranges: [{ first, last, status: HELD, holder: op.owner, origin: '' }] };
  }
  return { ...state, ranges: reassign(state.ranges, op), head: digest, operations: state.operations + 1 };
}

/** Apply [op, digest] pairs in order from the issue; the first broken rule is thrown. */
export function replay(pairs) {
  let state = null;
  for (const [op, digest] of pairs) state = apply(state, op, digest);
  if (state === null) throw new Error("a lot's history starts with its issue; none was given");
  return state;
}

function per(state, status) {
  const totals = {};
  for (const r of state.ranges) {
    if (r.status === status) totals[r.holder] = (totals[r.holder] ?? 0n) + quantity(r);
  }
  return Object.fromEntries(Object.entries(totals).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Held quantity per holder, sorted by holder (never pending serials). */
export const holdings = (state) => per(state, HELD);
/** Quantity awaiting acceptance per recipient, sorted by recipient; never a holding. */
export const pending = (state) => per(state, PENDING);
