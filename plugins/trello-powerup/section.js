// The card-back section of a meeting card: its decisions, who owns them, when they are due,
// and what became of their tasks.
(function (global) {
  'use strict';

  var S = global.PlanerkaService;
  var I18n = global.PlanerkaI18n;
  var el = S.el;
  var t = global.TrelloPowerUp.iframe({ appKey: S.appKey(), appName: S.APP_NAME });

  var localeOf = S.localeOf;

  function show(nodes) {
    return S.show(t, nodes);
  }

  function authorizePrompt(locale) {
    var api = S.restApi(t);
    if (!api) {
      return show([el('p', { className: 'error', text: I18n.text(locale, 'notConfigured') })]);
    }
    var button = el('button', {
      type: 'button',
      id: 'authorize',
      className: 'mod-primary',
      text: I18n.text(locale, 'authorizeButton'),
      onclick: function () {
        Promise.resolve(api.authorize({ scope: 'read' })).then(render, function () { /* closed */ });
      }
    });
    return show([el('p', { text: I18n.text(locale, 'authorizeIntro') }), button]);
  }

  function stateText(decision, locale) {
    if (decision.state === 'created') {
      if (decision.status_name) {
        return decision.status_name;
      }
      return I18n.text(locale, decision.status ? 'status.' + decision.status : 'state.created');
    }
    var label = I18n.text(locale, 'state.' + decision.state);
    return decision.error ? label + ': ' + decision.error : label;
  }

  function taskCell(decision, locale) {
    var href = S.safeLink(decision.task_url);
    if (!href) {
      return el('td', { className: 'task' });
    }
    var link = el('a', {
      href: href,
      target: '_blank',
      rel: 'noopener noreferrer',
      className: 'task-link',
      text: decision.task_key || I18n.text(locale, 'openTask')
    });
    return el('td', { className: 'task' }, [link]);
  }

  function decisionRow(decision, locale) {
    var dueClass = decision.overdue && !decision.done ? 'due overdue' : 'due';
    var stateClass = 'state state-' + decision.state + (decision.done ? ' done' : '');
    return el('tr', { className: 'decision', 'data-state': decision.state }, [
      el('td', { className: 'title', text: decision.title || decision.text, title: decision.text }),
      el('td', { className: 'owner', text: decision.owner || '—' }),
      el('td', { className: dueClass, text: decision.due ? I18n.formatDay(locale, decision.due) : '—' }),
      el('td', { className: stateClass, text: stateText(decision, locale) }),
      taskCell(decision, locale)
    ]);
  }

  function decisionsTable(meeting, locale) {
    var head = el('tr', {}, ['colDecision', 'colOwner', 'colDue', 'colState', 'colTask'].map(function (key) {
      return el('th', { text: I18n.text(locale, key) });
    }));
    var rows = meeting.decisions.map(function (decision) { return decisionRow(decision, locale); });
    return el('table', { className: 'decisions' }, [el('thead', {}, [head]), el('tbody', {}, rows)]);
  }

  function showMeeting(state, locale) {
    var meeting = state.meeting;
    if (!meeting) {
      return show([]);
    }
    var counts = meeting.counts || {};
    var summary = el('p', { className: 'summary' }, [
      el('span', { className: 'count', text: I18n.text(locale, 'captured', { n: counts.captured || 0 }) }),
      el('span', { className: 'count', text: I18n.text(locale, 'created', { n: counts.created || 0 }) }),
      counts.errors > 0 ? el('span', { className: 'count error', text: I18n.text(locale, 'errors', { n: counts.errors }) }) : null
    ]);
    if (!meeting.decisions || meeting.decisions.length === 0) {
      return show([summary, el('p', { className: 'muted empty', text: I18n.text(locale, 'noDecisions') })]);
    }
    return show([summary, decisionsTable(meeting, locale)]);
  }

  function render() {
    var locale = localeOf();
    var context = t.getContext();
    return S.token(t).then(function (token) {
      if (!token) {
        return authorizePrompt(locale);
      }
      return S.cardState(context.board, context.card, token, locale).then(function (state) {
        return showMeeting(state, locale);
      }, function (error) {
        if (error.status === 401) {
          return authorizePrompt(locale);
        }
        return show([el('p', { className: 'error', text: I18n.text(locale, 'serviceError', { detail: error.message }) })]);
      });
    });
  }

  global.document.getElementById('status').textContent = I18n.text(localeOf(), 'loading');
  t.render(render);
})(window);
