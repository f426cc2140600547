// A test double of Trello's Power-Up client library (https://p.trellocdn.com/power-up.min.js).
//
// The browser tests serve this file in place of the real library. What Trello would know —
// board, member, the member's token and locale — comes from window.__TRELLO_DOUBLE__, which
// the test sets with an init script before any page script runs:
//   {board, member, locale, token, authorizedToken}
// `token` is what getRestApi().getToken() returns (null: not authorised yet); `authorizedToken`
// is what authorize() hands out. Everything the Power-Up asks of Trello is recorded on
// window.__trelloDouble for the test to read, and __trelloDouble.run(capability, cardId) calls
// a capability the way Trello would, with a `t` whose context is that card.
(function (global) {
  'use strict';

  var settings = global.__TRELLO_DOUBLE__ || {};
  var record = {
    initialized: null,
    iframeOptions: null,
    alerts: [],
    popups: [],
    authorizeCalls: [],
    sizes: [],
    rendered: 0
  };

  // Like the real library, a signed URL carries the context and args in its hash.
  function readHash() {
    try {
      return JSON.parse(decodeURIComponent(global.location.hash.slice(1)));
    } catch (e) {
      return {};
    }
  }

  var signed = readHash();
  global.locale = signed.locale || settings.locale || 'en';

  function restApiFor(options) {
    return function getRestApi() {
      if (!options || !options.appKey) {
        throw new Error('TrelloPowerUp double: appKey and appName are required for getRestApi');
      }
      return {
        appKey: options.appKey,
        isAuthorized: function () { return Promise.resolve(!!settings.token); },
        getToken: function () { return Promise.resolve(settings.token || null); },
        authorize: function (opts) {
          record.authorizeCalls.push({ options: opts || null, appKey: options.appKey });
          settings.token = settings.authorizedToken || null;
          return settings.token ? Promise.resolve(settings.token) : Promise.reject(new Error('denied'));
        },
        clearToken: function () { settings.token = null; return Promise.resolve(); }
      };
    };
  }

  function makeT(context, options, args) {
    var t = {
      getContext: function () { return context; },
      getRestApi: restApiFor(options),
      isMemberSignedIn: function () { return true; },
      arg: function (name, fallback) {
        return args && args[name] !== undefined ? args[name] : fallback;
      },
      signUrl: function (url, signedArgs) {
        var absolute = new URL(url, global.location.href);
        var payload = { context: context, locale: global.locale, args: signedArgs || {} };
        absolute.hash = encodeURIComponent(JSON.stringify(payload));
        return absolute.href;
      },
      card: function () { return Promise.resolve({ id: context.card }); },
      board: function () { return Promise.resolve({ id: context.board }); },
      member: function () { return Promise.resolve({ id: context.member }); },
      alert: function (opts) { record.alerts.push(opts); return Promise.resolve(); },
      hideAlert: function () { return Promise.resolve(); },
      popup: function (opts) {
        var entry = { title: opts.title, height: opts.height || null, args: opts.args || {} };
        entry.url = opts.url ? t.signUrl(opts.url, opts.args) : null;
        entry.items = opts.items || null;
        record.popups.push(entry);
        return Promise.resolve();
      },
      closePopup: function () { return Promise.resolve(); },
      sizeTo: function (target) {
        var node = typeof target === 'string' ? global.document.querySelector(target) : target;
        record.sizes.push(typeof target === 'number' ? target : (node ? node.scrollHeight : null));
        return Promise.resolve();
      },
      render: function (fn) {
        record.rendered += 1;
        return Promise.resolve().then(fn);
      }
    };
    return t;
  }

  function baseContext(card, command) {
    var context = {
      board: settings.board,
      member: settings.member || 'member-1',
      permissions: { board: 'write', card: 'write', organization: 'write' },
      command: command || null
    };
    if (card) {
      context.card = card;
    }
    return context;
  }

  global.TrelloPowerUp = {
    version: 'test-double',
    Promise: Promise,
    initialize: function (capabilities, options) {
      record.initialized = { capabilities: capabilities, options: options || {} };
      return makeT(baseContext(null, null), options || {}, {});
    },
    iframe: function (options) {
      record.iframeOptions = options || {};
      var context = signed.context || baseContext(settings.card || null, null);
      return makeT(context, options || {}, signed.args || {});
    }
  };

  // What Trello does when it needs a capability: call the handler with a `t` for that card.
  record.run = function (capability, card) {
    var init = record.initialized;
    if (!init || typeof init.capabilities[capability] !== 'function') {
      return Promise.reject(new Error('capability not initialized: ' + capability));
    }
    var t = makeT(baseContext(card, capability), init.options, {});
    return Promise.resolve(init.capabilities[capability](t, {}));
  };

  // Calls the callback of the button (card or board) whose text matches, as a click would.
  record.click = function (capability, card, text) {
    return record.run(capability, card).then(function (buttons) {
      var button = (buttons || []).filter(function (b) { return b.text === text; })[0];
      if (!button) {
        throw new Error('no button "' + text + '" in ' + JSON.stringify(buttons));
      }
      return button.callback(makeT(baseContext(card, capability), record.initialized.options, {}));
    });
  };

  // Draws a card front with its badges, roughly as Trello does, so screenshots show them.
  record.drawCard = function (title, badges) {
    var colors = { red: '#c9372c', green: '#1f845a', yellow: '#b38600', blue: '#0c66e4' };
    var board = global.document.getElementById('double-board');
    if (!board) {
      board = global.document.createElement('div');
      board.id = 'double-board';
      board.style.cssText = 'font:14px sans-serif;background:#0079bf;padding:12px;display:flex;gap:12px;align-items:flex-start';
      global.document.body.appendChild(board);
    }
    var card = global.document.createElement('div');
    card.className = 'double-card';
    card.style.cssText = 'background:#fff;border-radius:8px;padding:8px;width:260px;box-shadow:0 1px 1px #091e4240';
    var name = global.document.createElement('div');
    name.textContent = title;
    name.style.marginBottom = '6px';
    card.appendChild(name);
    (badges || []).forEach(function (badge) {
      var span = global.document.createElement('span');
      span.className = 'double-badge' + (badge.color ? ' badge-' + badge.color : '');
      span.setAttribute('data-color', badge.color || '');
      span.textContent = badge.text || '';
      span.style.cssText = 'display:inline-block;margin:2px 4px 2px 0;padding:1px 6px;border-radius:3px;font-size:12px;' +
        (badge.color ? 'color:#fff;background:' + (colors[badge.color] || '#626f86') : 'color:#44546f;background:#f1f2f4');
      card.appendChild(span);
    });
    board.appendChild(card);
  };

  global.__trelloDouble = record;
})(window);
