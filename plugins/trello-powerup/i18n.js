// Texts of the Power-Up in Russian and English, and the choice between them.
(function (global) {
  'use strict';

  var TEXTS = {
    ru: {
      appName: 'Планёрка',
      boardButton: 'Планёрка · KPI',
      convertButton: 'Превратить решения в задачи',
      sectionTitle: 'Решения планёрки',
      kpiTitle: 'KPI планёрки',
      owner: 'Отв.: {owner}',
      due: 'Срок: {due}',
      done: 'Готово',
      captured: 'Решений: {n}',
      created: 'Задач создано: {n}',
      errors: 'Ошибок: {n}',
      colDecision: 'Решение',
      colOwner: 'Ответственный',
      colDue: 'Срок',
      colState: 'Статус',
      colTask: 'Задача',
      colMetric: 'Показатель',
      colValue: 'За период',
      colPrevious: 'Было',
      colChange: 'Изменение',
      colStatus: 'Статус',
      openTask: 'открыть',
      noDecisions: 'На этой карточке пока нет решений.',
      noKpi: 'Пока нет данных KPI',
      periodEnd: 'Период по {date}',
      period: 'Период {period}',
      chartAlt: 'График KPI',
      authorizeIntro: 'Чтобы видеть решения и задачи планёрки, разрешите Power-Up читать ваши доски Trello.',
      authorizeButton: 'Разрешить доступ',
      notConfigured: 'Power-Up не настроен: в адресе подключения нет ключа API (?key=).',
      loading: 'Загрузка…',
      serviceError: 'Сервис планёрки не ответил: {detail}',
      convertFailed: 'Не удалось превратить решения в задачи: {detail}',
      'state.pending': 'ожидает',
      'state.creating': 'создаётся',
      'state.created': 'создана',
      'state.failed': 'ошибка',
      'state.parse_error': 'не разобрано',
      'status.new': 'не начата',
      'status.in_progress': 'в работе',
      'status.done': 'готово',
      overdue: 'просрочено',
      'kpi.on_track': '✓ в норме',
      'kpi.off_track': '✗ не в норме',
      'kpi.no_data': '— нет данных',
      'kpi.unjudged': '—',
      backToMeeting: 'Планёрка: {title}'
    },
    en: {
      appName: 'Planerka',
      boardButton: 'Planning KPIs',
      convertButton: 'Convert decisions now',
      sectionTitle: 'Meeting decisions',
      kpiTitle: 'Meeting KPIs',
      owner: 'Owner: {owner}',
      due: 'Due: {due}',
      done: 'Done',
      captured: 'Decisions captured: {n}',
      created: 'Tasks created: {n}',
      errors: 'Errors: {n}',
      colDecision: 'Decision',
      colOwner: 'Owner',
      colDue: 'Due',
      colState: 'State',
      colTask: 'Task',
      colMetric: 'Metric',
      colValue: 'This period',
      colPrevious: 'Previous',
      colChange: 'Change',
      colStatus: 'Status',
      openTask: 'open',
      noDecisions: 'No decisions on this card yet.',
      noKpi: 'No KPI data yet',
      periodEnd: 'Period ending {date}',
      period: 'Period {period}',
      chartAlt: 'KPI chart',
      authorizeIntro: 'To see the meeting decisions and their tasks, allow the Power-Up to read your Trello boards.',
      authorizeButton: 'Authorize',
      notConfigured: 'The Power-Up is not configured: the connector URL has no API key (?key=).',
      loading: 'Loading…',
      serviceError: 'The planerka service did not answer: {detail}',
      convertFailed: 'Could not convert the decisions: {detail}',
      'state.pending': 'pending',
      'state.creating': 'creating',
      'state.created': 'created',
      'state.failed': 'failed',
      'state.parse_error': 'not understood',
      'status.new': 'not started',
      'status.in_progress': 'in progress',
      'status.done': 'done',
      overdue: 'overdue',
      'kpi.on_track': '✓ on track',
      'kpi.off_track': '✗ off track',
      'kpi.no_data': '— no data',
      'kpi.unjudged': '—',
      backToMeeting: 'Meeting: {title}'
    }
  };

  // Trello's client library sets window.locale (e.g. "ru", "en-GB") from the iframe's context.
  function pickLocale(raw) {
    var value = String(raw || global.locale || (global.navigator && global.navigator.language) || 'en');
    return value.toLowerCase().indexOf('ru') === 0 ? 'ru' : 'en';
  }

  function text(locale, key, vars) {
    var table = TEXTS[locale] || TEXTS.en;
    var template = table[key] !== undefined ? table[key] : TEXTS.en[key];
    if (template === undefined) {
      return key;
    }
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return vars && vars[name] !== undefined && vars[name] !== null ? String(vars[name]) : whole;
    });
  }

  // "2026-12-05" -> "5 дек." / "Dec 5"; the date is a calendar day, so it is read as UTC.
  function formatDay(locale, isoDay) {
    if (!isoDay) {
      return '';
    }
    var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDay);
    if (!parts) {
      return String(isoDay);
    }
    var date = new Date(Date.UTC(+parts[1], +parts[2] - 1, +parts[3]));
    var thisYear = new Date().getUTCFullYear() === +parts[1];
    var options = { day: 'numeric', month: 'short', timeZone: 'UTC' };
    if (!thisYear) {
      options.year = 'numeric';
    }
    try {
      return new Intl.DateTimeFormat(locale === 'ru' ? 'ru-RU' : 'en-US', options).format(date);
    } catch (e) {
      return String(isoDay);
    }
  }

  global.PlanerkaI18n = { TEXTS: TEXTS, pickLocale: pickLocale, text: text, formatDay: formatDay };
})(window);
