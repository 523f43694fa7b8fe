import { h, field } from '../dom.js';
import { t } from '../i18n.js';
import { session } from '../api.js';
import { errorText } from '../errors.js';

export function mount(root, ctx) {
  const token = h('input', {
    type: 'password',
    name: 'token',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    placeholder: 'bft_…',
  });
  const f = field(t('login.token'), token, t('login.tokenHint'));
  const message = h('div', { class: 'message', role: 'status', 'aria-live': 'polite', id: 'login-message' });
  const submit = h('button', { type: 'submit', id: 'sign-in' }, t('login.submit'));
  const form = h(
    'form',
    {
      class: 'card narrow',
      id: 'login-form',
      onsubmit: async (e) => {
        e.preventDefault();
        const value = token.value.trim();
        if (!value) {
          message.textContent = t('login.empty');
          token.focus();
          return;
        }
        submit.disabled = true;
        message.textContent = t('common.loading');
        try {
          const me = await ctx.signIn(value);
          token.value = '';
          message.textContent = t('login.welcome', { name: me.name, role: t('role.' + me.role) });
          ctx.navigate(ctx.homeFor(me));
        } catch (err) {
          message.textContent = err.status === 401 ? t('login.invalid') : errorText(err);
          submit.disabled = false;
        }
      },
    },
    h('h1', {}, t('login.title')),
    h('p', {}, t('login.intro')),
    f.row,
    submit,
    message,
  );
  const roles = h(
    'section',
    { class: 'card narrow', 'aria-labelledby': 'roles-title' },
    h('h2', { id: 'roles-title' }, t('login.rolesTitle')),
    h(
      'ul',
      { class: 'roles' },
      ['gate_operator', 'customs_officer', 'quarantine_officer', 'border_guard', 'administrator', 'forwarder', 'driver'].map((r) =>
        h('li', {}, h('strong', {}, t('role.' + r)), ' — ', t('roleHelp.' + r)),
      ),
    ),
  );
  root.append(form, roles);
  if (ctx.notice) {
    message.textContent = t(ctx.notice);
    message.classList.add('bad');
    message.setAttribute('role', 'alert');
  } else if (session.token && ctx.me) {
    message.textContent = t('login.already', { name: ctx.me.name, role: t('role.' + ctx.me.role) });
  }
  token.focus();
}
