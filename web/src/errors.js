// Errors in the reader's language: the API's problem `code` (and `field`) mapped to dictionary
// keys; the server's English `detail` only for codes this page does not know. A request that
// never reached the server (fetch's TypeError "Failed to fetch") is "server unreachable".
import { t } from './i18n.js';

// Problem codes with a sentence of their own in the dictionaries (key `error.<code>`).
export const KNOWN_CODES = [
  'authentication_required',
  'invalid_token',
  'rate_limited',
  'role_not_allowed',
  'version_conflict',
  'invalid_transition',
  'crossing_not_found',
  'plate_read_not_found',
  'not_found',
  'missing_field',
  'field_too_long',
  'field_too_short',
  'wrong_type',
  'unknown_field',
  'out_of_range',
  'wrong_item_count',
  'invalid_value',
  'invalid_country',
  'invalid_currency',
  'invalid_amount',
  'invalid_timestamp',
  'control_character',
  'invalid_plate',
  'invalid_container_number',
  'invalid_hs_code',
  'unknown_hs_code',
  'unknown_direction',
  'unknown_lane_class',
  'no_lanes',
  'empty_truck_has_goods',
  'deadline_passed',
  'declaration_expired',
  'invalid_capacity_change',
  'invalid_range',
  'truck_banned',
  'inspection_required',
  'finding_unresolved',
  'finding_not_allowed',
  'plate_already_booked',
  'plate_already_queued',
  'booking_limit_reached',
  'slot_closed',
  'slot_full',
  'no_slot_available',
  'declaration_expires_before_slot',
  'slot_outside_horizon',
  'yard_full',
  'no_call_room',
  'nobody_to_call',
  'driver_locked',
  'plate_change_not_allowed',
  'idempotency_key_reused',
  'payload_too_large',
  'busy',
  'overloaded',
  'store_unavailable',
  'store_write_failed',
  'store_catch_up_failed',
  'store_sync_failed',
  'store_error',
  'stored_data_corrupt',
  'internal',
];

// The request's fields (problem `field`, with `lines[N].` taken off) and the label of each.
export const FIELD_LABELS = {
  direction: 'portal.direction',
  lane_class: 'portal.laneClass',
  'vehicle.plate': 'portal.plate',
  'vehicle.trailer_plate': 'portal.trailer',
  'vehicle.container_number': 'portal.container',
  'vehicle.seal_number': 'portal.seal',
  'driver.name': 'portal.driverName',
  'driver.document_number': 'portal.driverDocument',
  'driver.nationality': 'portal.nationality',
  hs_code: 'portal.hsCode',
  description: 'portal.goods',
  packages: 'portal.packages',
  gross_weight_kg: 'portal.weight',
  'value.amount': 'portal.value',
  'value.currency': 'portal.currency',
  origin_country: 'portal.origin',
  freshness_deadline: 'portal.freshness',
  'documents.customs_declaration': 'portal.customsDeclaration',
  'documents.phytosanitary_certificate': 'portal.phyto',
  'documents.certificate_of_origin': 'portal.certificateOfOrigin',
  reason: 'control.reason',
  'data.reason': 'control.reason',
  'data.note': 'control.note',
  note: 'control.note',
  'data.channel': 'control.channel',
  'data.outcome': 'control.outcome',
  'data.finding_type': 'control.findingType',
  measured_kg: 'finding.measured',
  from: 'control.capFrom',
  until: 'control.capUntil',
  lanes: 'control.capLanes',
  trucks_per_hour: 'control.capRate',
  slot: 'portal.slot',
};

// `lines[2].hs_code` -> {path: 'hs_code', line: 3}; `vehicle.plate` -> {path: 'vehicle.plate'}.
export function splitField(field) {
  const m = /^lines\[(\d+)\]\.(.+)$/.exec(field || '');
  if (m) return { path: m[2], line: Number(m[1]) + 1 };
  return { path: field || '', line: null };
}

// The field's label in the reader's language ("Driver’s name", "HS code, line 2"), or the
// field's path when the page has no label for it.
export function fieldLabel(field) {
  if (!field) return '';
  const { path, line } = splitField(field);
  const key = FIELD_LABELS[path];
  const label = key ? t(key) : field;
  return key && line ? t('error.line', { field: label, n: line }) : label;
}

// Whether `err` is a request that did not reach the server (network down, server stopped).
export function isNetworkError(err) {
  return !!err && !err.status && (err.name === 'TypeError' || /fetch|network/i.test(err.message || ''));
}

// The error as a sentence in the reader's language.
export function errorText(err) {
  if (!err) return '';
  if (isNetworkError(err)) return t('error.unreachable');
  if (err.name === 'AbortError') return t('error.unreachable');
  const code = err.code || '';
  if (KNOWN_CODES.includes(code)) {
    const params = { field: fieldLabel(err.field) || t('error.someField') };
    if (code === 'rate_limited') params.seconds = err.retryAfter ?? 1;
    return t('error.' + code, params);
  }
  if (err.status >= 500) return t('error.server', { detail: err.message });
  return t('common.error', { detail: err.message || String(err) });
}

// A plate read's reason (English from the server, no code) in the reader's language when it is
// one of the matcher's known sentences; anything else is shown as the server wrote it.
export function readReasonText(reason) {
  const s = String(reason || '');
  let m;
  if ((m = /^confidence (\S+) below (\S+)$/.exec(s))) return t('readReason.confidence', { have: m[1], want: m[2] });
  if ((m = /^no expected plate within distance (\d+)$/.exec(s))) return t('readReason.noPlate', { n: m[1] });
  if ((m = /^ambiguous: (\S+) expected for crossings (\S+) and (\S+) at distance (.+)$/.exec(s)))
    return t('readReason.ambiguousSame', { plate: m[1], a: m[2], b: m[3], d: distanceText(m[4]) });
  if ((m = /^ambiguous: (\S+) and (\S+) at distance (.+)$/.exec(s))) return t('readReason.ambiguous', { a: m[1], b: m[2], d: distanceText(m[3]) });
  if ((m = /^matched (\S+) \(([^)]*)\) but refused: (.*)$/.exec(s))) return t('readReason.refused', { id: m[1], detail: m[3] });
  return s;
}

function distanceText(d) {
  const m = /^(\d+) and (\d+)$/.exec(d);
  return m ? `${m[1]}/${m[2]}` : d;
}
