// A tiny element builder: h('button', {class: 'x', onclick: f}, 'text', child, [more]).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'for') el.htmlFor = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Replaces the children of `el`.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let counter = 0;
export function uid(prefix = 'f') {
  counter += 1;
  return `${prefix}-${counter}`;
}

// A labelled form field: returns {row, input}. `control` is an element (input/select/textarea).
export function field(label, control, hint) {
  if (!control.id) control.id = uid('field');
  const hintEl = h('div', { class: 'hint', id: control.id + '-hint', 'aria-live': 'polite' }, hint || '');
  control.setAttribute('aria-describedby', hintEl.id);
  const row = h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
  return { row, input: control, hint: hintEl };
}

export function option(value, text, selected) {
  return h('option', { value, selected: selected ? 'selected' : null }, text);
}
