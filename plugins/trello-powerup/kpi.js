// The board-button popup: the latest KPI summary of the board's meeting series and its chart.
(function (global) {
  'use strict';

  var S = global.PlanerkaService;
  var I18n = global.PlanerkaI18n;
  var el = S.el;
  var t = global.TrelloPowerUp.iframe({ appKey: S.appKey(), appName: S.APP_NAME });
  var COLUMNS = [
    ['colMetric', 'label'], ['colValue', 'value'], ['colPrevious', 'previous'],
    ['colChange', 'change'], ['colStatus', 'status']
  ];

  var localeOf = S.localeOf;

  function show(nodes) {
    return S.show(t, nodes);
  }

  // The service sends a status code (on_track, off_track, no_data); unknown codes show as sent.
  function statusCell(code, locale) {
    if (!code) {
      return el('td', { className: 'status', text: '—' });
    }
    var key = 'kpi.' + code;
    var shown = I18n.TEXTS.en[key] !== undefined ? I18n.text(locale, key) : code;
    var className = 'status status-' + String(code).toLowerCase().replace(/[^a-z_-]+/g, '-');
    return el('td', { className: className, 'data-status': code, text: shown });
  }

  function kpiRow(row, locale) {
    return el('tr', { className: 'kpi', 'data-metric': row.metric }, COLUMNS.map(function (column) {
      var value = row[column[1]];
      if (column[1] === 'status') {
        return statusCell(value, locale);
      }
      return el('td', { className: column[1], text: value === null || value === undefined ? '—' : value });
    }));
  }

  function kpiTable(rows, locale) {
    var head = el('tr', {}, COLUMNS.map(function (column) { return el('th', { text: I18n.text(locale, column[0]) }); }));
    var body = rows.map(function (row) { return kpiRow(row, locale); });
    return el('table', { className: 'kpis' }, [el('thead', {}, [head]), el('tbody', {}, body)]);
  }

  // Only an inline PNG is shown: the chart never makes the popup load anything else.
  function chart(dataUrl, locale) {
    if (typeof dataUrl !== 'string' || dataUrl.indexOf('data:image/png;base64,') !== 0) {
      return null;
    }
    return el('img', { className: 'chart', src: dataUrl, alt: I18n.text(locale, 'chartAlt') });
  }

  function showKpi(summary, locale) {
    var nodes = [el('h3', { className: 'kpi-title', text: summary.title || I18n.text(locale, 'kpiTitle') })];
    if (summary.period_end) {
      nodes.push(el('p', { className: 'muted period', text: I18n.text(locale, 'periodEnd', { date: I18n.formatDay(locale, summary.period_end) }) }));
    }
    if (!summary.rows || summary.rows.length === 0) {
      nodes.push(el('p', { className: 'muted empty', text: I18n.text(locale, 'noKpi') }));
    } else {
      nodes.push(kpiTable(summary.rows, locale));
    }
    var image = chart(summary.chart_png, locale);
    if (image) {
      image.addEventListener('load', function () { t.sizeTo('#content'); });
      nodes.push(image);
    }
    return show(nodes);
  }

  function render() {
    var locale = localeOf();
    var context = t.getContext();
    return S.token(t).then(function (token) {
      if (!token) {
        var api = S.restApi(t);
        var button = api ? el('button', {
          type: 'button',
          id: 'authorize',
          className: 'mod-primary',
          text: I18n.text(locale, 'authorizeButton'),
          onclick: function () { Promise.resolve(api.authorize({ scope: 'read' })).then(render, function () {}); }
        }) : null;
        var intro = api ? 'authorizeIntro' : 'notConfigured';
        return show([el('p', { className: api ? '' : 'error', text: I18n.text(locale, intro) }), button].filter(Boolean));
      }
      return S.kpi(context.board, token, locale).then(function (summary) {
        return showKpi(summary, locale);
      }, function (error) {
        return show([el('p', { className: 'error', text: I18n.text(locale, 'serviceError', { detail: error.message }) })]);
      });
    });
  }

  global.document.getElementById('status').textContent = I18n.text(localeOf(), 'loading');
  t.render(render);
})(window);
