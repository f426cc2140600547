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

  // The service sends a status code; only a judged metric shows a word (on/off track), the
  // others a dash, as the comment does. Unknown codes show as sent.
  function statusCell(code, locale) {
    var judged = code === 'on_track' || code === 'off_track';
    var shown = judged ? I18n.text(locale, 'kpi.' + code) : (code && I18n.TEXTS.en['kpi.' + code] === undefined ? code : '—');
    var className = 'status status-' + String(code || 'none').toLowerCase().replace(/[^a-z_-]+/g, '-');
    return el('td', { className: className, 'data-status': code || '', text: shown });
  }

  function kpiRow(row, locale) {
    var attributes = { className: row.has_value === false ? 'kpi no-value' : 'kpi', 'data-metric': row.metric };
    return el('tr', attributes, COLUMNS.map(function (column) {
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

  // Every agenda block in order, as the KPI comment shows it: its metrics, then its notes
  // ("no data", "see also").
  function kpiBlock(block, locale) {
    var nodes = [el('h4', { className: 'kpi-block', 'data-block': block.key, text: block.title })];
    if (block.rows && block.rows.length) {
      nodes.push(kpiTable(block.rows, locale));
    }
    (block.notes || []).forEach(function (note) {
      nodes.push(el('p', { className: 'muted note', text: note }));
    });
    return el('section', { className: 'kpi-block' }, nodes);
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
    if (summary.period) {
      nodes.push(el('p', { className: 'muted period', text: I18n.text(locale, 'period', { period: summary.period }) }));
    }
    if (!summary.rows || summary.rows.length === 0) {
      nodes.push(el('p', { className: 'muted empty', text: I18n.text(locale, 'noKpi') }));
    }
    (summary.blocks || []).forEach(function (block) {
      nodes.push(kpiBlock(block, locale));
    });
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
