import { t, getLang } from './i18n.js';

let laneNames = {};
export function setLaneNames(names) {
  laneNames = names || {};
}
export function laneName(id) {
  const n = laneNames[id];
  return (n && (n[getLang()] || n.en)) || t('lane.' + id, {}, id);
}
export function dirName(id) {
  const [from, to] = String(id).split('-');
  return t('direction.name', { from: t('country.' + from, {}, from), to: t('country.' + to, {}, to) });
}
export const stateName = (s) => t('state.' + s, {}, s);
export const eventName = (e) => t('event.' + e, {}, e);
export const channelName = (c) => t('channel.' + c, {}, c);
export const roleName = (r) => t('role.' + r, {}, r);

export const FINAL_STATES = ['crossed', 'received', 'cancelled', 'refused'];
